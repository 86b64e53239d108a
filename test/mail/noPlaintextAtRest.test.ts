/**
 * Issue 2 acceptance: nothing readable at rest. 200 messages with distinctive words in subjects,
 * bodies, addresses, mailbox names and flags go into an embedded store; then every file under its
 * folder is scanned for those words in UTF-8, base64 (3 alignments), quoted-printable and UTF-16
 * (the words are ASCII letters, so their quoted-printable form is the plain one). The same scan
 * covers the local cache folder of a second computer after its background fill copied everything.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, openAccount } from "../../src/mail/account.ts";
import { CacheFill } from "../../src/mail/cacheFill.ts";
import { BODY_ROW_PK, CACHEABLE } from "../../src/mail/messageLayout.ts";
import { withLocalCache } from "../../src/storage/cache/index.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import { scanBytes, type Finding } from "../support/plaintextScan.ts";
import {
  ADDRESS_WORDS,
  BODY_WORDS,
  FLAG_WORDS,
  MAILBOX_WORDS,
  SUBJECT_WORDS,
  sampleMessage,
} from "./mailFixtures.ts";

const WORDS = [...SUBJECT_WORDS, ...BODY_WORDS, ...ADDRESS_WORDS, ...MAILBOX_WORDS, ...FLAG_WORDS];
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-plaintext-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function filesUnder(folder: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

async function scanFolder(folder: string): Promise<{ files: number; bytes: number; findings: Finding[] }> {
  const findings: Finding[] = [];
  let bytes = 0;
  const files = await filesUnder(folder);
  for (const file of files) {
    const content = await readFile(file);
    bytes += content.length;
    findings.push(...scanBytes(file, content, WORDS));
  }
  return { files: files.length, bytes, findings };
}

test("the scanner finds every word in every encoding in a plaintext control folder", async () => {
  const control = join(dir, "control");
  await rm(control, { recursive: true, force: true });
  await mkdir(control);
  const text = Buffer.from(`${WORDS.join(" ")}\r\n${new TextDecoder().decode(sampleMessage(0))}`, "utf8");
  for (let shift = 0; shift < 3; shift++) {
    await writeFile(
      join(control, `b64-${shift}`),
      Buffer.concat([Buffer.alloc(shift, 0x41), text]).toString("base64"),
    );
  }
  await writeFile(join(control, "utf16le"), Buffer.from(text.toString("utf8"), "utf16le"));
  await writeFile(join(control, "utf16be"), Buffer.from(text.toString("utf8"), "utf16le").swap16());
  await writeFile(join(control, "plain"), text);
  const { findings } = await scanFolder(control);
  const found = (file: string, word: string) =>
    findings.some((f) => f.where.endsWith(file) && f.word === word);
  for (const word of WORDS) {
    for (const file of ["plain", "b64-0", "b64-1", "b64-2", "utf16le", "utf16be"]) {
      assert.ok(found(file, word), `the scanner finds ${word} in ${file}`);
    }
  }
  await rm(control, { recursive: true });
});

test("200 messages, mailboxes and flags leave no readable word anywhere under the embedded store's folder, the search index's or the list view's", async () => {
  const data = join(dir, "data");
  const searchIndexDir = join(dir, "search-index");
  const listViewDir = join(dir, "list-view");
  const store = await openEmbeddedStore(data);
  try {
    const account = await createAccount(store, {
      user: "tester",
      password: "correct horse",
      kdf: TEST_KDF,
      searchIndexDir,
      listViewDir,
      // The list view shared through the store too, 10 UIDs a segment (written below).
      shareListView: true,
      listSegmentSpan: 10,
    });
    const names = [MAILBOX_WORDS[0]!, `${MAILBOX_WORDS[0]}/${MAILBOX_WORDS[1]}`];
    for (const name of names) await account.createMailbox(name);
    const targets = ["INBOX", ...names];
    const byBox = new Map<string, string[]>();
    for (let i = 0; i < 200; i++) {
      const box = targets[i % targets.length]!;
      const mbx = await account.mailbox(box);
      const { mailId } = await mbx.append(
        sampleMessage(i, { bodyLines: i % 20 === 0 ? 2000 : undefined }),
        [],
        Date.now(),
      );
      byBox.set(box, [...(byBox.get(box) ?? []), mailId]);
    }
    for (const [box, ids] of byBox) {
      const mbx = await account.mailbox(box);
      await mbx.setFlags(ids, "add", ["\\Seen", `$${FLAG_WORDS[0]}`]);
      await mbx.setFlags(ids.slice(0, 10), "add", ["\\Flagged"]);
    }
    // The shared list segments, as `import` writes them.
    for (const box of targets) {
      const mbx = await account.mailbox(box);
      await account.messages.sharedList!.fill(mbx);
      assert.ok((await account.messages.sharedList!.share(mbx)) >= 6, `${box}'s list segments written`);
    }
    // Everything is really there before we look for it.
    const inbox = await account.mailbox("INBOX");
    assert.equal(inbox.index.uids.length, byBox.get("INBOX")!.length);
    assert.ok([...inbox.index.byId.values()].every((e) => e.flags.includes(`$${FLAG_WORDS[0]}`)));
    await account.close();
  } finally {
    await store.close();
  }
  const { files, bytes, findings } = await scanFolder(data);
  assert.ok(files > 3 && bytes > 200 * 500, `scanned ${files} files, ${bytes} bytes`);
  assert.deepEqual(findings, [], "no word readable at rest");
  console.log(`# scanned ${files} files, ${bytes} bytes, for ${WORDS.length} words in 8 encodings`);
  // The search index holds every message's decoded text: sealed too.
  const index = await scanFolder(searchIndexDir);
  assert.ok(
    index.bytes > 200 * 300,
    `the search index holds the text: ${index.files} files, ${index.bytes} bytes`,
  );
  assert.deepEqual(index.findings, [], "no word readable in the search index");
  console.log(`# search index: scanned ${index.files} files, ${index.bytes} bytes`);
  // The list view holds every message's header block: sealed too.
  const view = await scanFolder(listViewDir);
  assert.ok(
    view.bytes > 200 * 300,
    `the list view holds the headers: ${view.files} files, ${view.bytes} bytes`,
  );
  assert.deepEqual(view.findings, [], "no word readable in the list view");
});

test("a second computer's local cache folder (filled in the background, index snapshots) holds no readable word", async () => {
  const remoteDir = join(dir, "remote");
  const cacheDir = join(dir, "cache");
  // Large rows, as on Garage: the small bodies are body rows, whose copies the cache keeps as blobs.
  const largeRows = { largeRowBytes: 80 * 1024 };
  const seeded = { ...(await openEmbeddedStore(remoteDir)), ...largeRows };
  const a = await createAccount(seeded, { user: "tester", password: "correct horse", kdf: TEST_KDF });
  await a.createMailbox(MAILBOX_WORDS[0]!);
  for (let i = 0; i < 60; i++) {
    const mbx = await a.mailbox(i % 2 ? "INBOX" : MAILBOX_WORDS[0]!);
    const { mailId } = await mbx.append(
      sampleMessage(i, { bodyLines: i % 20 === 0 ? 2000 : undefined }),
      [],
      Date.now(),
    );
    await mbx.setFlags([mailId], "add", [`$${FLAG_WORDS[0]}`]);
  }
  await a.close();
  await seeded.close();

  const store = await withLocalCache(
    { ...(await openEmbeddedStore(remoteDir)), ...largeRows },
    await openEmbeddedStore(cacheDir),
    CACHEABLE,
  );
  try {
    // The index snapshots live in the cache folder too (`<cacheDir>/index`).
    const b = await openAccount(store, "correct horse", { snapshotsDir: join(cacheDir, "index") });
    const fill = new CacheFill(b, store.localCache);
    await fill.start();
    assert.equal(fill.status().bodiesCached, 60, "every body is in the cache");
    assert.equal(fill.status().metaCached, 60, "every meta row is in the cache");
    const rowCopies = (await store.localCache.rowKeys(BODY_ROW_PK)).length;
    assert.ok(rowCopies > 40 && rowCopies < 60, `${rowCopies} body rows among the bodies cached`);
    await fill.close();
    await b.close();
  } finally {
    await store.close();
  }
  const snapshotFiles = (await filesUnder(join(cacheDir, "index"))).filter((f) => f.endsWith(".snap"));
  assert.equal(snapshotFiles.length, 2, "one index snapshot per mailbox");
  const { files, bytes, findings } = await scanFolder(cacheDir);
  assert.ok(files > 3 && bytes > 60 * 500, `scanned ${files} files, ${bytes} bytes`);
  assert.deepEqual(findings, [], "no word readable in the cache folder");
});
