/**
 * BODY and TEXT from the search index (mail/search/segmentFile.ts, SegmentFacts): the index rules
 * messages out by signature and looks for the needle's UTF-8 in the stored bytes, without decoding
 * the text. Its answer must be exactly `text.includes(needle)`, as a full scan computes it, for
 * every needle: non-ASCII letters, characters outside the BMP, U+FFFD, needles holding half of a
 * surrogate pair (JavaScript's `includes` finds one inside a pair; UTF-8 cannot write it alone),
 * and needles that would only match across the header text's end and the body's start or in the
 * box's length prefix. Asked of the messages waiting in memory and of the same messages in a file.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { randomKey } from "../../src/crypto/aead.ts";
import type { SearchDoc } from "../../src/mail/search/searchDoc.ts";
import { SearchIndex } from "../../src/mail/search/searchIndex.ts";
import { trigramSignature } from "../../src/mail/search/trigramSignature.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-search-text-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Header texts and body texts, lower-cased as the index stores them. */
const TEXTS: [string, string][] = [
  ["subject: grüße aus der straße", "liebe grüße, ǆ und i̇stanbul; ende"],
  ["subject: mail 📧", "a letter 📧 with 😀 and 𝒳 outside the bmp"],
  ["subject: broken", "a replacement \ufffd character, twice \ufffd\ufffd"],
  ["subject: abc", "def: the header ends with abc and the body starts with def"],
  // 97 characters: the box's length prefix is 00 00 00 61, an "a" after three NULs.
  [`subject: ${"x".repeat(88)}`, "no letter a here? there is one"],
  ["subject: 日本語", "日本語のテキストです。zanzibar notes"],
  ["subject: empty body", ""],
  ["", "a message with no header text"],
];

function doc(i: number, [header, body]: [string, string]): SearchDoc {
  return {
    id: `id-${i}`,
    internalDate: 1_700_000_000_000 + i,
    size: 1000 + i,
    sentDay: 1_699_920_000_000,
    headerText: header,
    fields: ["subject", header.slice("subject: ".length)],
    bodyText: body,
    signature: trigramSignature(body),
    headerSignature: trigramSignature(header),
  };
}

/** A seeded generator (mulberry32): the same needles on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Hand-picked needles, then random cuts of the texts (by UTF-16 unit: some cut a pair in two). */
function needles(): string[] {
  const out = [
    ...["", "grüße", "üß", "straße", "ss", "ǆ", "i̇", "📧", "😀", "𝒳", "\ud83d", "\udce7", "\ud835"],
    ...["\ud800", "\udc00", "\ufffd", "\ufffd\ufffd", "abcdef", "c\u0000def", "\u0000\u0000\u0000a"],
    ...["\u0000a", "日本", "テキスト", "zanzibar", "nowhere", "x".repeat(90), "o"],
  ];
  const random = seeded(20261206);
  for (let n = 0; n < 300; n++) {
    const [header, body] = TEXTS[Math.floor(random() * TEXTS.length)]!;
    const text = random() < 0.3 ? header : body;
    const from = Math.floor(random() * (text.length + 1));
    out.push(text.slice(from, from + 1 + Math.floor(random() * 8)));
  }
  return out;
}

async function check(index: SearchIndex, where: string): Promise<number> {
  const docs = new Map(TEXTS.map((t, i) => [`id-${i}`, t]));
  let asked = 0;
  for await (const batch of index.batches()) {
    for (let k = 0; k < batch.ids.length; k++) {
      const [header, body] = docs.get(batch.ids[k]!)!;
      for (const needle of needles()) {
        const facts = batch.facts(k);
        const label = `${where}, message ${batch.ids[k]}, needle ${JSON.stringify(needle)}`;
        assert.equal(await facts.bodyHas(needle), body.includes(needle), `BODY: ${label}`);
        assert.equal(await facts.headerTextHas(needle), header.includes(needle), `TEXT's header: ${label}`);
        asked++;
      }
    }
  }
  return asked;
}

test("BODY and TEXT from the index answer exactly as `includes` on the texts, from memory and from a file", async () => {
  const index = new SearchIndex(join(dir, "texts"), randomKey(), () => {});
  assert.ok(await index.open());
  try {
    TEXTS.forEach((t, i) => index.add(doc(i, t)));
    const perMessage = needles().length;
    assert.equal(await check(index, "in memory"), TEXTS.length * perMessage);
    await index.flush();
    assert.equal(index.isPending("id-0"), false, "written to a file");
    assert.equal(await check(index, "from a file"), TEXTS.length * perMessage);
  } finally {
    await index.close();
  }
});
