/** THREAD and UID THREAD (RFC 5256 §4): the matches of the search keys, as threads. */
import { ok } from "../protocol/errorResponse.ts";
import { orderedSubject } from "../sortThread/orderedSubject.ts";
import { threadReferences } from "../sortThread/references.ts";
import type { Sortable } from "../sortThread/sortable.ts";
import { threadResponse } from "../sortThread/threadTree.ts";
import { SELECTED, type CommandHandler } from "./context.ts";
import { sortablesFor } from "./sortThreadRead.ts";

export const thread: CommandHandler<"THREAD"> = {
  states: SELECTED,
  async run({ session, out }, cmd) {
    const { messages } = await sortablesFor(session, cmd.key);
    const idOf = (m: Sortable) => (cmd.uid ? m.uid : m.seq);
    const roots =
      cmd.algorithm === "REFERENCES" ? threadReferences(messages, idOf) : orderedSubject(messages, idOf);
    await out.untagged(threadResponse(roots));
    return ok(`${cmd.uid ? "UID " : ""}THREAD completed`);
  },
};
