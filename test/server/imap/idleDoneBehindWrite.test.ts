/**
 * Issue 18: IDLE's DONE is answered at once, also while the mailbox's queue waits on another
 * session's write. In the hour-long soak every client waited 3.7 and 5.8 s, most of them in DONE,
 * while one push waited on an fsync of a disk busy with other work: IDLE's watcher had woken for a
 * change from another computer and its sync sat behind that push, and DONE waited for the watcher.
 * DONE needs nothing of that sync (the next command reports what it brings).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { memoryStore } from "../../../src/storage/memoryStore.ts";
import type { RawImap } from "../../support/rawImap.ts";
import { rowWriteGate } from "../../support/rowWriteGate.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { appendRaw, loggedIn, message } from "./scenarioHelpers.ts";

const base = memoryStore();
const gate = rowWriteGate(base);
let other: TestServer;
let here: TestServer;

before(async () => {
  other = await startTestServer({ store: base });
  here = await startTestServer({ store: gate.store, joinExisting: true });
});
after(async () => {
  gate.release();
  await here?.close();
  await other?.close();
  await base.close();
});

test(
  "DONE ends IDLE at once while the mailbox waits on another session's write",
  { timeout: 30_000 },
  async () => {
    const a: RawImap = await loggedIn(other);
    const idler = await loggedIn(here);
    const writer = await loggedIn(here);
    await a.command("CREATE Shared");
    await appendRaw(a, "Shared", message("first", "one"));
    await idler.command("SELECT Shared");
    await writer.command("SELECT Shared");
    idler.write("I1 IDLE\r\n");
    assert.equal(await idler.readLine(), "+ idling");
    // This computer's write waits at storage (a slow fsync, a slow host)...
    gate.hold();
    writer.write(
      `W1 APPEND Shared {${Buffer.byteLength(message("second", "two"))}+}\r\n${message("second", "two")}\r\n`,
    );
    await new Promise((r) => setTimeout(r, 300));
    // ...and another computer's change wakes IDLE's watcher, whose sync queues behind that write.
    assert.match(await appendRaw(a, "Shared", message("third", "three")), /OK/);
    await new Promise((r) => setTimeout(r, 500));
    const sent = performance.now();
    idler.write("DONE\r\n");
    let line = await idler.readLine(3000);
    while (line.startsWith("* ")) line = await idler.readLine(3000);
    assert.equal(line, "I1 OK IDLE terminated");
    assert.ok(
      performance.now() - sent < 1000,
      `DONE answered after ${Math.round(performance.now() - sent)} ms`,
    );
    gate.release();
    let w = await writer.readLine(5000);
    while (w.startsWith("* ")) w = await writer.readLine(5000);
    assert.match(w, /^W1 OK /);
    // Nothing is lost for having answered early: the next command reports both messages.
    const noop = await idler.command("NOOP");
    assert.ok(noop.includes("* 3 EXISTS"), noop.join("\n"));
    a.close();
    idler.close();
    writer.close();
  },
);
