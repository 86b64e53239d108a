/** CAPABILITY, NOOP, LOGOUT and ID: valid in every state (RFC 3501 §6.1, RFC 2971). */
import { capabilities } from "../protocol/capabilities.ts";
import { ok } from "../protocol/errorResponse.ts";
import { quotedOrLiteral } from "../protocol/wire.ts";
import { ANY, type CommandHandler } from "./context.ts";

export const capability: CommandHandler<"CAPABILITY"> = {
  states: ANY,
  async run({ session, out }) {
    await out.untagged(`CAPABILITY ${capabilityList(session)}`);
    return ok("CAPABILITY completed");
  },
};

export function capabilityList(session: {
  server: { tlsAvailable: boolean; appendLimit: number };
  tlsActive: boolean;
  state: string;
}): string {
  return capabilities({
    tlsAvailable: session.server.tlsAvailable,
    tlsActive: session.tlsActive,
    loggedIn: session.state !== "notAuthenticated",
    appendLimit: session.server.appendLimit,
  }).join(" ");
}

export const noop: CommandHandler<"NOOP"> = {
  states: ANY,
  async run({ session }) {
    // Other computers' changes are pulled here; the connection loop then reports them.
    if (session.selected) await session.selected.mailbox.sync();
    return ok("NOOP completed");
  },
};

export const logout: CommandHandler<"LOGOUT"> = {
  states: ANY,
  async run({ session, out }) {
    await out.untagged("BYE logging out");
    session.close();
    return ok("LOGOUT completed");
  },
};

const VERSION = "0.1.0";

export const id: CommandHandler<"ID"> = {
  states: ANY,
  async run({ session, out }, cmd) {
    if (cmd.params) {
      const client = Object.entries(cmd.params)
        .filter(([k]) => ["name", "version", "os"].includes(k.toLowerCase()))
        .map(([k, v]) => `${k}=${v ?? "NIL"}`)
        .join(" ");
      if (client) session.server.log("debug", `client ID: ${client}`);
    }
    await out.untagged(
      `ID (${quotedOrLiteral("name")} ${quotedOrLiteral("aerogramme-local")} ${quotedOrLiteral("version")} ${quotedOrLiteral(VERSION)})`,
    );
    return ok("ID completed");
  },
};
