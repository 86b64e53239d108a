/**
 * What padding to size buckets costs in storage (issue 12, "what the host learns"). Not a test: run
 * it by hand and read the table (docs/crypto.md, "Size buckets", quotes it).
 *
 *   node --import tsx bench/paddingOverhead.ts [messages=1000]
 *
 * Imports the bench corpus (bench/corpus.ts, the Maildir it writes) into an account on the memory
 * store, writes INBOX's checkpoint the way a computer whose clock is two minutes ahead would, then
 * reads back every stored object and compares its size with what it would be unpadded: sealed
 * objects open to their plaintext (+ AEAD_OVERHEAD unpadded), bodies from their meta's physical size.
 * For comparison it also prints what Padmé (Nikitin et al., PETS 2019) would have cost on the
 * sealed objects.
 */
import { join } from "node:path";
import { AEAD_OVERHEAD, open } from "../src/crypto/aead.ts";
import { CHUNK_BYTES, STREAM_HEADER_BYTES } from "../src/crypto/chunkedStream.ts";
import { TEST_KDF } from "../src/crypto/passwordKey.ts";
import { createAccount, type Account } from "../src/mail/account.ts";
import { importMail } from "../src/mail/importExport/index.ts";
import { uidIndexMachine } from "../src/mail/mailbox.ts";
import { decodeMeta } from "../src/mail/metaCodec.ts";
import { memoryStore } from "../src/storage/memoryStore.ts";
import type { Store } from "../src/storage/types.ts";
import { Bayou } from "../src/sync/index.ts";
import { ensureCorpus } from "./corpus.ts";

/** Text mail without attachments, apart: there meta is a larger share of what is stored. */
const SMALL = 16 * 1024;

interface Tally {
  count: number;
  exact: number;
  stored: number;
  padme: number;
}

const count = Number(process.argv[2] ?? 1000);
const corpus = await ensureCorpus(count, { log: (line) => console.log(line) });
const store = memoryStore();
const account = await createAccount(store, { user: "bench", password: "bench padding", kdf: TEST_KDF });
const began = performance.now();
const summary = await importMail(account, { path: join(corpus.dir, "Maildir"), format: "maildir" });
console.log(`imported ${summary.messages} messages in ${((performance.now() - began) / 1000).toFixed(1)} s`);
await writeCheckpoint(account, store);

const tallies = new Map<string, Tally>();
const add = (kind: string, exact: number, stored: number, sealed = true) => {
  const t = tallies.get(kind) ?? { count: 0, exact: 0, stored: 0, padme: 0 };
  t.count += 1;
  t.exact += exact;
  t.stored += stored;
  t.padme += sealed ? padme(exact - AEAD_OVERHEAD) + AEAD_OVERHEAD : stored;
  tallies.set(kind, t);
};

