/**
 * The local marks' journal (mail/markJournal.ts): records survive a reopen, a torn last record is
 * cut, the file is compacted once it holds mostly superseded records, and the one-file marks of
 * earlier builds are taken in.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFile, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { seal } from "../../src/crypto/aead.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { openMarkBook } from "../../src/mail/localMarks.ts";
import {
  COMPACT_MIN_BYTES,
  JOURNAL_NAME,
  MarkJournal,
  openJournalAhead,
} from "../../src/mail/markJournal.ts";
import type { Log } from "../../src/log.ts";
import { tempDirs } from "../support/tempDirs.ts";

before(async () => {
  await loadSodium();
});
const tempDir = tempDirs("agl-journal-");

const lines: string[] = [];
const log: Log = (level, message) => lines.push(`${level} ${message}`);
const id = (n: number) => n.toString(16).padStart(32, "0");
const body = (n: number, size = 300) => new Uint8Array(size).fill(n & 0xff);

test("records survive a reopen; a torn last record is cut and the next append follows the whole ones", async () => {
  const dir = await tempDir();
  const journal = await MarkJournal.open(dir, log);
  await Promise.all([journal.write(id(1), body(1)), journal.write(id(2), body(2))]);
  await journal.write(id(1), body(3));
  await journal.write(id(2), null);
  await journal.close();
  const whole = (await stat(join(dir, JOURNAL_NAME))).size;
  // A crash in the middle of an append: a header and part of a record.
  await appendFile(join(dir, JOURNAL_NAME), Buffer.from([0, 0, 1, 44, 1, 2, 3, 4, 1, 9, 9]));

  const reopened = await MarkJournal.open(dir, log);
  assert.deepEqual(reopened.get(id(1)), body(3));
  assert.equal(reopened.get(id(2)), null, "a removal masks the older record");
  assert.equal(reopened.get(id(3)), undefined);
  assert.equal((await stat(join(dir, JOURNAL_NAME))).size, whole, "the torn record is cut");
  assert.ok(lines.some((l) => /do not form a whole record/.test(l)));
  await reopened.write(id(3), body(4));
  await reopened.close();
  const third = await MarkJournal.open(dir, log);
  assert.deepEqual(third.get(id(3)), body(4));
  assert.deepEqual(third.get(id(1)), body(3));
  await third.close();
});

test("a journal of mostly superseded records is compacted to the newest of each, which a reopen reads", async () => {
  const dir = await tempDir();
  const journal = await MarkJournal.open(dir, log);
  const size = 4096;
  const rounds = Math.ceil((2 * COMPACT_MIN_BYTES) / (3 * size));
  for (let n = 0; n < rounds; n++) {
    await Promise.all([0, 1, 2].map((k) => journal.write(id(k), body(n + k, size))));
  }
  await journal.write(id(1), null);
  const { file } = journal.sizes();
  const written = rounds * 3 * (size + 25);
  assert.ok(file < COMPACT_MIN_BYTES + 3 * (size + 25), `compacted: ${file} bytes after ${written} written`);
  await journal.close();
  const reopened = await MarkJournal.open(dir, log);
  assert.deepEqual(reopened.get(id(0)), body(rounds - 1, size));
  assert.equal(reopened.get(id(1)) ?? null, null);
  assert.deepEqual(reopened.get(id(2)), body(rounds + 1, size));
  await reopened.close();
  assert.deepEqual((await readdir(dir)).sort(), [JOURNAL_NAME], "no temp file left");
});

test("the one-file marks of an earlier build are taken into the journal and removed", async () => {
  const dir = await tempDir();
  const key = new Uint8Array(32).fill(5);
  const account = join(dir, "acct");
  await mkdir(account, { recursive: true, mode: 0o700 });
  // As localMarks.ts wrote them before the journal: <sha256(path)[0..32]>.mark, sealed and bound to the path.
  const path = "index/legacy";
  const name = createHash("sha256").update(path).digest("hex").slice(0, 32);
  const value = { unfolded: ["00000000000100000000000000aa"] };
  await writeFile(
    join(account, `${name}.mark`),
    seal(key, new TextEncoder().encode(JSON.stringify(value)), { purpose: "local-mark", path }),
    { mode: 0o600 },
  );
  const book = openMarkBook({ marksDir: dir, key, accountName: "acct", log });
  assert.deepEqual(await book.load(path), value);
  assert.deepEqual(await readdir(account), [JOURNAL_NAME]);
  await book.save(path, { unfolded: [] });
  assert.deepEqual(await book.load(path), { unfolded: [] });
});

test("the one account's journal is opened ahead of the unlock and handed to its mark book; two accounts' are not", async () => {
  const marksDir = await tempDir();
  const dir = join(marksDir, "ac90df3ff1fcaf6183684831");
  await mkdir(dir);
  const first = await MarkJournal.open(dir, log);
  await first.write(id(1), body(1));
  await first.close();
  // A torn tail: each open of the file says so in the log, which tells when it was opened.
  const tear = () => appendFile(join(dir, JOURNAL_NAME), Buffer.from([0, 0, 1, 44, 1]));
  const opens = () => lines.filter((l) => l.includes(dir) && /do not form a whole record/.test(l)).length;

  await tear();
  await openJournalAhead(marksDir, log);
  assert.equal(opens(), 1, "opened ahead, before any mark book asked");
  const ahead = await MarkJournal.shared(dir, log);
  assert.equal(opens(), 1, "the mark book's open takes the journal opened ahead");
  assert.deepEqual(ahead.get(id(1)), body(1));
  await ahead.close();

  // Two folders: which is the account's is known only from its keys, after Argon2id.
  const other = join(marksDir, "0123456789abcdef01234567");
  await mkdir(other);
  await (await MarkJournal.open(other, log)).close();
  await tear();
  await openJournalAhead(marksDir, log);
  assert.equal(opens(), 1, "nothing opened ahead");
  await (await MarkJournal.shared(dir, log)).close();
  assert.equal(opens(), 2);

  // A folder without a journal (a first login on this computer) is left to the mark book.
  const empty = await tempDir();
  await mkdir(join(empty, "ac90df3ff1fcaf6183684831"));
  await openJournalAhead(empty, log);
  await assert.rejects(stat(join(empty, "ac90df3ff1fcaf6183684831", JOURNAL_NAME)), { code: "ENOENT" });
});
