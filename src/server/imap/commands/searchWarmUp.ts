/**
 * What the first SEARCH of a selected mailbox would work out before it could answer, done ahead at
 * idle moments between commands (issue 11): the search index's files opened, each file's messages
 * placed in the mailbox (searchPlaces.ts) and its subject piece opened. A session's first header
 * search paid for all three: at 1,000 messages 8-12 ms of the server's main-thread CPU against
 * 2-4 ms for the searches after it, at 10,000 15-18 ms against ~7 (the 10,000 lookups by id, cold,
 * were most of it; bench/notes.md). The bench's SUBJECT search comes straight after the first sync
 * and a STORE, which leave no quiet spell of the 50 ms the index's background work waits for
 * (indexFiller.ts), so the first search did all of it.
 *
 * One file at a time, each step only once no command has run for WARM_QUIET_MS: a command that
 * comes during a step waits for that step alone (one file of up to 1,000 messages, ~1-3 ms). Only
 * as many files as stay open (KEEP_OPEN_DOCS messages); past that a search reopens them anyway.
 * The warm-up ends when the session selects again or leaves, or 10 s after SELECT; one runs per
 * mailbox at a time. A search that comes first works out what is left itself, into the same
 * places, and the answers are the same either way.
 */
import { KEEP_OPEN_DOCS } from "../../../mail/search/index.ts";
import type { ShownMessages } from "../../../mail/shownMessages.ts";
import type { Session } from "../session/session.ts";
import { indexWithin, uidsInMailbox } from "./searchPlaces.ts";

/** No command for this long (the client reading an answer): the warm-up takes its next step. */
export const WARM_QUIET_MS = 3;
/**
 * The field whose values are opened ahead: the one clients search most (a quick filter's first
 * field), and a small piece (~34 KB a file of 1,000 bench messages, where From's is ~100 KB).
 */
const WARM_FIELD = "subject";
/**
 * A warm-up that found no quiet moment for this long after SELECT ends: under clients that never
 * pause (as the load tool's do) its wait would poll every WARM_QUIET_MS for nothing; the first search
 * then does the work itself, as it did before.
 */
const WARM_GIVE_UP_MS = 10_000;
/** Mailboxes (their shown messages) a warm-up is under way for: one at a time each. */
const warming = new WeakSet<ShownMessages>();

/**
 * Starts the warm-up for the mailbox `session` has just selected; the promise settles when it ends
 * (tests), and never rejects.
 */
export function warmSearch(session: Session, giveUpMs = WARM_GIVE_UP_MS): Promise<void> {
  const account = session.account;
  const selected = session.selected;
  const searchIndex = account?.searchIndex;
  if (!account || !selected || !searchIndex) return Promise.resolve();
  const index = selected.mailbox.index;
  const shown = index.shown;
  // Another session's warm-up of this mailbox does the same work into the same places.
  if (warming.has(shown)) return Promise.resolve();
  warming.add(shown);
  const activity = account.messages.activity;
  const giveUpAt = performance.now() + giveUpMs;
  const current = () => session.selected === selected && performance.now() < giveUpAt;
  const pause = async () => {
    await activity.lull(undefined, WARM_QUIET_MS, () => !current());
    return current();
  };
  return (async () => {
    if (!(await pause()) || !(await searchIndex.open())) return;
    const within = indexWithin(selected.view.uids, index, searchIndex);
    let walked = 0;
    for await (const batch of searchIndex.batches(within, pause)) {
      // Files past what stays open would be closed again before a search came: no more of them.
      walked += batch.ids.length;
      if (walked > KEEP_OPEN_DOCS) break;
      uidsInMailbox(shown, batch);
      try {
        await batch.openField(WARM_FIELD);
      } catch (err) {
        // Only the index's own file was read: as a search would, stop trusting the index.
        searchIndex.markDamaged(err instanceof Error ? err.message : String(err));
        return;
      }
    }
  })()
    .catch(() => undefined) // nothing here may take the process down: a search redoes it all
    .finally(() => warming.delete(shown));
}
