/** STATUS (RFC 3501 §6.3.10, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE, RFC 9051 DELETED). */
import { NotFound } from "../../../errors.ts";
import type { Account } from "../../../mail/account.ts";
import { no, ok } from "../protocol/errorResponse.ts";
import { mailboxWire } from "../protocol/mailboxName.ts";
import type { StatusItem } from "../parser/types.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";

/**
 * The STATUS line of `name`; with `listed` (LIST-STATUS, RFC 5819), the mailbox a LIST just read
 * under that name, opened by its id: another computer renaming it meanwhile must not fail the LIST.
 */
export async function statusLine(
  account: Account,
  name: string,
  items: StatusItem[],
  utf8Names: boolean,
  listed?: { id: string; uidvalidity: number },
): Promise<string> {
  const mailbox = await (listed ? account.listedMailbox(listed) : account.mailbox(name));
  await mailbox.sync();
  const index = mailbox.index;
  const values: string[] = [];
  for (const item of items) {
    switch (item) {
      case "MESSAGES":
        values.push(`MESSAGES ${index.uids.length}`);
        break;
      case "RECENT":
        // Messages no session has had as \Recent yet (RFC 3501 §6.3.10); STATUS claims none.
        values.push(`RECENT ${mailbox.unclaimedRecent(false).length}`);
        break;
      case "UIDNEXT":
        values.push(`UIDNEXT ${index.uidnext}`);
        break;
      case "UIDVALIDITY":
        values.push(`UIDVALIDITY ${index.uidvalidity}`);
        break;
      case "UNSEEN": {
        let unseen = 0;
        for (const e of index.byId.values()) if (!e.flags.includes("\\Seen")) unseen++;
        values.push(`UNSEEN ${unseen}`);
        break;
      }
      case "DELETED": {
        // RFC 9051 §6.3.11: messages with \Deleted.
        let deleted = 0;
        for (const e of index.byId.values()) if (e.flags.includes("\\Deleted")) deleted++;
        values.push(`DELETED ${deleted}`);
        break;
      }
      case "MAILBOXID":
        values.push(`MAILBOXID (${mailbox.id})`);
        break;
      case "HIGHESTMODSEQ":
        values.push(`HIGHESTMODSEQ ${index.highestModseq}`);
        break;
      case "SIZE": {
        // One batch: every meta not cached is read at once (500 to a storage read, all in parallel).
        let size = 0;
        for await (const read of mailbox.read([...index.byId.values()], {
          scope: "meta",
          batchSize: Infinity,
        }))
          for (const m of read.meta.values()) size += m.size;
        values.push(`SIZE ${size}`);
        break;
      }
    }
  }
  return `STATUS ${mailboxWire(name, utf8Names)} (${values.join(" ")})`;
}

export const status: CommandHandler<"STATUS"> = {
  states: AUTHENTICATED,
  async run({ session, out }, cmd) {
    try {
      await out.untagged(await statusLine(session.requireAccount, cmd.mailbox, cmd.items, session.utf8Names));
    } catch (err) {
      if (err instanceof NotFound) return no(`mailbox "${cmd.mailbox}" does not exist`, "NONEXISTENT");
      throw err;
    }
    return ok("STATUS completed");
  },
};
