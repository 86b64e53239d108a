/**
 * LOGIN and AUTHENTICATE PLAIN (RFC 3501 §6.2, RFC 4616, RFC 4959 SASL-IR). The IMAP
 * password is the encryption password: a good one unlocks the account (shared by every session of
 * the user); a bad one answers NO [AUTHENTICATIONFAILED] after the directory's growing delay.
 */
import { AuthFailed, Unavailable } from "../../../errors.ts";
import { bad, no, ok, type TaggedResult } from "../protocol/errorResponse.ts";
import { loginNeedsTls } from "../protocol/capabilities.ts";
import { capabilityList } from "./anyState.ts";
import { NOT_AUTHENTICATED, type CommandContext, type CommandHandler } from "./context.ts";

async function openSession(ctx: CommandContext, user: string, password: string): Promise<TaggedResult> {
  const { session } = ctx;
  try {
    session.account = await session.server.directory.login(user, password);
  } catch (err) {
    if (err instanceof AuthFailed) {
      session.server.log("info", `login failed for user ${JSON.stringify(user.slice(0, 64))}`);
      return no("wrong user name or password", "AUTHENTICATIONFAILED");
    }
    // Too many logins waiting for a password check, or storage down: the message says which.
    if (err instanceof Unavailable) return no(err.message, "UNAVAILABLE");
    throw err;
  }
  session.state = "authenticated";
  session.server.log("info", `user ${user} logged in`);
  return ok("logged in", `CAPABILITY ${capabilityList(session)}`);
}

/** RFC 3501 §6.2.3 (LOGINDISABLED) with RFC 5530's code: no password in clear once TLS is offered. */
function privacyRequired(ctx: CommandContext): TaggedResult | undefined {
  const { session } = ctx;
  if (!loginNeedsTls({ tlsAvailable: session.server.tlsAvailable, tlsActive: session.tlsActive })) {
    return undefined;
  }
  return no("the password may only be sent under TLS: use STARTTLS first", "PRIVACYREQUIRED");
}

export const login: CommandHandler<"LOGIN"> = {
  states: NOT_AUTHENTICATED,
  run: async (ctx, cmd) => privacyRequired(ctx) ?? openSession(ctx, cmd.user, cmd.password),
};

/** SASL PLAIN message: [authzid] NUL authcid NUL passwd. */
function decodePlain(b64: string): { user: string; password: string } | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return null;
  const parts = Buffer.from(b64, "base64").toString("utf8").split("\0");
  if (parts.length !== 3) return null;
  const [authz, user, password] = parts as [string, string, string];
  if (authz !== "" && authz !== user) return null;
  return { user, password };
}

export const authenticate: CommandHandler<"AUTHENTICATE"> = {
  states: NOT_AUTHENTICATED,
  async run(ctx, cmd) {
    // Before any continuation: a client must not be invited to send the password in clear.
    const refused = privacyRequired(ctx);
    if (refused) return refused;
    if (cmd.mechanism.toUpperCase() !== "PLAIN")
      return no(`unsupported mechanism ${cmd.mechanism}; use PLAIN`, "CANNOT");
    let response = cmd.initial;
    if (response === undefined) {
      await ctx.continuation("");
      const line = await ctx.readLine();
      if (line === null) return bad("connection closed during AUTHENTICATE");
      response = line.trim();
    }
    if (response === "*") return bad("AUTHENTICATE cancelled");
    const creds = response === "=" ? null : decodePlain(response);
    if (!creds) return bad("malformed SASL PLAIN response");
    return openSession(ctx, creds.user, creds.password);
  },
};
