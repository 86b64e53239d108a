/**
 * A delivery-only home on the mail host (issue 13): `init --delivery-only` pins the account's
 * public key checked against what the user brought from their own computer, `lmtp` serves from
 * that home against a real Garage bucket, and the account's own home reads what it delivered over
 * IMAP. The delivery-only home's folder is then tried, every byte of it, as the key or the password
 * that would open a delivered message: nothing there opens one.
 */
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "../support/imapflowClient.ts";
import { loadSodium, publicKeyOf, boxKeypair } from "../../src/crypto/sodium.ts";
import { AuthFailed } from "../../src/errors.ts";
import { openAccount } from "../../src/mail/account.ts";
import { INCOMING_PREFIX, openDelivery, sealDelivery } from "../../src/mail/incoming/deliveryBox.ts";
import { openStore } from "../../src/storage/openStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { skipUnless } from "../support/peers.ts";
import { LmtpWire } from "../support/lmtpWire.ts";
import {
  runCli,
  startLmtp,
  startServer,
  tempHome,
  type RunningLmtp,
  type RunningServer,
} from "./cliHarness.ts";
import { garageBinary, garageInitFlags, startGarage, type GaragePeer } from "./garagePeer.ts";

const skip = skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage");
const PASSWORD = "a delivery-only test password 4417";

/** Every 32-byte window of `bytes`, and of the hex and base64 runs written in it. */
function keyCandidates(bytes: Buffer): Buffer[] {
  const sources = [bytes];
  const text = bytes.toString("latin1");
  for (const m of text.matchAll(/[0-9a-fA-F]{64,}/g))
    sources.push(Buffer.from(m[0].slice(0, m[0].length & ~1), "hex"));
  for (const m of text.matchAll(/[A-Za-z0-9+/_-]{43,}={0,2}/g)) sources.push(Buffer.from(m[0], "base64"));
  const out: Buffer[] = [];
  for (const s of sources) for (let i = 0; i + 32 <= s.length; i++) out.push(s.subarray(i, i + 32));
  return out;
}

/** How many of `candidates` open `sealed` as the account's X25519 secret key (or master key). */
function opening(candidates: Buffer[], key: string, sealed: Uint8Array): number {
  let opened = 0;
  for (const c of candidates) {
    const keys = { epoch: 0, masterKey: c, secretKey: c, publicKey: publicKeyOf(c) };
    try {
      openDelivery({ ...keys, previous: [], retiredPublicKeys: [], accountName: "x" }, key, sealed);
      opened++;
    } catch {
      // the expected outcome: this candidate is not the key
    }
  }
  return opened;
}

async function filesUnder(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, bytes: await readFile(path) });
  }
  return out;
}

function message(subject: string): string {
  return `From: sender@example.org\nTo: alice@example.org\nSubject: ${subject}\nMessage-ID: <${subject.replace(/\W/g, "")}@example.org>\n\nbody of ${subject}\n`;
}

