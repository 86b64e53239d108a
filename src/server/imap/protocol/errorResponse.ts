/**
 * The one place where errors of the lower layers become IMAP response codes (RFC 5530 and the
 * RFCs that define each code). Anything unknown is a server fault: NO [SERVERBUG], logged, and the
 * connection stays usable.
 */
import { AppError } from "../../../errors.ts";
import type { Log } from "../../../log.ts";

export interface TaggedResult {
  status: "OK" | "NO" | "BAD";
  code?: string;
  text: string;
}

export function ok(text: string, code?: string): TaggedResult {
  return { status: "OK", text, ...(code ? { code } : {}) };
}

export function no(text: string, code?: string): TaggedResult {
  return { status: "NO", text, ...(code ? { code } : {}) };
}

export function bad(text: string): TaggedResult {
  return { status: "BAD", text };
}

/** An IMAP-level refusal thrown by a command handler. */
export class ImapError extends Error {
  constructor(readonly result: TaggedResult) {
    super(result.text);
  }
}

const CODES: Record<string, string> = {
  AUTH_FAILED: "AUTHENTICATIONFAILED",
  UNAVAILABLE: "UNAVAILABLE",
  NOT_FOUND: "NONEXISTENT",
  ALREADY_EXISTS: "ALREADYEXISTS",
  TAMPERED: "CORRUPTION",
  WRONG_CONTEXT: "CORRUPTION",
  TRUNCATED: "CORRUPTION",
  CONFLICT: "INUSE",
  LOCKED: "INUSE",
  INVALID: "CANNOT",
  TOO_BIG: "TOOBIG",
};

export function resultForError(err: unknown, log: Log): TaggedResult {
  if (err instanceof ImapError) return err.result;
  if (err instanceof AppError) {
    if (err.code === "UNAVAILABLE") return no(`storage is unavailable: ${err.message}`, "UNAVAILABLE");
    if (err.code === "AUTH_FAILED") return no("authentication failed", "AUTHENTICATIONFAILED");
    return no(err.message, CODES[err.code]);
  }
  log("error", `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return no(
    "internal server error; nothing was changed by this command if it failed before writing",
    "SERVERBUG",
  );
}

export function formatTagged(tag: string, r: TaggedResult): string {
  return `${tag} ${r.status} ${r.code ? `[${r.code}] ` : ""}${r.text}`;
}
