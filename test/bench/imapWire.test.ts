/**
 * The load tool's soak kills the server with -9 while clients are mid-command. A client between
 * IDLE's continuation and its DONE (it waits 50-400 ms there) saw its connection close, and the
 * IDLE's pending answer rejected with nobody listening yet: an unhandled rejection that ended the
 * whole load run at the kill. The close must reach the client as done()'s rejection, nothing else.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { ImapWire } from "../../bench/imapWire.ts";

const sockets = new Set<Socket>();
let server: Server | undefined;
after(() => {
  for (const s of sockets) s.destroy();
  server?.close();
});

test("a connection closed during IDLE rejects done(), and nothing is left unhandled", async () => {
  let closeNow!: () => void;
  const idling = new Promise<void>((resolve) => (closeNow = resolve));
  server = createServer((socket) => {
    sockets.add(socket);
    socket.write("* OK ready\r\n");
    socket.on("data", (d: Buffer) => {
      const m = /^(\S+) IDLE\r\n/.exec(d.toString("latin1"));
      if (!m) return;
      socket.write("+ idling\r\n");
      closeNow();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    const wire = await ImapWire.open("127.0.0.1", port);
    const idle = await wire.idle();
    await idling;
    for (const s of sockets) s.destroy(); // the server is killed while the client waits to send DONE
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(idle.done(), /connection closed by the server/);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(unhandled, [], "no rejection left unhandled");
    await wire.close();
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});