describe("a delivery-only home on a real Garage", { skip }, () => {
  let garage: GaragePeer;
  let store: Store;
  const homes: { dir: string; cleanup: () => Promise<void> }[] = [];
  const home = async () => {
    const h = await tempHome();
    homes.push(h);
    return h.dir;
  };
  let account: string;
  let mailHost: string;
  let lmtp: RunningLmtp | undefined;
  let server: RunningServer | undefined;

  const backendFlags = () => garageInitFlags(garage, garage);

  before(async () => {
    await loadSodium();
    garage = await startGarage();
    store = await openStore(
      {
        backend: "garage",
        s3Endpoint: garage.s3Endpoint,
        k2vEndpoint: garage.k2vEndpoint,
        region: garage.region,
        bucket: garage.bucket,
      },
      { accessKeyId: garage.accessKeyId, secretAccessKey: garage.secretAccessKey },
    );
    account = await home();
    const init = await runCli(["init", ...backendFlags(), "--user", "alice", "--password-stdin"], {
      home: account,
      input: `${garage.secretAccessKey}\n${PASSWORD}\n`,
    });
    assert.equal(init.code, 0, init.stderr);
    mailHost = await home();
  });
  after(async () => {
    lmtp?.child.kill("SIGKILL");
    await server?.stop();
    await store?.close();
    for (const h of homes) await h.cleanup();
    await garage?.stop();
  });

  test("init --delivery-only pins the key only when it matches the file or the fingerprint; start refuses it", async () => {
    const status = await runCli(["status", "--json"], { home: account });
    const fingerprint = (JSON.parse(status.stdout) as { deliveryKey: { fingerprint: string } }).deliveryKey
      .fingerprint;
    assert.match(fingerprint, /^([0-9a-f]{4}-){7}[0-9a-f]{4}$/);
    const keyFile = join(account, "delivery-key.txt");
    const exported = await runCli(["export-delivery-key", keyFile], { home: account });
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok((await readFile(keyFile, "utf8")).includes(`fingerprint ${fingerprint}`));

    // A fingerprint that is not the key root's: nothing set up (8), nothing saved.
    const wrongHome = await home();
    const wrong = fingerprint.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const refused = await runCli(
      ["init", "--delivery-only", ...backendFlags(), "--user", "alice", "--fingerprint", wrong],
      {
        home: wrongHome,
        input: `${garage.secretAccessKey}\n`,
      },
    );
    assert.equal(refused.code, 8, refused.stderr);
    assert.match(refused.stderr, /not the one expected/);
    assert.equal(
      (await readdir(wrongHome)).filter((f) => f === "settings.json" || f === "publicKey").length,
      0,
    );

    // The fingerprint as copied by hand (upper case, spaces) sets a home up.
    const typed = await runCli(
      [
        "init",
        "--delivery-only",
        ...backendFlags(),
        "--user",
        "alice",
        "--fingerprint",
        fingerprint.toUpperCase().replace(/-/g, " "),
      ],
      { home: await home(), input: `${garage.secretAccessKey}\n` },
    );
    assert.equal(typed.code, 0, typed.stderr);

    // The mail host of the tests below: from the exported file (its user name comes with it).
    const made = await runCli(["init", "--delivery-only", ...backendFlags(), "--delivery-key", keyFile], {
      home: mailHost,
      input: `${garage.secretAccessKey}\n`,
    });
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, new RegExp(`fingerprint ${fingerprint}`));
    const start = await runCli(["start", "--imap-port", "0"], { home: mailHost });
    assert.equal(start.code, 2, start.stderr);
    assert.match(start.stderr, /delivery-only.*lmtp --port N/);
    for (const args of [
      ["passwd", "rekey", "--password-stdin"],
      ["passwd", "add", "--password-stdin"],
      ["status", "--password-stdin"],
    ]) {
      const r = await runCli(args, { home: mailHost, input: `${PASSWORD}\nanother password 9912\n` });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /delivery-only/);
    }
    assert.deepEqual((await readdir(mailHost)).sort(), ["credentials.json", "publicKey", "settings.json"]);
    const withPassword = await runCli(
      ["init", "--delivery-only", ...backendFlags(), "--fingerprint", fingerprint, "--password-stdin"],
      {
        home: await home(),
        input: `${garage.secretAccessKey}\n${PASSWORD}\n`,
      },
    );
    assert.equal(withPassword.code, 2, "a delivery-only home takes no password");
  });

  test("lmtp from the delivery-only home delivers; IMAP on the account's home reads it; the home opens nothing", async () => {
    lmtp = await startLmtp(mailHost);
    const { wire } = await LmtpWire.open(lmtp.port);
    try {
      await wire.command("LHLO mta.example.org");
      assert.equal((await wire.command("MAIL FROM:<sender@example.org>"))[0]!.code, 250);
      assert.equal((await wire.command("RCPT TO:<alice@example.org>"))[0]!.code, 250);
      assert.equal((await wire.command("RCPT TO:<bob@example.org>"))[0]!.code, 550);
      const replies = await wire.data(message("over lmtp"), 1);
      assert.deepEqual(
        replies.map((r) => r.code),
        [250],
        JSON.stringify(replies),
      );
    } finally {
      wire.close();
    }
    const delivered = await runCli(["deliver"], { home: mailHost, input: message("through deliver") });
    assert.equal(delivered.code, 0, delivered.stderr);

    // The queued deliveries as the storage host holds them, before the account's server files them.
    const listing = await store.blobs.list(INCOMING_PREFIX);
    assert.equal(listing.keys.length, 2, JSON.stringify(listing));
    const queued = await Promise.all(
      listing.keys.map(async (k) => ({ key: k, sealed: (await store.blobs.get(k))! })),
    );

    // Every byte of the delivery-only home, as a key and (each line and JSON value) as a password.
    const files = await filesUnder(mailHost);
    assert.deepEqual(files.map((f) => f.path.slice(mailHost.length + 1)).sort(), [
      "credentials.json",
      "publicKey",
      "settings.json",
    ]);
    const candidates = files.flatMap((f) => keyCandidates(f.bytes));
    assert.ok(candidates.length > 100, `${candidates.length} candidate keys`);
    for (const q of queued)
      assert.equal(opening(candidates, q.key, q.sealed), 0, `${q.key} opened with a byte run of the home`);
    // The same search finds a key that is there: a delivery sealed to a key pair whose secret key
    // is written (hex) into a copy of the home's files opens.
    const control = boxKeypair();
    const controlSealed = sealDelivery(control.publicKey, "incoming/control", {
      mailbox: "INBOX",
      internalDate: 1,
      raw: Buffer.from("x: y\n\nz"),
    });
    const planted = Buffer.concat([
      files[0]!.bytes,
      Buffer.from(`\nkey ${Buffer.from(control.secretKey).toString("hex")}\n`),
    ]);
    assert.equal(
      opening(keyCandidates(planted), "incoming/control", controlSealed) > 0,
      true,
      "the search finds a planted key",
    );
    const passwords = new Set<string>();
    for (const f of files)
      for (const line of f.bytes.toString("utf8").split("\n")) {
        const t = line.trim();
        if (t) passwords.add(t);
        for (const m of t.matchAll(/"([^"]*)"/g)) passwords.add(m[1]!);
      }
    assert.ok(passwords.size <= 80, `${passwords.size} candidate passwords`);
    for (const p of passwords)
      await assert.rejects(
        openAccount(store, p),
        AuthFailed,
        `the home's text "${p.slice(0, 20)}..." opened the account`,
      );

    // The account's own server files both and a client reads them.
    server = await startServer(["--imap-port", "0"], { home: account });
    const client = new ImapFlow({
      host: server.host,
      port: server.port,
      secure: false,
      auth: { user: "alice", pass: PASSWORD },
      logger: false,
    });
    await client.connect();
    try {
      const deadline = Date.now() + 30_000;
      let count = 0;
      while (Date.now() < deadline) {
        const st = await client.status("INBOX", { messages: true });
        count = st ? (st.messages ?? 0) : 0;
        if (count >= 2) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(count, 2);
      const lock = await client.getMailboxLock("INBOX");
      try {
        const bodies: string[] = [];
        for await (const m of client.fetch("1:*", { source: true })) bodies.push(m.source!.toString());
        assert.ok(
          bodies.some(
            (b) => b.includes("body of over lmtp") && b.startsWith("Return-Path: <sender@example.org>"),
          ),
        );
        assert.ok(bodies.some((b) => b.includes("body of through deliver")));
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
  });

  test("lmtp answers 451 while storage is down or the key root disagrees with the pin, 250 once both are right", async () => {
    assert.ok(lmtp, "the lmtp process of the test above");
    const sendOne = async (subject: string) => {
      const { wire } = await LmtpWire.open(lmtp!.port);
      try {
        await wire.command("LHLO mta.example.org");
        await wire.command("MAIL FROM:<sender@example.org>");
        assert.equal((await wire.command("RCPT TO:<alice@example.org>"))[0]!.code, 250);
        return (await wire.data(message(subject), 1))[0]!;
      } finally {
        wire.close();
      }
    };
    await garage.stopNode(0);
    try {
      const down = await sendOne("while storage is down");
      assert.equal(down.code, 451, down.text);
    } finally {
      await garage.startNode(0);
    }
    // A pin that is not the key root's (as after a rekey elsewhere): 451, nothing queued.
    const pinFile = join(mailHost, "publicKey");
    const pin = await readFile(pinFile, "utf8");
    const other = Buffer.from(boxKeypair().publicKey).toString("hex");
    await writeFile(pinFile, `${other}\n`);
    const before = (await store.blobs.list(INCOMING_PREFIX)).keys.length;
    const swapped = await sendOne("to a pin storage does not hold");
    assert.equal(swapped.code, 451, swapped.text);
    assert.equal((await store.blobs.list(INCOMING_PREFIX)).keys.length, before, "nothing queued");
    // Set up again on the same home with the fingerprint: the right key is pinned back.
    const status = await runCli(["status", "--json"], { home: account });
    const fingerprint = (JSON.parse(status.stdout) as { deliveryKey: { fingerprint: string } }).deliveryKey
      .fingerprint;
    const again = await runCli(
      ["init", "--delivery-only", ...backendFlags(), "--user", "alice", "--fingerprint", fingerprint],
      {
        home: mailHost,
        input: `${garage.secretAccessKey}\n`,
      },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await readFile(pinFile, "utf8"), pin);
    const back = await sendOne("once storage and pin agree");
    assert.equal(back.code, 250, back.text);
  });
});
