import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { startTestServer, type TestServer } from "../support/testServer.ts";
import { runChild } from "../support/runChild.ts";

const python = findExecutable("python3");
let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(() => server.close());

test(
  "Python imaplib (needs python3): login, list, select, fetch, search, store, append, expunge, logout",
  { skip: skipUnless(python !== undefined, "python3", "apt-get install python3") },
  async () => {
    const script = fileURLToPath(new URL("./imaplib_session.py", import.meta.url));
    const run = await runChild(python!, [script, String(server.port), server.user, server.password], {
      timeoutMs: 30_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /ok logout BYE/);
  },
);

test(
  "Python imaplib (needs python3) runs issue 14's extensions: LITERAL-, MULTIAPPEND, BINARY, PREVIEW, SAVEDATE, ESORT",
  { skip: skipUnless(python !== undefined, "python3", "apt-get install python3") },
  async () => {
    const script = fileURLToPath(new URL("./imaplib_extensions.py", import.meta.url));
    const run = await runChild(python!, [script, String(server.port), server.user, server.password], {
      timeoutMs: 30_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /ok esort\nok logout BYE/);
  },
);

test(
  "Python imaplib (needs python3) uses SEARCHRES, WITHIN, OBJECTID, UNAUTHENTICATE and UTF8=ACCEPT",
  { skip: skipUnless(python !== undefined, "python3", "apt-get install python3") },
  async () => {
    const script = fileURLToPath(new URL("./imaplib_newer.py", import.meta.url));
    const run = await runChild(python!, [script, String(server.port), server.user, server.password], {
      timeoutMs: 30_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /ok search utf8 string\nok logout/);
  },
);
