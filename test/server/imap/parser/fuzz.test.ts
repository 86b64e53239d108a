/**
 * Property tests: whatever bytes arrive, in whatever chunks, the reader never throws, keeps at
 * most maxLine + maxLiteral bytes of unread input, always ends, and (when no literal announcement
 * could have swallowed it) still parses a valid command sent after the garbage. Seeded, bounded
 * runs so the file stays well under 20 s.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { harness, type ReadResult } from "./readerHarness.ts";
import { propertyRuns } from "../../../support/propertyRuns.ts";

const LIMITS = { maxLineBytes: 200, maxLiteralBytes: 300, appendLimit: 500 };
const TRAILER = "z1 NOOP\r\n";
/** A literal announcement at a line end; when the input holds one, bytes after it may be eaten. */
const ANNOUNCEMENT = /~?\{\d+\+?\}\r?$/gm;

interface Run {
  results: Exclude<ReadResult, null>[];
  peakBuffered: number;
}

async function run(chunks: Buffer[]): Promise<Run> {
  const h = harness(LIMITS);
  let peakBuffered = 0;
  // Runs after the reader's own listener, so it sees what the reader holds after each chunk.
  h.input.on("data", () => {
    peakBuffered = Math.max(peakBuffered, h.reader.bufferedBytes);
  });
  const results: Exclude<ReadResult, null>[] = [];
  const reading = (async () => {
    for (let i = 0; i < 100_000; i++) {
      const r = await h.reader.next();
      if (r === null) return;
      results.push(r);
      if (!("command" in r) && r.fatal) return;
      // A slow consumer (the server runs the command): input piles up unless the reader pauses it.
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.fail("the reader did not end");
  })();
  for (const c of chunks) h.input.write(c);
  h.input.end();
  await reading;
  h.input.destroy();
  return { results, peakBuffered };
}

/** Cuts bytes into chunks of the given sizes (cycled), each at most 64 bytes. */
function chunked(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0, k = 0; i < bytes.length; k++) {
    const n = sizes.length ? sizes[k % sizes.length]! : 64;
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

function announcements(bytes: Buffer): string[] {
  return bytes.toString("latin1").match(ANNOUNCEMENT) ?? [];
}

/** How many runs had the strong check (a following command must parse), so it is never vacuous. */
const strongChecks = { count: 0 };

function check(input: Buffer, { results, peakBuffered }: Run, strong: boolean): void {
  assert.ok(peakBuffered <= LIMITS.maxLineBytes + LIMITS.maxLiteralBytes, `held ${peakBuffered} bytes`);
  for (const r of results) {
    if (!("command" in r)) {
      assert.ok(r.status === "BAD" || r.status === "NO");
      assert.equal(typeof r.text, "string");
    }
  }
  const fatal = results.some((r) => !("command" in r) && r.fatal);
  if (strong && !fatal) {
    strongChecks.count++;
    assert.deepEqual(
      results.at(-1),
      { tag: "z1", command: { name: "NOOP" } },
      `input ${JSON.stringify(input.toString("latin1"))}`,
    );
  }
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 });

test("random bytes in random chunks: no throw, bounded memory, and a following command still parses", async () => {
  const numRuns = propertyRuns({ full: 400, fast: 150 });
  strongChecks.count = 0;
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 2000 }),
    // Many short broken lines: they pile up while the consumer is busy, unless the reader pauses.
    fc
      .array(
        fc.string({ unit: fc.constantFrom(...'a1 ()[]{}"\\*0123456789NOOPFETCH'.split("")), maxLength: 30 }),
        { minLength: 100, maxLength: 250 },
      )
      .map((ls) => Uint8Array.from(Buffer.from(ls.join("\r\n"), "latin1"))),
    // Mostly IMAP-looking bytes, so that the literal, quote and list paths are reached.
    fc
      .array(
        fc.constantFrom(
          ...'a1 {}+~()[]<>"\\*%$:,.0123456789\r\n\r\nFETCH UID BODY LOGIN APPEND SEARCH OR NOT'.split(""),
        ),
        { maxLength: 600 },
      )
      .map((cs) => Uint8Array.from(Buffer.from(cs.join(""), "latin1"))),
  );
  await fc.assert(
    fc.asyncProperty(bytes, chunkSizes, async (garbage, sizes) => {
      const input = Buffer.concat([Buffer.from(garbage), Buffer.from("\r\n" + TRAILER)]);
      const outcome = await run(chunked(input, sizes));
      check(input, outcome, announcements(Buffer.from(garbage)).length === 0);
    }),
    { numRuns, seed: 20261129 },
  );
  // More than half of the runs (200 of 400 in `npm test`).
  assert.ok(
    strongChecks.count > numRuns / 2,
    `only ${strongChecks.count} runs checked the following command`,
  );
});

