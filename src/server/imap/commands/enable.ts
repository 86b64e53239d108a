/**
 * ENABLE (RFC 5161): CONDSTORE and QRESYNC, UTF8=ACCEPT (RFC 6855 §3) and IMAP4rev2 (RFC 9051
 * §6.3.1, when it is announced: protocol/capabilities.ts).
 */
import { ok } from "../protocol/errorResponse.ts";
import { announcedAfterLogin } from "../protocol/capabilities.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";

/** What may be enabled (what was announced), by its upper-case name, as ENABLED spells it. */
function enableable(cap: string): string | undefined {
  const name = ["CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4rev2"].find((n) => n.toUpperCase() === cap);
  return name !== undefined && announcedAfterLogin(name) ? name : undefined;
}

export const enable: CommandHandler<"ENABLE"> = {
  states: AUTHENTICATED,
  async run({ session, out }, cmd) {
    const newly: string[] = [];
    for (const cap of cmd.capabilities.map((c) => c.toUpperCase())) {
      const name = enableable(cap);
      if (name === undefined || session.enabled.has(cap)) continue;
      session.enabled.add(cap);
      newly.push(name);
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
