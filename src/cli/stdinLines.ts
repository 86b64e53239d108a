/**
 * Secrets given on standard input (`--password-stdin`, `--secret-access-key-stdin`): one per line,
 * never in argv where `ps` shows them. Reading stops at the last line needed, so a script may keep
 * stdin open.
 */
import { usageError } from "./exitCodes.ts";

export async function readStdinLines(
  count: number,
  what: string[],
  input: NodeJS.ReadableStream = process.stdin,
): Promise<string[]> {
  const lines: string[] = [];
  let pending = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer | string) => {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0 && lines.length < count) {
        lines.push(pending.slice(0, nl).replace(/\r$/, ""));
        pending = pending.slice(nl + 1);
      }
      if (lines.length >= count) finish();
    };
    const onEnd = () => {
      if (pending.length > 0 && lines.length < count) lines.push(pending.replace(/\r$/, ""));
      finish();
    };
    const finish = () => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", reject);
      input.pause();
      resolve();
    };
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", reject);
    input.resume();
  });
  // Let the process exit even though stdin was opened.
  (input as { unref?: () => void }).unref?.();
  for (let i = 0; i < count; i++) {
    if (lines[i] === undefined || lines[i] === "")
      throw usageError(
        `standard input must hold ${what.map((w, n) => `${w} on line ${n + 1}`).join(", ")}; line ${i + 1} (${what[i]}) is ${lines[i] === undefined ? "missing" : "empty"}`,
      );
  }
  return lines.slice(0, count);
}
