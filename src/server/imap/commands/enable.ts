/** ENABLE (RFC 5161): CONDSTORE and QRESYNC, the extensions a client must turn on. */
import { ok } from "../protocol/errorResponse.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";

const ENABLEABLE = new Set(["CONDSTORE", "QRESYNC"]);

export const enable: CommandHandler<"ENABLE"> = {
  states: AUTHENTICATED,
  async run({ session, out }, cmd) {
    const newly: string[] = [];
    for (const cap of cmd.capabilities.map((c) => c.toUpperCase())) {
      if (!ENABLEABLE.has(cap) || session.enabled.has(cap)) continue;
      session.enabled.add(cap);
      newly.push(cap);
      // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3).
      if (cap === "QRESYNC" && !session.enabled.has("CONDSTORE")) {
        session.enabled.add("CONDSTORE");
        newly.push("CONDSTORE");
      }
    }
    await out.untagged(`ENABLED${newly.map((c) => " " + c).join("")}`);
    return ok("ENABLE completed");
  },
};