const VALID = [
  "a LOGIN bob secret",
  'a LOGIN "bob smith" "p\\"w"',
  "a SELECT INBOX (QRESYNC (67890007 20050715 41:211,214:541 (1:5 7:9)))",
  "a UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Subject)]<0.2048>)",
  "a FETCH 1,3:5 (BODY[1.2.MIME] BODY[TEXT]<10.20>) (CHANGEDSINCE 5)",
  "a UID STORE 1:* (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Seen $Junk)",
  "a SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM a SINCE 1-Feb-1994) NOT (SEEN UID 4:*)",
  'a LIST (SUBSCRIBED) "" ("INBOX" "Entw&APw-rfe/%") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))',
  'a ID ("name" "Thunderbird" "version" NIL)',
  "a CREATE Trash (USE (\\Trash))",
  "a STATUS inbox (MESSAGES UIDNEXT HIGHESTMODSEQ)",
  "a UID MOVE 4:9 Archive",
  "a UID EXPUNGE 1:3",
  "a ENABLE QRESYNC CONDSTORE",
  "a AUTHENTICATE PLAIN AGJvYgBwdw==",
  'a APPEND Drafts (\\Draft) "05-Mar-2024 10:00:00 +0100" {12}\r\nSubject: x\r\n',
  "a LOGIN {3}\r\nbob {2+}\r\npw",
  'a SEARCH HEADER {10}\r\nMessage-ID "<x@y>"',
];

type Mutation = { at: number; op: "delete" | "insert" | "replace" | "duplicate"; byte: number; len: number };

const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom("delete" as const, "insert" as const, "replace" as const, "duplicate" as const),
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...Buffer.from(' ()[]{}<>"\\\r\n*%+~0'))),
  len: fc.integer({ min: 1, max: 12 }),
});

/** Applies mutations before the first literal announcement, so that the literal bytes stay whole. */
function mutate(command: string, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(command, "latin1");
  const brace = command.indexOf("{");
  let editable = brace >= 0 ? brace : bytes.length;
  for (const m of mutations) {
    const at = editable === 0 ? 0 : m.at % editable;
    const before = bytes.subarray(0, at);
    const after = bytes.subarray(at);
    if (m.op === "insert") bytes = Buffer.concat([before, Buffer.from([m.byte]), after]);
    else if (m.op === "duplicate") bytes = Buffer.concat([before, after.subarray(0, m.len), after]);
    else if (after.length && at < editable) {
      if (m.op === "replace") bytes = Buffer.concat([before, Buffer.from([m.byte]), after.subarray(1)]);
      else bytes = Buffer.concat([before, after.subarray(1)]);
    }
    editable += bytes.length - (before.length + after.length);
  }
  return bytes;
}

test("mutated valid commands: no throw, bounded memory, and the next command still parses", async () => {
  const numRuns = propertyRuns({ full: 1500, fast: 500 });
  strongChecks.count = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...VALID),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      chunkSizes,
      async (command, mutations, sizes) => {
        const mutated = mutate(command, mutations);
        const input = Buffer.concat([mutated, Buffer.from("\r\n" + TRAILER)]);
        const outcome = await run(chunked(input, sizes));
        const same = announcements(mutated).join() === announcements(Buffer.from(command, "latin1")).join();
        check(input, outcome, same);
      },
    ),
    { numRuns, seed: 4 },
  );
  // More than two thirds of the runs (1,000 of 1,500 in `npm test`).
  assert.ok(
    strongChecks.count > (numRuns * 2) / 3,
    `only ${strongChecks.count} runs checked the following command`,
  );
});

test("every valid command of the fuzz set parses as it is, whole and in one-byte chunks", async () => {
  for (const command of VALID) {
    const input = Buffer.from(command + "\r\n", "latin1");
    for (const sizes of [[4096], [1]]) {
      const { results } = await run(chunked(input, sizes));
      assert.equal(results.length, 1);
      assert.ok("command" in results[0]!, `${command}: ${JSON.stringify(results[0])}`);
    }
  }
});
