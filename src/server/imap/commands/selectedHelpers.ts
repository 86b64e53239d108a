/** Shared by the selected-state commands: the set's messages as mailbox entries. */
import type { MailEntry, UidIndex } from "../../../mail/uidIndex.ts";
import { resolveSet } from "../session/messageSet.ts";
import type { SequenceSet } from "../parser/types.ts";
import type { Selected, Session } from "../session/session.ts";

/** Entries of the set that still exist in the mailbox (an expunge not yet reported is skipped). */
export function entriesOf(
  session: Session,
  set: SequenceSet,
  byUid: boolean,
): { sel: Selected; entries: MailEntry[] } {
  const { sel, uids } = uidsOf(session, set, byUid);
  return { sel, entries: entriesOfUids(sel.mailbox.index, uids) };
}

/** The set's UIDs; entriesOfUids makes their entries a batch at a time (snapshots: ~150 B each). */
export function uidsOf(
  session: Session,
  set: SequenceSet,
  byUid: boolean,
): { sel: Selected; uids: number[] } {
  const sel = session.requireSelected;
  return { sel, uids: resolveSet(set, byUid, { view: sel.view, saved: session.savedSearch }) };
}

export function entriesOfUids(index: UidIndex, uids: readonly number[]): MailEntry[] {
  const entries: MailEntry[] = [];
  for (const uid of uids) {
    const e = index.byUid.get(uid);
    if (e) entries.push(e);
  }
  return entries;
}
