/**
 * Child of stop.test.ts: waits for a signal with waitForStop, whose stop leaves a handle open (an
 * interval no part clears), as a part that forgets one would. Prints "waiting" once the handlers
 * are on; the exit code is the one main would set.
 */
import { waitForStop } from "../../src/cli/commands/start.ts";

const log = (level: string, message: string) => process.stderr.write(`${level}: ${message}\n`);
// What a listening server is to the real process: it keeps the process alive until the stop.
const serving = setInterval(() => {}, 60_000);
const stopped = waitForStop(log, async () => {
  clearInterval(serving);
  setInterval(() => {}, 1_000); // the part that forgets
});
process.stdout.write("waiting\n");
process.exitCode = await stopped;
