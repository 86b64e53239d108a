/**
 * SORT and UID SORT (RFC 5256 §3): the matches of the search keys, in the order of the criteria.
 * With RETURN (RFC 5267 ESORT §3.2) the answer is an ESEARCH: MIN and MAX are the first and last in
 * sort order, ALL keeps that order, SAVE keeps them for `$` (RFC 5182).
 */
import type { SearchReturn } from "../parser/types.ts";
import { ok, type TaggedResult } from "../protocol/errorResponse.ts";
import { sortMessages } from "../sortThread/sortOrder.ts";
import { SELECTED, type CommandContext, type CommandHandler, type CommandOf } from "./context.ts";
import { esearchLine } from "./esearchLine.ts";
import { emptyingSavedOnFailure } from "./savedResult.ts";
import { keyUsesModseq } from "./searchMatch.ts";
import { returnedMatches } from "./searchReturn.ts";
import { sortablesFor } from "./sortThreadRead.ts";

export const sort: CommandHandler<"SORT"> = {
  states: SELECTED,
  run(ctx, cmd) {
    return emptyingSavedOnFailure(ctx.session, cmd.returns?.includes("SAVE") ?? false, () =>
      runSort(ctx, cmd),
    );
  },
};

async function runSort({ session, out, tag }: CommandContext, cmd: CommandOf<"SORT">): Promise<TaggedResult> {
  const done = `${cmd.uid ? "UID " : ""}SORT completed`;
  const useModseq = keyUsesModseq(cmd.key);
  if (useModseq) session.enabled.add("CONDSTORE");
  const { found, messages } = await sortablesFor(session, cmd.key);
  const sorted = sortMessages(messages, cmd.criteria);
  const modseqOf = new Map(found.map((f) => [f.uid, f.modseq]));
  if (cmd.returns === undefined) {
    const ids = sorted.map((m) => (cmd.uid ? m.uid : m.seq));
    // RFC 7162 §3.1.5: with a MODSEQ key, the highest MODSEQ of the matches follows, as for SEARCH.
    const highest = found.reduce((h, f) => Math.max(h, f.modseq), 0);
    const modseq = useModseq && found.length > 0 ? ` (MODSEQ ${highest})` : "";
    await out.untagged(`SORT${ids.map((n) => " " + n).join("")}${modseq}`);
    return ok(done);
  }
  const returns: SearchReturn[] = cmd.returns.length === 0 ? ["ALL"] : cmd.returns;
  const returned = returnedMatches(sorted, returns);
  if (returns.includes("SAVE")) session.savedSearch = returned.map((m) => m.uid).sort((a, b) => a - b);
  const shown = returns.filter((r) => r !== "SAVE");
  if (shown.length === 0) return ok(`${done}, result saved`);
  const modseq =
    useModseq && sorted.length > 0
      ? returned.reduce((h, m) => Math.max(h, modseqOf.get(m.uid) ?? 0), 0)
      : undefined;
  const numbers = sorted.map((m) => (cmd.uid ? m.uid : m.seq));
  await out.untagged(esearchLine(tag, cmd.uid, numbers, shown, modseq));
  return ok(done);
}
