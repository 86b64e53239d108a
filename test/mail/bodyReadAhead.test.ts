/**
 * A large body streamed in pieces (FETCH BODY[] of a message over 1 MiB) has its next pieces fetched
 * ahead, a few at once, instead of one round trip after another; a read of one part fetches
 * nothing more; a failed piece fails the read of that piece, never the process.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  cachingBodyReader,
  PIECES_AHEAD,
  PIECES_AHEAD_MAX,
  WHOLE_BODY_MAX,
} from "../../src/mail/read/bodyReader.ts";
import type { MessageMeta } from "../../src/mail/metaCodec.ts";
import { MessageStore } from "../../src/mail/messageStore.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import { randomKey } from "../../src/crypto/aead.ts";

const PIECE = 256 * 1024;
const SIZE = 3_700_000;

/** The whole body: byte i is i % 251. */
const BODY = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) BODY[i] = i % 251;

/** A body of SIZE bytes (byte i is i % 251), each range read taking `ms`; counts reads and overlap. */
function slowStore(ms = 10, failAt?: number) {
  const stats = { calls: [] as { start: number; length: number }[], inFlight: 0, maxInFlight: 0 };
  const bodyRange = async (_meta: MessageMeta, start: number, length: number) => {
    stats.calls.push({ start, length });
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    await new Promise((resolve) => setTimeout(resolve, ms));
    stats.inFlight--;
    if (start === failAt) throw new Error(`piece at ${start} is unreadable`);
    const len = Math.max(0, Math.min(length, SIZE - start));
    // Byte i is i % 251: a copy out of one run of the pattern (a function call per byte cost ~1 CPU
    // s in a test:fast run).
    return BODY.slice(start, start + len);
  };
  return { stats, bodyRange };
}

const bigMeta = { size: SIZE, physicalSize: SIZE } as MessageMeta;

/** Reads the whole body in PIECE-sized pieces, as fetchSection.ts streams a literal. */
async function stream(read: ReturnType<typeof cachingBodyReader>["read"]) {
  const out: number[] = [];
  for (let done = 0; done < SIZE;) {
    const n = Math.min(PIECE, SIZE - done);
    const piece = await read(bigMeta, done, n);
    assert.equal(piece.length, n, `piece at ${done}`);
    for (let i = 0; i < n; i += 65_536) out.push(piece[i]!);
    done += n;
  }
  return out;
}

describe("large bodies read in pieces", () => {
  test("a body over 1 MiB streamed in 256 KiB pieces has its next pieces in flight at once, bytes intact", async () => {
    assert.ok(SIZE > WHOLE_BODY_MAX);
    const { stats, bodyRange } = slowStore();
    const sampled = await stream(cachingBodyReader({ bodyRange }).read);
    const expected: number[] = [];
    for (let done = 0; done < SIZE; done += PIECE)
      for (let i = 0; i < Math.min(PIECE, SIZE - done); i += 65_536) expected.push((done + i) % 251);
    assert.deepEqual(sampled, expected);
    assert.ok(stats.maxInFlight > 1, "pieces were read one after another");
    assert.ok(stats.maxInFlight <= PIECES_AHEAD + 1, `${stats.maxInFlight} reads in flight at once`);
    const pieces = Math.ceil(SIZE / PIECE);
    assert.equal(stats.calls.length, pieces, "a piece was read twice, or one past the end");
  });

  test("for a store that wants more reads in flight (a far host), more pieces are fetched ahead, at most PIECES_AHEAD_MAX", async () => {
    for (const [parallelism, most] of [
      [40, 10],
      [64, PIECES_AHEAD_MAX],
      [1000, PIECES_AHEAD_MAX],
    ] as const) {
      const { stats, bodyRange } = slowStore();
      await stream(cachingBodyReader({ bodyRange, readParallelism: () => parallelism }).read);
      // The whole body is 15 pieces: with 16 ahead, every piece is in flight at once.
      assert.equal(stats.maxInFlight, Math.min(most + 1, Math.ceil(SIZE / PIECE)), `${parallelism} wanted`);
      assert.equal(
        stats.calls.length,
        Math.ceil(SIZE / PIECE),
        "a piece was read twice, or one past the end",
      );
    }
  });

  test("a read of one part in the middle of a large body reads that part only", async () => {
    const { stats, bodyRange } = slowStore(1);
    const { read } = cachingBodyReader({ bodyRange });
    const part = await read(bigMeta, 1_000_000, 5_000);
    assert.equal(part[0], 1_000_000 % 251);
    assert.deepEqual(stats.calls, [{ start: 1_000_000, length: 5_000 }]);
  });

  test("a piece fetched ahead that fails makes the read of that piece fail, and nothing else", async () => {
    const { bodyRange } = slowStore(1, 3 * PIECE);
    const { read } = cachingBodyReader({ bodyRange });
    await read(bigMeta, 0, PIECE);
    await read(bigMeta, PIECE, PIECE);
    await read(bigMeta, 2 * PIECE, PIECE);
    await assert.rejects(read(bigMeta, 3 * PIECE, PIECE), /unreadable/);
  });
});

test("a 3.7 MB message sealed in a store streams back byte for byte through the read-ahead, one GET a piece", async () => {
  const store = memoryStore();
  let gets = 0;
  const get = store.blobs.get.bind(store.blobs);
  store.blobs.get = (...args) => {
    gets++;
    return get(...args);
  };
  const messages = new MessageStore(store, randomKey());
  const line = "All work and no play makes a long message, line after line.\r\n";
  const raw = Buffer.from("Subject: big\r\n\r\n" + line.repeat(Math.ceil(SIZE / line.length)));
  const { meta } = await messages.add(raw, Date.now());
  assert.ok(meta.size > WHOLE_BODY_MAX);
  const { read } = cachingBodyReader(messages);
  const pieces: Uint8Array[] = [];
  for (let done = 0; done < meta.physicalSize; done += PIECE)
    pieces.push(await read(meta, done, Math.min(PIECE, meta.physicalSize - done)));
  assert.ok(Buffer.concat(pieces).equals(raw), "the streamed bytes differ from the message");
  // The stream header comes with the first piece and is kept: only the pieces fetched ahead beside
  // the first one read it again (19 GETs for 15 pieces; 29 when every piece read it).
  assert.ok(gets <= pieces.length + PIECES_AHEAD, `${gets} GETs for ${pieces.length} pieces`);
});

test("a client's prefetch asks for every body kept in a row at once, blob bodies `parallel` at a time", async () => {
  const { stats, bodyRange } = slowStore(5);
  const small = (inRow: boolean) => ({ size: 1000, physicalSize: 1000, inRow }) as MessageMeta;
  const metas = [
    ...Array.from({ length: 100 }, () => small(true)),
    ...Array.from({ length: 40 }, () => small(false)),
  ];
  await cachingBodyReader({ bodyRange }).prefetch(metas, 16);
  assert.equal(stats.calls.length, 140);
  // The 100 rows (one turn: bodyRows.ts sends them as ReadBatches) beside the first 16 blobs.
  assert.equal(stats.maxInFlight, 116);
  // Background work (beforeEach) keeps to `parallel` at a time, rows or not.
  const slow = slowStore(5);
  await cachingBodyReader({ bodyRange: slow.bodyRange }).prefetch(metas, 16, async () => true);
  assert.equal(slow.stats.calls.length, 140);
  assert.equal(slow.stats.maxInFlight, 16);
});
