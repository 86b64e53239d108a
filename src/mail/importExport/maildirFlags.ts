/**
 * Maildir file names carry the flags after ":2," as letters in ASCII order
 * (https://cr.yp.to/proto/maildir.html). Lower-case letters are Dovecot keywords, which need its
 * dovecot-keywords file to mean anything: they are not read, and keywords are not written.
 */
const LETTERS: [string, string][] = [
  ["D", "\\Draft"],
  ["F", "\\Flagged"],
  ["P", "$Forwarded"],
  ["R", "\\Answered"],
  ["S", "\\Seen"],
  ["T", "\\Deleted"],
];

/** The part of a file name before its info (":2,..."), and the IMAP flags of the info. */
export function parseMaildirName(name: string): { unique: string; flags: string[] } {
  // "!" instead of ":" is the spelling of file systems that do not allow a colon.
  const m = /^(.*?)[:!]2,([A-Za-z]*)$/.exec(name);
  if (!m) return { unique: name, flags: [] };
  const flags: string[] = [];
  for (const [letter, flag] of LETTERS) if (m[2]!.includes(letter)) flags.push(flag);
  return { unique: m[1]!, flags };
}

/** ":2,FS" for ["\\Seen", "\\Flagged"]; flags without a letter (keywords) are left out. */
export function maildirInfo(flags: string[]): { info: string; dropped: string[] } {
  const lower = flags.map((f) => f.toLowerCase());
  let info = "";
  for (const [letter, flag] of LETTERS) if (lower.includes(flag.toLowerCase())) info += letter;
  const known = new Set(LETTERS.map(([, f]) => f.toLowerCase()));
  // \Recent is a session flag (RFC 3501 §2.3.2), not something to keep.
  const dropped = flags.filter((f) => !known.has(f.toLowerCase()) && f.toLowerCase() !== "\\recent");
  return { info: `:2,${info}`, dropped };
}
