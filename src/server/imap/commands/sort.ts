/** SORT and UID SORT (RFC 5256 §3): the matches of the search keys, in the order of the criteria. */
import { ok } from "../protocol/errorResponse.ts";
import { sortMessages } from "../sortThread/sortOrder.ts";
import { SELECTED, type CommandHandler } from "./context.ts";
import { keyUsesModseq } from "./searchMatch.ts";
import { sortablesFor } from "./sortThreadRead.ts";

export const sort: CommandHandler<"SORT"> = {
  states: SELECTED,
  async run({ session, out }, cmd) {
    const useModseq = keyUsesModseq(cmd.key);
    if (useModseq) session.enabled.add("CONDSTORE");
    const { found, messages } = await sortablesFor(session, cmd.key);
    const ids = sortMessages(messages, cmd.criteria).map((m) => (cmd.uid ? m.uid : m.seq));
    // RFC 7162 §3.1.5: with a MODSEQ key, the highest MODSEQ of the matches follows, as for SEARCH.
    const highest = found.reduce((h, f) => Math.max(h, f.modseq), 0);
    const modseq = useModseq && found.length > 0 ? ` (MODSEQ ${highest})` : "";
    await out.untagged(`SORT${ids.map((n) => " " + n).join("")}${modseq}`);
    return ok(`${cmd.uid ? "UID " : ""}SORT completed`);
  },
};
