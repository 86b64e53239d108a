/** What SORT and THREAD share: search, then read each match's sort fields from its sealed meta. */
import type { SearchKey } from "../parser/types.ts";
import type { Session } from "../session/session.ts";
import { sortable, type Sortable } from "../sortThread/sortable.ts";
import { findMatches, type SearchMatch } from "./search.ts";
import { bindRecent } from "./searchRecent.ts";
import { bindObjectIds } from "./searchObjectId.ts";

export async function sortablesFor(
  session: Session,
  key: SearchKey,
): Promise<{ found: SearchMatch[]; messages: Sortable[] }> {
  const sel = session.requireSelected;
  const found = await findMatches(session, bindObjectIds(bindRecent(key, sel.recent), sel.mailbox.index));
  const index = sel.mailbox.index;
  const messages: Sortable[] = [];
  const entries = found.map((f) => index.byUid.get(f.uid));
  for await (const read of sel.mailbox.read(entries, { scope: "meta" })) {
    read.entries.forEach((entry, k) => {
      const meta = entry && read.meta.get(entry.id);
      const match = found[read.from + k]!;
      if (meta) messages.push(sortable(match.seq, match.uid, meta));
    });
  }
  return { found, messages };
}
