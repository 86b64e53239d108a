/**
 * CHECK, CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID EXPUNGE (RFC 4315). Expunge reports come from
 * the session's view catching up after the command (EXPUNGE, or VANISHED under QRESYNC).
 */
import { no, ok } from "../protocol/errorResponse.ts";
import { SELECTED, type CommandHandler } from "./context.ts";
import type { MailEntry } from "../../../mail/uidIndex.ts";
import { entriesOf } from "./selectedHelpers.ts";

export const check: CommandHandler<"CHECK"> = {
  states: SELECTED,
  async run({ session }) {
    await session.requireSelected.mailbox.sync();
    return ok("CHECK completed");
  },
};

export const close: CommandHandler<"CLOSE" | "UNSELECT"> = {
  states: SELECTED,
  async run({ session }, cmd) {
    const sel = session.requireSelected;
    // CLOSE expunges silently (RFC 3501 §6.4.2); UNSELECT does not.
    if (cmd.name === "CLOSE" && !sel.readOnly) {
      const deleted = deletedOf(sel.mailbox.index.byId.values());
      session.unselect();
      await sel.mailbox.expunge(
        deleted.map((e) => e.id),
        { contentLater: true },
      );
    } else {
      session.unselect();
    }
    return ok(`${cmd.name} completed`);
  },
};

export const expunge: CommandHandler<"EXPUNGE"> = {
  states: SELECTED,
  async run({ session }, cmd) {
    const sel = session.requireSelected;
    if (sel.readOnly) return no("the mailbox is read-only (EXAMINE)", "READ-ONLY");
    await sel.mailbox.sync();
    const doomed = deletedOf(
      cmd.uids ? entriesOf(session, cmd.uids, true).entries : sel.mailbox.index.byId.values(),
    );
    await sel.mailbox.expunge(
      doomed.map((e) => e.id),
      { contentLater: true },
    );
    const code = session.condstore ? `HIGHESTMODSEQ ${sel.mailbox.index.highestModseq}` : undefined;
    return ok("EXPUNGE completed", code);
  },
};

/**
 * The \Deleted ones, kept while walking: the UidIndex makes each entry when asked (~150 B), so a
 * list of every message first would be ~15 MB at 100,000 for the few the client deleted.
 */
function deletedOf(entries: Iterable<MailEntry>): MailEntry[] {
  const deleted: MailEntry[] = [];
  for (const e of entries) if (e.flags.includes("\\Deleted")) deleted.push(e);
  return deleted;
}
