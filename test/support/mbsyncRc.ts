/** The text of an mbsync configuration: one IMAP account on 127.0.0.1, one Maildir, one channel. */
export interface MbsyncRcOptions {
  /** Names the account and the channel (`mbsync -c RC NAME`). */
  name: string;
  port: number;
  user: string;
  password: string;
  /** The folder that holds `mail/` (the Maildir) and `state/` (mbsync's sync state). */
  home: string;
  patterns: string[];
  /** `All` syncs both ways; `Pull` only takes from the server. */
  sync: "All" | "Pull";
  expunge: "Both" | "Near";
}

export function mbsyncRc(o: MbsyncRcOptions): string {
  return [
    `IMAPAccount ${o.name}`,
    "Host 127.0.0.1",
    `Port ${o.port}`,
    `User ${o.user}`,
    `Pass "${o.password}"`,
    "SSLType None",
    "AuthMechs LOGIN PLAIN",
    "",
    "IMAPStore remote",
    `Account ${o.name}`,
    "",
    "MaildirStore local",
    `Path ${o.home}/mail/`,
    `Inbox ${o.home}/mail/INBOX`,
    "SubFolders Verbatim",
    "",
    `Channel ${o.name}`,
    "Far :remote:",
    "Near :local:",
    `Patterns ${o.patterns.join(" ")}`,
    "Create Near",
    `Sync ${o.sync}`,
    `Expunge ${o.expunge}`,
    `SyncState ${o.home}/state/`,
    "",
  ].join("\n");
}
