/** Shared by the selected-state commands: the set's messages as mailbox entries. */
import type { MailEntry } from "../../../mail/uidIndex.ts";
import { resolveSet } from "../session/messageSet.ts";
import type { SequenceSet } from "../parser/types.ts";
import type { Selected, Session } from "../session/session.ts";

/** Entries of the set that still exist in the mailbox (an expunge not yet reported is skipped). */
export function entriesOf(
  session: Session,
  set: SequenceSet,
  byUid: boolean,
): { sel: Selected; entries: MailEntry[] } {
  const sel = session.requireSelected;
  const uids = resolveSet(set, byUid, { view: sel.view, saved: session.savedSearch });
  const index = sel.mailbox.index;
  const entries: MailEntry[] = [];
  for (const uid of uids) {
    const e = index.byUid.get(uid);
    if (e) entries.push(e);
  }
  return { sel, entries };
}
