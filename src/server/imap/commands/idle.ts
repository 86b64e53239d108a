/**
 * IDLE (RFC 2177): changes made by other sessions of this process arrive through the mailbox's
 * change events; changes from other computers through the mailbox's watch (a long poll on
 * storage). Both are reported at once; DONE ends it.
 */
import { bad, ok } from "../protocol/errorResponse.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";

/** How long one storage long-poll lasts before it is renewed. */
const WATCH_MS = 30_000;

export const idle: CommandHandler<"IDLE"> = {
  states: AUTHENTICATED,
  async run(ctx) {
    const { session } = ctx;
    await ctx.continuation("idling");
    const stop = new AbortController();
    let wake: (() => void) | undefined;
    // Set by every change so none is missed between a report and the next wait.
    let pending = true;
    const woken = () => {
      pending = true;
      wake?.();
    };
    session.changeListener = woken;
    const done = ctx.readLine().then((line) => {
      stop.abort();
      woken();
      return line;
    });
    const watcher = (async () => {
      while (!stop.signal.aborted && session.selected) {
        const mailbox = session.selected.mailbox;
        try {
          await mailbox.waitForChange(WATCH_MS, stop.signal);
        } catch (err) {
          if (stop.signal.aborted) return;
          session.server.log("warn", `IDLE watch failed: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    })();
    try {
      for (;;) {
        if (!pending) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        wake = undefined;
        pending = false;
        if (stop.signal.aborted) break;
        if (!(await session.reportChanges(true))) return bad("session ended");
      }
    } finally {
      session.changeListener = undefined;
      stop.abort();
      // Not awaited: a watcher that woke for another computer's change may be syncing, and that
      // sync queues behind any write to the mailbox in progress (a slow fsync, a slow host).
      // DONE needs nothing of it; the next command reports what it brings. Waiting for it had every
      // IDLE client of the soak wait 3.7 and 5.8 s behind one write (issue 18). Its errors are
      // caught inside it.
      void watcher;
    }
    const line = await done;
    if (line === null) return bad("connection closed during IDLE");
    if (line.trim().toUpperCase() !== "DONE") return bad(`expected DONE to end IDLE, got something else`);
    return ok("IDLE terminated");
  },
};
