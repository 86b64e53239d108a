/**
 * RFC 7888 on a real server: LITERAL- before login (non-synchronizing literals of at most 4096
 * bytes), LITERAL+ after it (any size the command allows); never both announced at once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { connected, loggedIn, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();

function literalCaps(line: string): string[] {
  return line.split(" ").filter((w) => w.startsWith("LITERAL"));
}

test("RFC 7888 §4, §5: LITERAL- alone before login, LITERAL+ alone after it", async () => {
  const server = await ready();
  const before = await connected(server);
  assert.deepEqual(literalCaps((await before.command("CAPABILITY"))[0]!), ["LITERAL-"]);
  before.close();
  const after = await loggedIn(server);
  assert.deepEqual(literalCaps((await after.command("CAPABILITY"))[0]!), ["LITERAL+"]);
  after.close();
});

test("RFC 7888 §3 example under LITERAL-: LOGIN {11+} FRED FOOBAR {7+} fat man, no continuation", async () => {
  const c = await connected(await ready());
  c.write("A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n");
  const lines = await c.until("A001");
  assert.equal(lines.length, 1, lines.join("\n")); // no "+ " went out
  assert.match(lines[0]!, /^A001 NO \[AUTHENTICATIONFAILED\]/);
  // 4096 bytes is the most LITERAL- takes unsynchronized: still read, still a NO, not a BAD.
  c.write(`A002 LOGIN {4096+}\r\n${"u".repeat(4096)} x\r\n`);
  assert.match((await c.until("A002")).at(-1)!, /^A002 NO /);
  c.close();
});

test("RFC 7888 §4: before login, a non-synchronizing literal over 4096 bytes is BAD [TOOBIG]", async () => {
  const c = await connected(await ready());
  c.write(`A003 LOGIN {4097+}\r\n${"u".repeat(4097)} x\r\n`);
  const lines = await c.until("A003");
  assert.match(lines.at(-1)!, /^A003 BAD \[TOOBIG\]/);
  c.close();
});

test("RFC 7888 §4: a synchronizing literal over 4096 bytes before login gets no continuation", async () => {
  const c = await connected(await ready());
  c.write("A004 LOGIN {5000}\r\n");
  assert.match(await c.readLine(), /^A004 NO \[TOOBIG\]/);
  assert.match(tagged(await c.command("NOOP")), /^OK/);
  c.close();
});

test("LITERAL+ after login: an unsynchronized 5000-byte literal is read as part of the command", async () => {
  const c = await loggedIn(await ready());
  await c.command("SELECT INBOX");
  const needle = "n".repeat(5000);
  c.write(`A005 SEARCH BODY {5000+}\r\n${needle}\r\n`);
  const lines = await c.until("A005");
  assert.deepEqual(lines, ["* SEARCH", "A005 OK SEARCH completed"]);
  c.close();
});
