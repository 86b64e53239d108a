/**
 * Readable, leveled logs on stderr (and the log file, src/daemon/logFile.ts) for `start`: "2025-01-31T10:00:00.000Z INFO  message". Nothing
 * passed here may hold a secret; callers log names, counts and addresses only.
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Log = (level: LogLevel, message: string) => void;

/** A logger writing each line to every one of `outs` (standard error, and the log file if any). */
export function createLogger(
  least: LogLevel,
  outs: NodeJS.WritableStream | NodeJS.WritableStream[] = process.stderr,
): Log {
  const threshold = LOG_LEVELS.indexOf(least);
  const targets = Array.isArray(outs) ? outs : [outs];
  return (level, message) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message.replace(/[\r\n]+/g, " ")}\n`;
    for (const out of targets) out.write(line);
  };
}
