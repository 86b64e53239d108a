/** Whether a live process accepts connections on a Unix socket (a stale file left by a crash does not). */
import { connect } from "node:net";

export function socketAnswers(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (live: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    // A listener accepts at once (the kernel queues the connection); no answer at all is stale.
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on("connect", () => done(true));
    socket.on("error", () => done(false));
  });
}
