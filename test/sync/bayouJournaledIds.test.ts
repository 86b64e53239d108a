/**
 * Bayou rule 3 with ids made pending ahead of use (`newIntentId`, `takeIntentId`): an APPEND's op
 * row goes out beside its body and meta, without waiting for a mark write, because its message id
 * was in a durable mark before it was handed out. A kill after the row lands and before the pieces
 * do then leaves the id for the next start to check, as when the push wrote the mark itself.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { randomKey } from "../../src/crypto/aead.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { Bayou, type SyncMark } from "../../src/sync/index.ts";
import { logMachine, MemoryWitness, opRowCount } from "./bayouFixtures.ts";

before(loadSodium);

/** Marks that reach the "disk" (`marks`) only when released while holding: a slow fsync. */
class HeldWitness extends MemoryWitness {
  holding = false;
  private readonly held: (() => void)[] = [];

  override record(path: string, mark: SyncMark): Promise<void> {
    if (!this.holding) return super.record(path, mark);
    return new Promise<void>((resolve) => {
      this.held.push(() => {
        void super.record(path, mark).then(resolve);
      });
    });
  }

  release(): void {
    this.holding = false;
    for (const write of this.held.splice(0)) write();
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function replica(store: ReturnType<typeof memoryStore>, witness: MemoryWitness, ids: () => string) {
  return new Bayou({
    store,
    key: randomKeyOnce(),
    path: "index/test",
    machine: logMachine,
    witness,
    newIntentId: ids,
  });
}

let key: ReturnType<typeof randomKey> | undefined;
const randomKeyOnce = () => (key ??= randomKey());

test("an id is handed out only once a durable mark names it; a push naming it sends its row before its pieces, and a kill then leaves the id for the next start", async () => {
  const store = memoryStore();
  const witness = new HeldWitness();
  let made = 0;
  const first = replica(store, witness, () => `mail-${++made}`);
  await first.sync();

  // The mark write of the lot is slow: no id may be handed out meanwhile.
  witness.holding = true;
  assert.equal(first.takeIntentId(), undefined);
  await tick();
  assert.equal(first.takeIntentId(), undefined, "no id before the mark naming it is durable");
  witness.release();
  let id: string | undefined;
  for (let i = 0; i < 50 && id === undefined; i++) {
    await tick();
    id = first.takeIntentId();
  }
  assert.ok(id, "an id once the mark is durable");
  assert.ok(witness.marks.get("index/test")?.pending?.includes(id), "the durable mark names it");

  // Now every mark write is slow and the pieces never land: the row goes out all the same.
  witness.holding = true;
  let acknowledged = false;
  void first.push(["add"], () => new Promise<void>(() => undefined), [id]).then(() => (acknowledged = true));
  for (let i = 0; i < 50 && (await opRowCount(store)) === 0; i++) await tick();
  assert.equal(await opRowCount(store), 1, "the row went out without waiting for a mark or its pieces");
  assert.equal(acknowledged, false, "not acknowledged before its pieces are stored");

  // Killed here: what is on "disk" is what the next start finds.
  const durable = new MemoryWitness();
  durable.marks.set("index/test", structuredClone(witness.marks.get("index/test")!));
  const second = replica(store, durable, () => `other-${++made}`);
  await second.sync();
  assert.deepEqual(second.state, ["add"]);
  assert.ok(second.interrupted().includes(id), "the next start is told to check the id's pieces");
  first.close();
  second.close();
});

test("the unused rest of a lot, and ids handed out but never pushed, stop being pending at settle", async () => {
  const store = memoryStore();
  const witness = new MemoryWitness();
  let made = 0;
  const b = replica(store, witness, () => `mail-${++made}`);
  await b.sync();
  b.takeIntentId();
  let id: string | undefined;
  for (let i = 0; i < 50 && id === undefined; i++) {
    await tick();
    id = b.takeIntentId();
  }
  assert.ok(id);
  await b.push(["add"], () => Promise.resolve(), [id]);
  const unused = b.takeIntentId();
  assert.ok(unused);
  await b.settle();
  assert.deepEqual(witness.marks.get("index/test")?.pending ?? [], [], "nothing pending after settle");
  b.close();
});

test("rows sent beside a push whose ids are not journaled wait for the mark naming them, even once its pieces are stored", async () => {
  const store = memoryStore();
  const witness = new HeldWitness();
  const b = replica(store, witness, () => "unused");
  await b.sync();
  witness.holding = true;
  const meta = { pk: "meta", sk: "own-id", value: new TextEncoder().encode("meta of own-id") };
  const pushed = b.push(["add"], () => Promise.resolve(), ["own-id"], [meta]);
  for (let i = 0; i < 20; i++) await tick();
  assert.equal(await opRowCount(store), 0, "no row before the mark naming own-id is durable");
  assert.equal(await store.rows.read("meta", "own-id"), null, "nor the row beside it");
  witness.release();
  await pushed;
  assert.equal(await opRowCount(store), 1);
  assert.ok(await store.rows.read("meta", "own-id"));
  b.close();
});

test("a push whose ids are journaled sends the rows beside it in the op row's own batch", async () => {
  const inner = memoryStore();
  const batches: string[][] = [];
  const rows = Object.create(inner.rows) as typeof inner.rows;
  rows.insertBatch = (writes) => {
    batches.push(writes.map((w) => w.pk));
    return inner.rows.insertBatch(writes);
  };
  rows.insert = () => Promise.reject(new Error("no single insert expected"));
  const store = { ...inner, rows };
  let made = 0;
  const b = replica(store, new MemoryWitness(), () => `mail-${++made}`);
  await b.sync();
  b.takeIntentId();
  let id: string | undefined;
  for (let i = 0; i < 50 && id === undefined; i++) {
    await tick();
    id = b.takeIntentId();
  }
  assert.ok(id && b.journaledAll([id]));
  await b.push(["add"], () => Promise.resolve(), [id], [{ pk: "meta", sk: id, value: new Uint8Array(8) }]);
  assert.deepEqual(batches, [["meta", "index/test"]]);
  b.close();
});

test("a lot's mark written while a push is on its way keeps the unpublished flag (the witness writes only the newest queued mark)", async () => {
  const store = memoryStore();
  const calls: SyncMark[] = [];
  const witness = new (class extends HeldWitness {
    override record(path: string, mark: SyncMark): Promise<void> {
      calls.push(structuredClone(mark));
      return super.record(path, mark);
    }
  })();
  const b = replica(store, witness, () => `mail-${calls.length}-${Math.random()}`);
  await b.sync();
  witness.holding = true;
  // The first push of a burst flags the mark and waits for it; the lot's write comes meanwhile.
  const pushed = b.push(["x"]);
  for (let i = 0; i < 20 && calls.length < 2; i++) await tick();
  const before = calls.length;
  assert.equal(b.takeIntentId(), undefined);
  assert.equal(calls.length, before + 1, "the lot's mark write was asked for");
  assert.equal(calls.at(-1)!.unpublished, true, "and it carries the flag");
  witness.release();
  await pushed;
  await b.settle();
  b.close();
});
