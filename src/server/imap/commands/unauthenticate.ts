/**
 * UNAUTHENTICATE (RFC 8437): the session goes back to the not-authenticated state, as if it had just
 * connected, so that a client can log in again (as another user) on the same connection. The
 * selected mailbox is closed without an expunge, ENABLEd extensions and `$` are forgotten; the
 * unlocked account stays in the directory for its other sessions.
 */
import { ok } from "../protocol/errorResponse.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";

export const unauthenticate: CommandHandler<"UNAUTHENTICATE"> = {
  states: AUTHENTICATED,
  run({ session }) {
    session.unselect();
    session.account = undefined;
    session.enabled.clear();
    session.savedSearch = [];
    session.state = "notAuthenticated";
    return Promise.resolve(ok("UNAUTHENTICATE completed"));
  },
};
