/**
 * startDaemon in this process, on an embedded store in a temp home: everything `start` serves is
 * wired by it, and close (or a failed start) leaves nothing listening and no file behind but the
 * home's own (the hint of INBOX's id, config/inboxHint.ts).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { callControl } from "../../src/cli/control/controlClient.ts";
import { homePaths, type HomePaths } from "../../src/config/homePaths.ts";
import { DEFAULT_SETTINGS, type Settings } from "../../src/config/settingsSchema.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { startDaemon } from "../../src/daemon/daemon.ts";
import type { ServerStatus } from "../../src/daemon/control/protocol.ts";
import { NotFound } from "../../src/errors.ts";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { readInboxHint } from "../../src/config/inboxHint.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import { RawImap } from "../support/rawImap.ts";

const homes: string[] = [];
after(async () => {
  for (const dir of homes) await rm(dir, { recursive: true, force: true });
});

async function tempHome(): Promise<HomePaths> {
  const dir = await mkdtemp(join(tmpdir(), "agl-daemon-"));
  homes.push(dir);
  return homePaths({ AEROGRAMME_LOCAL_HOME: dir });
}

const settings: Settings = { ...DEFAULT_SETTINGS, backend: "embedded", user: "alice" };

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

test("serves IMAP, answers on the control socket, writes the run file; close undoes all of it", async () => {
  const paths = await tempHome();
  const store = await openEmbeddedStore(paths.defaultDataDir);
  await (await createAccount(store, { user: "alice", password: "pw", kdf: TEST_KDF })).close();
  await store.close();
  const logs: string[] = [];
  const daemon = await startDaemon({
    paths,
    settings,
    imap: { host: "127.0.0.1", port: 0 },
    log: (level, message) => logs.push(`${level} ${message}`),
  });
  let closed = false;
  try {
    assert.equal(daemon.imap.host, "127.0.0.1");
    assert.ok(daemon.imap.port > 0);
    assert.equal(daemon.imap.starttls, false);
    const status = (await callControl(paths, { op: "status" }, 5_000)) as ServerStatus;
    assert.deepEqual(
      [status.pid, status.imap, status.storage.reachable, status.backend],
      [process.pid, daemon.imap, true, `embedded, folder ${paths.defaultDataDir}`],
    );
    const runFile = JSON.parse(await readFile(paths.runFile, "utf8")) as { pid: number; imap: unknown };
    assert.deepEqual(
      [runFile.pid, runFile.imap],
      [process.pid, { host: "127.0.0.1", port: daemon.imap.port }],
    );

    const imap = await RawImap.connect(daemon.imap.port);
    try {
      assert.match(await imap.readLine(), /^\* OK/);
      assert.match((await imap.command("LOGIN alice pw")).at(-1)!, /^\S+ OK/);
    } finally {
      imap.close();
    }
    // The first login starts the incoming mail mover.
    const deadline = Date.now() + 10_000;
    while (!logs.some((l) => l.includes("incoming mail mover started")) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      logs.some((l) => l.includes("incoming mail mover started")),
      logs.join("\n"),
    );

    // The first unlock read the sealed list: INBOX's id is kept as the next start's hint.
    while ((await readInboxHint(paths)) === undefined && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const hint = await readInboxHint(paths);

    await daemon.close();
    closed = true;
    const reopened = await openEmbeddedStore(paths.defaultDataDir);
    try {
      const account = await openAccount(reopened, "pw");
      const inbox = (await account.listMailboxes()).mailboxes.find((m) => m.name === "INBOX");
      await account.close();
      assert.equal(hint, inbox?.id, "the hint names INBOX");
    } finally {
      await reopened.close();
    }
    assert.ok(!existsSync(paths.runFile), "run file removed");
    assert.ok(!existsSync(paths.controlSocket), "control socket removed");
    assert.ok(await refused(daemon.imap.port), "IMAP no longer listens");
    assert.ok(!logs.some((l) => l.startsWith("error")), logs.join("\n"));
  } finally {
    if (!closed) await daemon.close();
  }
});

test("a store without an account is NotFound, and the failed start leaves nothing behind", async () => {
  const paths = await tempHome();
  await assert.rejects(
    startDaemon({ paths, settings, imap: { host: "127.0.0.1", port: 0 }, log: () => {} }),
    (err) => err instanceof NotFound && /holds no account.*aerogramme-local init/.test(err.message),
  );
  assert.ok(!existsSync(paths.runFile));
  assert.ok(!existsSync(paths.controlSocket));
  // The store was closed: it opens again (an embedded store has one opener at a time, even in-process).
  const again = await openEmbeddedStore(paths.defaultDataDir);
  await again.close();
});
