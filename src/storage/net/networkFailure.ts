/**
 * Turns the ways an HTTP call to the host can fail without an answer (refused, timed out, reset,
 * unknown host...) into one Unavailable error whose message says what happened and what to check.
 */
import { Unavailable } from "../../errors.ts";

/** Thrown by our own per-attempt timer, so a timeout can be told apart from a caller's abort. */
export class AttemptTimedOut extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "AttemptTimedOut";
  }
}

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string; cause?: { code?: string } } };
  return e?.code ?? e?.cause?.code ?? e?.cause?.cause?.code;
}

/** True for failures where the host never answered: worth retrying, and Unavailable at the end. */
export function isNetworkFailure(err: unknown): boolean {
  if (err instanceof AttemptTimedOut) return true;
  const name = (err as { name?: string })?.name;
  if (name === "TimeoutError" || name === "RequestTimeout") return true;
  const code = codeOf(err);
  if (code && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return true;
  return err instanceof TypeError && /fetch failed/.test(err.message);
}

export function networkReason(err: unknown): string {
  if (err instanceof AttemptTimedOut) return `no answer within ${Number((err.ms / 1000).toFixed(1))} s`;
  const name = (err as { name?: string })?.name;
  if (name === "TimeoutError" || name === "RequestTimeout") return "no answer in time";
  switch (codeOf(err)) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "no such host name";
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "the connection was reset";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to the host";
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
    case "ETIMEDOUT":
      return "no answer in time";
    default: {
      const e = err as { message?: string; cause?: { message?: string } };
      return e?.cause?.message ?? e?.message ?? String(err);
    }
  }
}

/** `what` names the API and endpoint, e.g. "Garage K2V at http://127.0.0.1:3904". */
export function unavailable(what: string, err: unknown, hint = "Is it running?"): Unavailable {
  return new Unavailable(
    `cannot reach ${what}: ${networkReason(err)}. ${hint} Check with \`aerogramme-local doctor\`.`,
    { cause: err },
  );
}
