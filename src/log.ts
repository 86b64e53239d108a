/**
 * Readable, leveled logs on stderr for `start`: "2025-01-31T10:00:00.000Z INFO  message". Nothing
 * passed here may hold a secret; callers log names, counts and addresses only.
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Log = (level: LogLevel, message: string) => void;

export function createLogger(least: LogLevel, out: NodeJS.WritableStream = process.stderr): Log {
  const threshold = LOG_LEVELS.indexOf(least);
  return (level, message) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    out.write(
      `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message.replace(/[\r\n]+/g, " ")}\n`,
    );
  };
}
