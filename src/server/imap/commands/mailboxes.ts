/** CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 3501 §6.3.3-7, RFC 6154 CREATE-SPECIAL-USE). */
import { AlreadyExists, NotFound } from "../../../errors.ts";
import type { SpecialUse } from "../../../mail/mailboxList.ts";
import { no, ok } from "../protocol/errorResponse.ts";
import { ancestors } from "../protocol/listPattern.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";

const SPECIAL_USES = new Set(["\\Sent", "\\Drafts", "\\Trash", "\\Archive", "\\Junk", "\\All", "\\Flagged"]);

/** A trailing delimiter asks for a name under which others will be made (RFC 3501 §6.3.3). */
function stripTrailingDelimiter(name: string): string {
  return name.endsWith("/") ? name.slice(0, -1) : name;
}

export const create: CommandHandler<"CREATE"> = {
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    const name = stripTrailingDelimiter(cmd.mailbox);
    let use: SpecialUse | undefined;
    for (const u of cmd.specialUse ?? []) {
      const canonical = [...SPECIAL_USES].find((s) => s.toLowerCase() === u.toLowerCase());
      if (!canonical) return no(`unknown special use ${u}`, "USEATTR");
      use = canonical as SpecialUse;
    }
    if (name === "INBOX") return no("INBOX always exists", "ALREADYEXISTS");
    const account = session.requireAccount;
    // RFC 3501 §6.3.3: superior names that are needed are made too.
    const { mailboxes } = await account.listMailboxes();
    const existing = new Set(mailboxes.map((m) => m.name));
    for (const parent of ancestors(name)) {
      if (existing.has(parent)) continue;
      try {
        await account.createMailbox(parent);
      } catch (err) {
        if (!(err instanceof AlreadyExists)) throw err;
      }
    }
    try {
      await account.createMailbox(name, use);
    } catch (err) {
      if (err instanceof AlreadyExists) return no(`mailbox "${name}" already exists`, "ALREADYEXISTS");
      throw err;
    }
    // RFC 8474 §4.1: the new mailbox's id in the tagged OK.
    const created = (await account.listMailboxes()).mailboxes.find((m) => m.name === name);
    return ok("CREATE completed", created ? `MAILBOXID (${created.id})` : undefined);
  },
};

export const del: CommandHandler<"DELETE"> = {
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    if (cmd.mailbox === "INBOX") return no("INBOX cannot be deleted", "CANNOT");
    if (session.selected?.name === cmd.mailbox) session.unselect();
    try {
      await session.requireAccount.deleteMailbox(cmd.mailbox);
    } catch (err) {
      if (err instanceof NotFound) return no(`mailbox "${cmd.mailbox}" does not exist`, "NONEXISTENT");
      throw err;
    }
    return ok("DELETE completed");
  },
};

export const rename: CommandHandler<"RENAME"> = {
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    const account = session.requireAccount;
    const to = stripTrailingDelimiter(cmd.to);
    if (to === "INBOX") return no("INBOX already exists", "ALREADYEXISTS");
    try {
      // Renaming INBOX moves its mail and leaves an empty INBOX (RFC 3501 §6.3.5): the list does it.
      await account.renameMailbox(cmd.from, to);
    } catch (err) {
      if (err instanceof NotFound) return no(`mailbox "${cmd.from}" does not exist`, "NONEXISTENT");
      if (err instanceof AlreadyExists) return no(`mailbox "${to}" already exists`, "ALREADYEXISTS");
      throw err;
    }
    return ok("RENAME completed");
  },
};

export const subscribe: CommandHandler<"SUBSCRIBE" | "UNSUBSCRIBE"> = {
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    try {
      await session.requireAccount.subscribe(cmd.mailbox, cmd.name === "SUBSCRIBE");
    } catch (err) {
      if (err instanceof NotFound) return no(`mailbox "${cmd.mailbox}" does not exist`, "NONEXISTENT");
      throw err;
    }
    return ok(`${cmd.name} completed`);
  },
};
