/**
 * SELECT and EXAMINE (RFC 3501 §6.3.1-2), with CONDSTORE and QRESYNC parameters (RFC 7162 §3.1.2,
 * §3.2.5): the untagged state of the mailbox, then, for QRESYNC, what vanished and what changed
 * since the client's MODSEQ.
 */
import { NotFound } from "../../../errors.ts";
import { ImapError, no, ok } from "../protocol/errorResponse.ts";
import type { SelectParams, SequenceSet } from "../parser/types.ts";
import type { Session } from "../session/session.ts";
import { compactSet } from "../protocol/wire.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";
import { flagList } from "./flags.ts";
import { selectedListLine } from "./list.ts";
import { warmSearch } from "./searchWarmUp.ts";

export const select: CommandHandler<"SELECT" | "EXAMINE"> = {
  states: AUTHENTICATED,
  async run(ctx, cmd) {
    const { session, out } = ctx;
    // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1). RFC 9051 §7.1 (and RFC 7162
    // §3.2.11 for QRESYNC): the client is told, before anything about the next mailbox.
    if (session.state === "selected" && (session.rev2 || session.qresync))
      await out.untagged("OK [CLOSED] previous mailbox closed");
    session.unselect();
    const account = session.requireAccount;
    const params: SelectParams = cmd.params;
    if (params.qresync && !session.qresync) {
      throw new ImapError({ status: "BAD", text: "QRESYNC must be ENABLEd before SELECT (QRESYNC ...)" });
    }
    if (params.condstore) session.enabled.add("CONDSTORE");
    let mailbox, synced;
    try {
      ({ mailbox, synced } = await account.mailboxOpened(cmd.mailbox));
    } catch (err) {
      if (err instanceof NotFound) return no(`mailbox "${cmd.mailbox}" does not exist`, "NONEXISTENT");
      throw err;
    }
    // Synced during the call (its first sync, or beside the list's read); else it may lag others.
    if (!synced) await mailbox.sync();
    const readOnly = cmd.name === "EXAMINE";
    const selected = await session.select(cmd.mailbox, mailbox, readOnly, () => session.notifyChange());
    const index = mailbox.index;
    for (const line of selected.flags.lines(readOnly)) await out.untagged(line);
    await out.untagged(`${selected.view.exists} EXISTS`);
    if (session.rev2) {
      // RFC 9051 §6.3.2: LIST instead of RECENT and UNSEEN.
      await out.untagged(await selectedListLine(account, cmd.mailbox, session.utf8Names));
    } else {
      await out.untagged(`${selected.recent.size} RECENT`);
      // The flags column by position: no entry (and id string) made per message looked at.
      const firstUnseen = selected.view.uids.findIndex((uid) => {
        const at = index.byUid.positionOf(uid);
        return at < 0 || !index.shown.flagsAt(at).includes("\\Seen");
      });
      if (firstUnseen >= 0) await out.untagged(`OK [UNSEEN ${firstUnseen + 1}] first unseen message`);
    }
    await out.untagged(`OK [UIDVALIDITY ${index.uidvalidity}] UIDs valid`);
    await out.untagged(`OK [UIDNEXT ${index.uidnext}] predicted next UID`);
    await out.untagged(`OK [HIGHESTMODSEQ ${index.highestModseq}] highest MODSEQ`);
    await out.untagged(`OK [MAILBOXID (${mailbox.id})] mailbox id`);
    if (params.qresync && params.qresync.uidvalidity === index.uidvalidity)
      await qresyncReplay(session, params);
    // The first SEARCH's groundwork, at idle moments from now on (searchWarmUp.ts).
    void warmSearch(session);
    return ok(`${cmd.name} completed`, readOnly ? "READ-ONLY" : "READ-WRITE");
  },
};

/** RFC 7162 §3.2.5.2: VANISHED (EARLIER) for expunges after the client's MODSEQ, then changed flags. */
async function qresyncReplay(session: Session, params: SelectParams): Promise<void> {
  const q = params.qresync!;
  const sel = session.requireSelected;
  const index = sel.mailbox.index;
  const known = q.knownUids ? resolveKnown(q.knownUids) : undefined;
  const gone = index.vanished
    .filter((v) => v.modseq > q.modseq && (!known || known(v.uid)))
    .map((v) => v.uid)
    .sort((a, b) => a - b);
  if (gone.length > 0) await session.out.untagged(`VANISHED (EARLIER) ${compactSet(gone)}`);
  for (let i = 0; i < sel.view.uids.length; i++) {
    const entry = index.byUid.get(sel.view.uids[i]!);
    if (!entry || entry.modseq <= q.modseq) continue;
    await session.out.untagged(
      `${i + 1} FETCH (UID ${entry.uid} FLAGS ${flagList(session.flagsOf(entry.uid, entry.flags))} MODSEQ (${entry.modseq}))`,
    );
  }
}

function resolveKnown(set: SequenceSet): ((uid: number) => boolean) | undefined {
  if ("saved" in set) return undefined;
  return (uid: number) =>
    set.ranges.some((r) => uid >= Math.min(r.from, r.to) && uid <= Math.max(r.from, r.to));
}
