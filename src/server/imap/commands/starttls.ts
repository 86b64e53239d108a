/** STARTTLS (RFC 3501 §6.2.1): the tagged OK goes out in clear, then the connection upgrades. */
import { bad, ok } from "../protocol/errorResponse.ts";
import { NOT_AUTHENTICATED, type CommandHandler } from "./context.ts";

export const starttls: CommandHandler<"STARTTLS"> = {
  states: NOT_AUTHENTICATED,
  async run(ctx) {
    const { session } = ctx;
    if (!session.server.tlsAvailable) return bad("STARTTLS is not available: no certificate is configured");
    if (session.tlsActive) return bad("TLS is already active");
    ctx.startTlsAfterResponse();
    return ok("begin TLS negotiation now");
  },
};
