/**
 * File-system errors of the embedded store become Unavailable with a message that says what failed
 * and what to do, so a full disk reaches the IMAP client as `NO [UNAVAILABLE]`, never as lost mail.
 */
import { Unavailable } from "../../errors.ts";

const advice: Record<string, string> = {
  ENOSPC: "the disk is full; free some space and retry",
  EDQUOT: "the disk quota is exhausted; free some space and retry",
  EACCES: "permission denied; check the owner and mode of the data folder",
  EPERM: "operation not permitted; check the owner and mode of the data folder",
  EROFS: "the file system is read-only",
  EIO: "the disk reported an I/O error; check it before going on",
  EMFILE: "too many open files; raise the limit (ulimit -n) or close other programs",
  ENFILE: "the system ran out of file handles",
};

export function fsErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** An Unavailable for a failed file-system `action` ("write the row log") on `path`. */
export function unavailable(action: string, path: string, err: unknown): Unavailable {
  if (err instanceof Unavailable) return err;
  const code = fsErrorCode(err);
  const why = (code && advice[code]) ?? (err instanceof Error ? err.message : String(err));
  return new Unavailable(`embedded store: cannot ${action} ${path}: ${why}${code ? ` (${code})` : ""}`, {
    cause: err,
  });
}
