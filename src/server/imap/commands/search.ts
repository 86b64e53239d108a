/**
 * SEARCH and UID SEARCH (RFC 3501 §6.4.4), with MODSEQ (RFC 7162 §3.1.5), ESEARCH RETURN options
 * (RFC 4731) and SAVE (RFC 5182). A key that needs more than the UID index is answered first from
 * the account's local search index (mail/search/) for the messages it holds; the rest are scanned:
 * meta read in batches, bodies decrypted a few at a time (bounded parallelism). Both paths compare
 * the same case-folded text, so the answer is the scan's whatever the index holds.
 */
import {
  metaFacts,
  type IndexedBatch,
  type SearchFacts,
  type SearchIndex,
} from "../../../mail/search/index.ts";
import type { ReadBatch } from "../../../mail/read/index.ts";
import type { MailEntry } from "../../../mail/uidIndex.ts";
import { ok, type TaggedResult } from "../protocol/errorResponse.ts";
import { keyNeedsMeta, keyUsesModseq, matches, matchesWithoutMeta } from "./searchMatch.ts";
import { bindRecent } from "./searchRecent.ts";
import { bindObjectIds } from "./searchObjectId.ts";
import { returnedMatches } from "./searchReturn.ts";
import type { SearchKey, SearchReturn } from "../parser/types.ts";
import type { Session } from "../session/session.ts";
import { esearchLine } from "./esearchLine.ts";
import { indexWithin, uidsInMailbox } from "./searchPlaces.ts";
import { SELECTED, type CommandContext, type CommandHandler, type CommandOf } from "./context.ts";
import { emptyingSavedOnFailure } from "./savedResult.ts";

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
  run(ctx, cmd) {
    return emptyingSavedOnFailure(ctx.session, cmd.returns?.includes("SAVE") ?? false, () =>
      runSearch(ctx, cmd),
    );
  },
};

async function runSearch(
  { session, out, tag }: CommandContext,
  cmd: CommandOf<"SEARCH">,
): Promise<TaggedResult> {
  const sel = session.requireSelected;
  const key = bindObjectIds(bindRecent(cmd.key, sel.recent), sel.mailbox.index);
  const useModseq = keyUsesModseq(key);
  if (useModseq) session.enabled.add("CONDSTORE");
  const found = await findMatches(session, key);
  const numbers = found.map((f) => (cmd.uid ? f.uid : f.seq));
  const highest = found.reduce((m, f) => Math.max(m, f.modseq), 0);
  // RFC 9051 §6.4.4: an IMAP4rev2 client always gets ESEARCH; no RETURN is RETURN (ALL).
  if (cmd.returns === undefined && !session.rev2) {
    const modseq = useModseq && found.length > 0 ? ` (MODSEQ ${highest})` : "";
    await out.untagged(`SEARCH${numbers.map((n) => " " + n).join("")}${modseq}`);
    return ok(`${cmd.uid ? "UID " : ""}SEARCH completed`);
  }
  const returns: SearchReturn[] =
    cmd.returns === undefined || cmd.returns.length === 0 ? ["ALL"] : cmd.returns;
  const returned = returnedMatches(found, returns);
  if (returns.includes("SAVE")) session.savedSearch = returned.map((f) => f.uid);
  const shown = returns.filter((r) => r !== "SAVE");
  if (shown.length === 0) return ok(`${cmd.uid ? "UID " : ""}SEARCH completed, result saved`);
  // RFC 4731 §3.2: the highest MODSEQ of the messages the answer describes (only MIN/MAX: those).
  const modseq =
    useModseq && found.length > 0 ? returned.reduce((m, f) => Math.max(m, f.modseq), 0) : undefined;
  await out.untagged(esearchLine(tag, cmd.uid, numbers, shown, modseq));
  return ok(`${cmd.uid ? "UID " : ""}SEARCH completed`);
}

export interface SearchMatch {
  uid: number;
  seq: number;
  modseq: number;
}

/**
 * Evaluates `judge` on every message of `all` that the index holds, one index batch at a time.
 * A batch whose file turns out damaged (Tampered, WrongContext) counts for nothing: its messages
 * are scanned and the index is rebuilt; `decided` marks the positions answered here.
 */
/**
 * A header key every match must satisfy (the key itself, or one of an AND's), as the field whose
 * value must hold the needle: the index then skips, without evaluating the key, the messages of a
 * batch where the needle appears in no header value at all.
 */
function requiredHeader(key: SearchKey): { field: string; needle: string } | undefined {
  switch (key.kind) {
    case "SUBJECT":
    case "FROM":
    case "TO":
    case "CC":
    case "BCC":
      return key.value === ""
        ? undefined
        : { field: key.kind.toLowerCase(), needle: key.value.toLowerCase() };
    case "HEADER":
      return key.value === ""
        ? undefined
        : { field: key.field.toLowerCase(), needle: key.value.toLowerCase() };
    case "AND":
      for (const k of key.keys) {
        const r = requiredHeader(k);
        if (r) return r;
      }
      return undefined;
    default:
      return undefined;
  }
}

