/**
 * mbsync (Debian isync) on two computers that share one store (issue 17). Each pulls the mailbox,
 * then both push new mail written offline at the same moment while a third client APPENDs on one of
 * them, so the computers hand out the same UIDs. mbsync keeps the UIDs APPENDUID reports; a UID
 * that clashed comes back to it as an expunge plus a new message. Every run must complete without
 * "UIDVALIDITY changed" and without a manual step, and both Maildirs must end with every message
 * exactly once.
 */
import { mbsyncRc } from "../support/mbsyncRc.ts";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { findExecutable, skipUnless } from "../support/peers.ts";
import { withLatency } from "../support/latencyStore.ts";
import { startTestServer, type TestServer } from "../support/testServer.ts";
import { imapflowClient } from "../support/imapflowClient.ts";
import { runChild } from "../support/runChild.ts";

const mbsync = findExecutable("mbsync");
const skip = skipUnless(mbsync !== undefined, "mbsync", "apt-get install isync");
const BEFORE = 20;
const OFFLINE = 15;

let store: Store;
let servers: TestServer[] = [];
let dir: string;

function rc(name: string, server: TestServer): string {
  const home = join(dir, name);
  return mbsyncRc({
    name: "test",
    port: server.port,
    user: server.user,
    password: server.password,
    home,
    patterns: ["INBOX"],
    sync: "All",
    expunge: "Both",
  });
}

async function sync(name: string): Promise<string> {
  const run = await runChild(mbsync!, ["-c", join(dir, name, "mbsyncrc"), "-V", "test"], {
    timeoutMs: 120_000,
  });
  const out = run.stdout + run.stderr;
  assert.equal(run.status, 0, `mbsync on the ${name} failed:\n${out}`);
  assert.doesNotMatch(out, /UIDVALIDITY[^\n]*chang|change of UIDVALIDITY/i, `mbsync on the ${name}:\n${out}`);
  return out;
}

/** The subjects in a Maildir's INBOX, one entry per file. */
function subjects(name: string): string[] {
  const out: string[] = [];
  for (const sub of ["cur", "new"]) {
    const folder = join(dir, name, "mail/INBOX", sub);
    for (const f of readdirSync(folder)) {
      out.push(/^Subject: (.*)$/m.exec(readFileSync(join(folder, f), "utf8"))![1]!.trim());
    }
  }
  return out.sort();
}

function writeOffline(name: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const subject = `offline on the ${name} ${i}`;
    writeFileSync(
      join(dir, name, "mail/INBOX/new", `${Date.now()}.${name}${i}.host`),
      `From: alice@example.org\r\nTo: bob@example.org\r\nSubject: ${subject}\r\nMessage-ID: <${name}${i}@example.org>\r\n\r\nWritten on the ${name}.\r\n`,
    );
  }
}

before(async () => {
  if (skip) return;
  store = withLatency(memoryStore());
  servers = [await startTestServer({ store }), await startTestServer({ store, joinExisting: true })];
  dir = mkdtempSync(join(tmpdir(), "aerogramme-mbsync-clash-"));
  for (const [i, name] of ["laptop", "desktop"].entries()) {
    mkdirSync(join(dir, name, "state"), { recursive: true });
    mkdirSync(join(dir, name, "mail"), { recursive: true });
    writeFileSync(join(dir, name, "mbsyncrc"), rc(name, servers[i]!), { mode: 0o600 });
  }
  const c = await imapflowClient(servers[0]!);
  for (let i = 0; i < BEFORE; i++) {
    await c.append(
      "INBOX",
      `From: s@example.org\r\nSubject: before ${i}\r\nMessage-ID: <b${i}@example.org>\r\n\r\nx\r\n`,
    );
  }
  await c.logout();
});

after(async () => {
  if (skip) return;
  for (const s of servers) await s.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

test(
  "mbsync (needs isync) on two computers pushing at once: clashing UIDs come back renumbered, UIDVALIDITY never changes",
  { skip, timeout: 300_000 },
  async () => {
    await sync("laptop");
    await sync("desktop");
    assert.equal(subjects("laptop").length, BEFORE);
    writeOffline("laptop", OFFLINE);
    writeOffline("desktop", OFFLINE);
    const other = await imapflowClient(servers[1]!);
    const appending = (async () => {
      for (let i = 0; i < OFFLINE; i++) {
        await other.append(
          "INBOX",
          `From: s@example.org\r\nSubject: during ${i}\r\nMessage-ID: <d${i}@example.org>\r\n\r\ny\r\n`,
        );
      }
    })();
    await Promise.all([sync("laptop"), sync("desktop"), appending]);
    await other.logout();

    // A few more runs: each sees the other's mail and what was renumbered meanwhile (bounded).
    const total = BEFORE + 3 * OFFLINE;
    for (let round = 0; round < 5; round++) {
      await sync("laptop");
      await sync("desktop");
      if (subjects("laptop").length === total && subjects("desktop").length === total) break;
    }
    const want = subjects("laptop");
    assert.equal(want.length, total, "every message on the laptop");
    assert.equal(new Set(want).size, total, "each message once");
    assert.deepEqual(subjects("desktop"), want, "the same messages on the desktop");
    // No message was expunged: every UID above the count was burned by a clash.
    const c = await imapflowClient(servers[0]!);
    const status = await c.status("INBOX", { uidNext: true, messages: true });
    await c.logout();
    assert.ok(status, "STATUS answered");
    const burned = Number(status.uidNext) - 1 - total;
    console.log(
      `# ${burned} UIDs used up by clashes among ${total} messages; mbsync never saw UIDVALIDITY change`,
    );
    assert.ok(burned > 0, "the computers did hand out the same UIDs (else this proves nothing)");
    const quiet = await sync("laptop");
    assert.doesNotMatch(quiet, /far side: \+[1-9]|near side: \+[1-9]/i, quiet);
  },
);