const metaKey = account.subkey("message-meta");
for (const row of await allRows(store, "meta")) {
  const value = row.values[0]!;
  const plain = open(metaKey, value, { purpose: "message-meta", path: `meta/${row.sk}` });
  add("meta rows", plain.length + AEAD_OVERHEAD, value.length);
  const size = decodeMeta(plain).physicalSize;
  const body = await store.blobs.head(`mail/${row.sk}`);
  add("bodies (padded before this change)", streamSize(size), body!.size, false);
  if (size < SMALL) {
    add(`small messages: meta rows`, plain.length + AEAD_OVERHEAD, value.length);
    add(`small messages: bodies`, streamSize(size), body!.size, false);
  }
}
const indexKey = account.subkey("uid-index");
for (const { id } of (await account.listMailboxes()).mailboxes) {
  for (const row of await allRows(store, `index/${id}`)) {
    if (row.sk === "watch") continue;
    const value = row.values[0]!;
    const plain = open(indexKey, value, { purpose: "bayou-op", path: `index/${id}/${row.sk}` });
    add("op rows (import: 100 adds a row)", plain.length + AEAD_OVERHEAD, value.length);
  }
  for (const key of (await store.blobs.list(`index/${id}/checkpoint/`)).keys) {
    const value = (await store.blobs.get(key))!;
    const plain = open(indexKey, value, { purpose: "bayou-checkpoint", path: key });
    add("checkpoints", plain.length + AEAD_OVERHEAD, value.length);
  }
}
const list = (await store.rows.read("mailboxes", "list"))!.values[0]!;
const listPlain = open(account.subkey("mailbox-list"), list, {
  purpose: "mailbox-list",
  path: "mailboxes/list",
});
add("mailbox list", listPlain.length + AEAD_OVERHEAD, list.length);
await account.close();

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)} %`;
const total = { exact: 0, stored: 0, padme: 0 };
console.log(`\n${count} messages, ${(corpus.totalBytes / 1e6).toFixed(1)} MB of mail\n`);
console.log("| objects | count | unpadded | padded (buckets) | overhead | Padmé would cost |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const [kind, t] of tallies) {
  if (kind.startsWith("small")) continue;
  total.exact += t.exact;
  total.stored += t.stored;
  total.padme += t.padme;
  console.log(
    `| ${kind} | ${t.count} | ${mb(t.exact)} | ${mb(t.stored)} | ${pct(t.stored - t.exact, t.exact)} | ${pct(t.padme - t.exact, t.exact)} |`,
  );
}
const sealedExact = total.exact - tallies.get("bodies (padded before this change)")!.exact;
const sealedStored = total.stored - tallies.get("bodies (padded before this change)")!.stored;
for (const [kind, t] of tallies) {
  if (!kind.startsWith("small")) continue;
  console.log(
    `| ${kind} (under ${SMALL / 1024} KiB) | ${t.count} | ${mb(t.exact)} | ${mb(t.stored)} | ${pct(t.stored - t.exact, t.exact)} | ${pct(t.padme - t.exact, t.exact)} |`,
  );
}
const smallMeta = tallies.get("small messages: meta rows")!;
const smallBodies = tallies.get("small messages: bodies")!;
console.log(
  `\nsmall messages: meta padding adds ${((smallMeta.stored - smallMeta.exact) / smallMeta.count).toFixed(0)} B a message, ` +
    `${pct(smallMeta.stored - smallMeta.exact, smallMeta.exact + smallBodies.stored)} to what they stored before`,
);
console.log(
  `sealed objects: ${mb(sealedExact)} -> ${mb(sealedStored)} (${pct(sealedStored - sealedExact, sealedExact)}); ` +
    `all stored: ${mb(total.exact)} -> ${mb(total.stored)} (${pct(total.stored - total.exact, total.exact)}); ` +
    `this change adds ${pct(sealedStored - sealedExact, total.stored - (sealedStored - sealedExact))} to what was stored before it`,
);

/** What a computer whose clock is ahead writes: a checkpoint folding every op row of INBOX. */
async function writeCheckpoint(acc: Account, st: Store): Promise<void> {
  const inbox = (await acc.listMailboxes()).mailboxes.find((m) => m.name === "INBOX")!;
  const ahead = new Bayou({
    store: st,
    key: acc.subkey("uid-index"),
    path: `index/${inbox.id}`,
    machine: uidIndexMachine(inbox.uidvalidity),
    clock: () => Date.now() + 120_000,
  });
  await ahead.checkpoint();
  ahead.close();
}

async function allRows(st: Store, pk: string) {
  const out = [];
  let start: string | undefined;
  do {
    const page = await st.rows.readRange(pk, { start, limit: 1000 });
    out.push(...page.items);
    start = page.nextStart;
  } while (start);
  return out;
}

/** A body's sealed size had it not been padded. */
function streamSize(n: number): number {
  return STREAM_HEADER_BYTES + n + 16 * Math.max(1, Math.ceil(n / CHUNK_BYTES));
}

/** Padmé: keep the top floor(log2 E) + 1 bits of the length's exponent E, round up the rest. */
function padme(n: number): number {
  const length = n + 1; // the padding marker
  if (length < 2) return length;
  const e = Math.floor(Math.log2(length));
  const s = Math.floor(Math.log2(e)) + 1;
  const lastBits = e - s;
  const mask = 2 ** lastBits - 1;
  return Math.floor((length + mask) / (mask + 1)) * (mask + 1);
}

function mb(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}
