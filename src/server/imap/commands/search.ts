/**
 * SEARCH and UID SEARCH (RFC 3501 §6.4.4), with MODSEQ (RFC 7162 §3.1.5), ESEARCH RETURN options
 * (RFC 4731) and SAVE (RFC 5182). Meta is read in batches; body keys decrypt bodies a few at a
 * time (bounded parallelism).
 */
import { ok } from "../protocol/errorResponse.ts";
import { keyNeedsMeta, keyUsesModseq, matches } from "./searchMatch.ts";
import { bindRecent } from "./searchRecent.ts";
import { bindObjectIds } from "./searchObjectId.ts";
import { returnedMatches } from "./searchReturn.ts";
import type { SearchKey, SearchReturn } from "../parser/types.ts";
import type { Session } from "../session/session.ts";
import { compactSet, quotedOrLiteral } from "../protocol/wire.ts";
import { SELECTED, type CommandHandler } from "./context.ts";

/** Messages per batch: one storage read per 500 metas. */
const META_BATCH = 500;
/**
 * Messages evaluated at once: bounds how many bodies are being fetched and decrypted in parallel
 * (each is at most one ranged GET per message for small ones, so a remote host is crossed many
 * times in parallel instead of in turn).
 */
const PARALLEL = 16;

export const search: CommandHandler<"SEARCH"> = {
  states: SELECTED,
  async run({ session, out, tag }, cmd) {
    const sel = session.requireSelected;
    const key = bindObjectIds(bindRecent(cmd.key, sel.recent), sel.mailbox.index);
    const useModseq = keyUsesModseq(key);
    if (useModseq) session.enabled.add("CONDSTORE");
    const found = await findMatches(session, key);
    const numbers = found.map((f) => (cmd.uid ? f.uid : f.seq));
    const highest = found.reduce((m, f) => Math.max(m, f.modseq), 0);
    if (cmd.returns === undefined) {
      const modseq = useModseq && found.length > 0 ? ` (MODSEQ ${highest})` : "";
      await out.untagged(`SEARCH${numbers.map((n) => " " + n).join("")}${modseq}`);
      return ok(`${cmd.uid ? "UID " : ""}SEARCH completed`);
    }
    const returns: SearchReturn[] = cmd.returns.length === 0 ? ["ALL"] : cmd.returns;
    const returned = returnedMatches(found, returns);
    if (returns.includes("SAVE")) session.savedSearch = returned.map((f) => f.uid);
    const shown = returns.filter((r) => r !== "SAVE");
    if (shown.length === 0) return ok(`${cmd.uid ? "UID " : ""}SEARCH completed, result saved`);
    let line = `ESEARCH (TAG ${quotedOrLiteral(tag)})${cmd.uid ? " UID" : ""}`;
    if (numbers.length > 0) {
      if (shown.includes("MIN")) line += ` MIN ${numbers[0]}`;
      if (shown.includes("MAX")) line += ` MAX ${numbers[numbers.length - 1]}`;
      if (shown.includes("ALL")) line += ` ALL ${compactSet(numbers)}`;
    }
    if (shown.includes("COUNT")) line += ` COUNT ${numbers.length}`;
    // RFC 4731 §3.2: the highest MODSEQ of the messages the answer describes (only MIN/MAX: those).
    if (useModseq && found.length > 0)
      line += ` MODSEQ ${returned.reduce((m, f) => Math.max(m, f.modseq), 0)}`;
    await out.untagged(line);
    return ok(`${cmd.uid ? "UID " : ""}SEARCH completed`);
  },
};

export interface SearchMatch {
  uid: number;
  seq: number;
  modseq: number;
}

/**
 * The messages of the session's view that match `key`, in sequence order. SORT and THREAD
 * (RFC 5256) search with it too; `key` must have gone through bindRecent.
 */
export async function findMatches(session: Session, key: SearchKey): Promise<SearchMatch[]> {
  const sel = session.requireSelected;
  const index = sel.mailbox.index;
  const view = sel.view;
  const maxUid = view.uids.length ? view.uids[view.uids.length - 1]! : 0;
  const needsMeta = keyNeedsMeta(key);
  const found: SearchMatch[] = [];
  // The view's messages; one expunged since the view last caught up is undefined: nothing is read.
  const all = view.uids.map((uid) => index.byUid.get(uid));
  // Bodies are read on demand (read.text), only where cheaper keys have not decided.
  const scope = needsMeta ? "meta" : "index";
  for await (const read of sel.mailbox.read(all, { scope, batchSize: META_BATCH })) {
    const i = read.from;
    const slice = view.uids.slice(i, i + META_BATCH);
    const entries = read.entries;
    for (let j = 0; j < slice.length; j += PARALLEL) {
      const group = slice.slice(j, j + PARALLEL).map(async (uid, k) => {
        const entry = entries[j + k];
        if (!entry) return;
        const meta = read.meta.get(entry.id);
        if (needsMeta && !meta) return;
        const seq = i + j + k + 1;
        let text: Promise<string> | undefined;
        const hit = await matches(key, {
          entry,
          seq,
          maxSeq: view.uids.length,
          maxUid,
          saved: session.savedSearch,
          ...(meta ? { meta } : {}),
          bodyText: () => (text ??= read.text(meta!)),
        });
        if (hit) found.push({ uid, seq, modseq: entry.modseq });
      });
      await Promise.all(group);
    }
  }
  found.sort((a, b) => a.seq - b.seq);
  return found;
}
