/**
 * Child of stop.test.ts: a SIGTERM that arrives just before waitForStop takes the signals over (the
 * parent saw the ready line and stopped the server at once). The signal is caught while another
 * listener (conf's `when-exit`, in the real process) is on, and dispatched only after waitForStop.
 */
import { waitForStop } from "../../src/cli/commands/start.ts";

const log = (level: string, message: string) => process.stderr.write(`${level}: ${message}\n`);
// What a listening server is to the real process: it keeps the process alive until the stop.
const serving = setInterval(() => {}, 60_000);
process.once("SIGTERM", () => process.stderr.write("the earlier listener ran\n"));
process.kill(process.pid, "SIGTERM"); // caught now, dispatched by the event loop later
process.exitCode = await waitForStop(log, async () => clearInterval(serving));
