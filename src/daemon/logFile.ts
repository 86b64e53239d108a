/**
 * The log file of `start --log-file FILE` (setting `logFile`), for runs outside systemd: the same
 * lines as standard error, rotated by size (rotating-file-stream) so that a server that runs for
 * months keeps a bounded amount: FILE, then FILE.1 (the newest old one) up to FILE.4.
 * rotating-file-stream is loaded only when a log file is asked for: its import cost ~17 ms of CPU at
 * every `start` (Node 20), ~10% of a start to its ready line, for a setting most runs leave unset.
 */
import { basename, dirname } from "node:path";

/** A file is rotated when it reaches this size; this many old ones are kept. */
export const LOG_FILE_MAX = "10M";
export const LOG_FILES_KEPT = 4;

export interface LogFile {
  stream: NodeJS.WritableStream;
  /** Flushes and closes; never rejects. */
  close(): Promise<void>;
}

export async function openLogFile(path: string): Promise<LogFile> {
  const { createStream } = await import("rotating-file-stream");
  const stream = createStream(basename(path), {
    path: dirname(path),
    size: LOG_FILE_MAX,
    rotate: LOG_FILES_KEPT,
    // Log lines name mailboxes and addresses: this user's alone (the umask says so too).
    mode: 0o600,
  });
  // A full disk or a folder removed under us must not stop the server: standard error still logs.
  stream.on("error", (err) => process.stderr.write(`log file ${path}: ${err.message}\n`));
  return {
    stream,
    close: () => new Promise<void>((resolve) => stream.end(() => resolve())),
  };
}
