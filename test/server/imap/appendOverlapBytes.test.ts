/**
 * Issue 11: pipelined APPENDs run at once only while their messages stay under a byte budget
 * (connection.ts, MAX_OVERLAPPED_APPEND_BYTES). Each is held whole until stored, so 32 large ones
 * at once held tens of MB; one that would pass the budget waits for those running, and the
 * connection reads no further command meanwhile (so holds no further message).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { rowWriteGate, type RowWriteGate } from "../../support/rowWriteGate.ts";
import { loggedIn, useServer } from "./scenarioHelpers.ts";

/** Row writes wait while the gate is held: an APPEND is then under way and not answered. */
let gate: RowWriteGate | undefined;
const { server } = useServer({ wrap: (inner) => (gate = rowWriteGate(inner)).store });

/** A message of about `bytes` bytes: a header and lines of text. */
function largeMessage(bytes: number, subject: string): Buffer {
  const line = `${"budget ".repeat(10)}\r\n`;
  const head = `From: a@example.org\r\nSubject: ${subject}\r\n\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil(bytes / line.length)));
}

test(
  "a pipelined APPEND past the overlap byte budget waits for the running ones",
  { timeout: 60_000 },
  async () => {
    const c = await loggedIn(server());
    try {
      const messages = [1, 2, 3].map((i) => largeMessage(3 * 1024 * 1024, `large ${i}`));
      const announce = (tag: string, m: Buffer) => `${tag} APPEND INBOX {${m.length}}\r\n`;
      gate!.hold();
      c.write(announce("P1", messages[0]!));
      assert.match(await c.readLine(10_000), /^\+/);
      // P1's message and P2's command at once: P1 runs beside what follows (its write is held).
      c.write(Buffer.concat([messages[0]!, Buffer.from(`\r\n${announce("P2", messages[1]!)}`)]));
      assert.match(await c.readLine(10_000), /^\+/);
      c.write(Buffer.concat([messages[1]!, Buffer.from(`\r\n${announce("P3", messages[2]!)}`)]));
      // P1 and P2 together pass the budget: P2 waits for P1, and P3 is not read meanwhile.
      await assert.rejects(c.readLine(1_500), /timed out/);
      gate!.release();
      const lines = [await c.readLine(20_000), await c.readLine(20_000), await c.readLine(20_000)];
      assert.match(lines[0]!, /^P1 OK/);
      assert.match(lines[1]!, /^P2 OK/);
      assert.match(lines[2]!, /^\+/);
      c.write(Buffer.concat([messages[2]!, Buffer.from("\r\n")]));
      assert.match((await c.until("P3", 20_000)).at(-1)!, /^P3 OK/);
      const status = await c.command("STATUS INBOX (MESSAGES)");
      assert.match(status.join("\n"), /MESSAGES 3\)/);
    } finally {
      gate!.release();
      c.close();
    }
  },
);
