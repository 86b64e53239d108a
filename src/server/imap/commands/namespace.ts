/** NAMESPACE (RFC 2342): one personal namespace, no prefix, "/" between levels; nothing shared. */
import { ok } from "../protocol/errorResponse.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";

export const namespace: CommandHandler<"NAMESPACE"> = {
  states: AUTHENTICATED,
  async run({ out }) {
    await out.untagged('NAMESPACE (("" "/")) NIL NIL');
    return ok("NAMESPACE completed");
  },
};