async function searchIndexed(
  searchIndex: SearchIndex,
  viewSize: number,
  positionsOf: (batch: IndexedBatch) => (k: number) => number | undefined,
  within: string[] | undefined,
  key: SearchKey,
  judge: (facts: SearchFacts, i: number) => Promise<SearchMatch | undefined>,
): Promise<{ decided: Uint8Array; hits: SearchMatch[]; count: number }> {
  const required = requiredHeader(key);
  const decided = new Uint8Array(viewSize);
  const hits: SearchMatch[] = [];
  let count = 0;
  for await (const batch of searchIndex.batches(within)) {
    const here: number[] = [];
    const batchHits: SearchMatch[] = [];
    try {
      const maybe = required ? await batch.candidates(required.field, required.needle) : undefined;
      const positionOf = positionsOf(batch);
      for (let k = 0; k < batch.ids.length; k++) {
        const i = positionOf(k);
        if (i === undefined || decided[i]) continue;
        here.push(i);
        if (maybe && !maybe[k]) continue;
        const hit = await judge(batch.facts(k), i);
        if (hit) batchHits.push(hit);
      }
    } catch (err) {
      // Only the index's own files are read here (no storage): whatever failed, scan instead.
      searchIndex.markDamaged(err instanceof Error ? err.message : String(err));
      continue;
    }
    for (const i of here) decided[i] = 1;
    count += here.length;
    hits.push(...batchHits);
  }
  return { decided, hits, count };
}

/**
 * The messages of the session's view that match `key`, in sequence order, from the local search
 * index where it holds them and by a scan of sealed meta otherwise. SORT and THREAD (RFC 5256)
 * search with it too; `key` must have gone through bindRecent.
 */
export async function findMatches(session: Session, key: SearchKey): Promise<SearchMatch[]> {
  const sel = session.requireSelected;
  const index = sel.mailbox.index;
  const view = sel.view;
  const maxUid = view.uids.length ? view.uids[view.uids.length - 1]! : 0;
  const needsMeta = keyNeedsMeta(key);
  const found: SearchMatch[] = [];
  const account = session.requireAccount;
  const searchIndex = account.searchIndex;
  let decided: Uint8Array | undefined;
  if (needsMeta && searchIndex) {
    // A message's place in the view: its UID in the mailbox (worked out once per index file and
    // kept until the mailbox changes, searchPlaces.ts), then a binary search of the view. No map
    // of the view's 10,000 or 100,000 ids is built per search, and no entry is made for a message
    // the index leaves out.
    const positionsOf = (batch: IndexedBatch) => {
      const uids = uidsInMailbox(index.shown, batch);
      return (k: number) => {
        const uid = uids[k]!;
        const i = uid === 0 ? -1 : view.seqOf(uid) - 1;
        return i >= 0 ? i : undefined;
      };
    };
    await searchIndex.open(); // `held` counts the files' messages once they are listed
    // A small mailbox of a large account: only the index files that may hold its messages.
    const within = indexWithin(view.uids, index, searchIndex);
    const covered = await searchIndexed(
      searchIndex,
      view.uids.length,
      positionsOf,
      within,
      key,
      async (facts, i) => {
        const entry = index.byUid.get(view.uids[i]!);
        if (!entry) return undefined; // expunged while the search ran
        const hit = await matches(key, {
          entry,
          seq: i + 1,
          maxSeq: view.uids.length,
          maxUid,
          saved: session.savedSearch,
          facts,
        });
        return hit ? { uid: entry.uid, seq: i + 1, modseq: entry.modseq } : undefined;
      },
    );
    for (const hit of covered.hits) found.push(hit);
    decided = covered.decided;
    searchIndex.answered += covered.count;
  }
  // Lanes, not groups: a lane takes the next message as soon as its own is decided, so one slow
  // body read holds one lane back instead of the 15 others of its group.
  const judgeBatch = async (
    i: number,
    entries: readonly (MailEntry | undefined)[],
    read: ReadBatch<MailEntry | undefined> | undefined,
  ) => {
    const matchOne = async (j: number) => {
      const entry = entries[j];
      if (!entry) return;
      const meta = read?.meta.get(entry.id);
      if (needsMeta && !meta) return;
      const seq = i + j + 1;
      const hit = await matches(key, {
        entry,
        seq,
        maxSeq: view.uids.length,
        maxUid,
        saved: session.savedSearch,
        ...(meta && read ? { facts: metaFacts(meta, () => read.text(meta)) } : {}),
      });
      if (hit) found.push({ uid: entry.uid, seq, modseq: entry.modseq });
    };
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (next < entries.length && !failed) {
        try {
          await matchOne(next++);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, entries.length) }, lane));
  };
  if (!needsMeta) {
    // Flags, UIDs, MODSEQ: nothing is read, so each entry (~150 B, shownMessages.ts) is made as
    // its message is judged. Made all at once, a `UID SEARCH ALL` of 100,000 messages held ~20 MB
    // of them until it ended, which set the bench session's peak RSS (bench/notes.md).
    // Judged without a promise per message (matchesWithoutMeta).
    for (let i = 0; i < view.uids.length; i++) {
      const entry = index.byUid.get(view.uids[i]!);
      if (!entry) continue; // expunged since the view last caught up
      const subject = { entry, seq: i + 1, maxSeq: view.uids.length, maxUid, saved: session.savedSearch };
      if (matchesWithoutMeta(key, subject)) found.push({ uid: entry.uid, seq: i + 1, modseq: entry.modseq });
    }
  } else {
    // The view's messages the index did not decide; one expunged since the view last caught up is
    // undefined: nothing is read. Entries are made only for these (~150 B each, shownMessages.ts).
    const all = view.uids.map((uid, i) => (decided?.[i] ? undefined : index.byUid.get(uid)));
    // Messages the index lacks (other computers' mail, a rebuild under way): fill it.
    if (decided && searchIndex && all.some((e) => e !== undefined)) account.indexInBackground();
    // Nothing left to scan when the index answered for every message. Bodies are read on demand
    // (read.text), only where cheaper keys have not decided.
    const toScan = all.some((e) => e !== undefined) ? all : [];
    for await (const read of sel.mailbox.read(toScan, { scope: "meta", batchSize: META_BATCH })) {
      await judgeBatch(read.from, read.entries, read);
    }
  }
  found.sort((a, b) => a.seq - b.seq);
  return found;
}
