/** Message meta bytes: the new encoding round-trips and parses its MIME tree lazily; the old ones still read. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { inflateRawSync } from "node:zlib";
import { decodeMeta, encodeMeta } from "../../src/mail/metaCodec.ts";
import { indexMessageBytes } from "../../src/mime/index.ts";
import type { MessageMeta } from "../../src/mail/metaCodec.ts";

const raw = Buffer.from(
  "From: Zoë <z@example.org>\r\nSubject: =?UTF-8?Q?caf=C3=A9?= \xe9\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
    "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
  "latin1",
);

function metaOf(bytes: Uint8Array): MessageMeta {
  const index = indexMessageBytes(bytes);
  return {
    v: 1,
    internalDate: 1_700_000_000_000,
    size: index.size,
    physicalSize: index.physicalSize,
    header: index.header,
    index,
    key: "a2V5",
    blob: "mail/abc",
    sealedFor: "mail/abc",
  };
}

/** Encoding 2 (written 2026-11-29 to 2026-12-06): encoding 3 with its tail inflated. */
function asEncoding2(bytes: Uint8Array): Uint8Array {
  const buf = Buffer.from(bytes);
  const n = buf.readUInt32BE(1);
  const h = buf.readUInt32BE(5 + n);
  const out = Buffer.concat([buf.subarray(0, 9 + n + h), inflateRawSync(buf.subarray(9 + n + h))]);
  out[0] = 2;
  return out;
}

test("encoding 3 round-trips every field, the header byte for byte", () => {
  const meta = metaOf(raw);
  const back = decodeMeta(encodeMeta(meta));
  assert.equal(back.header, meta.header);
  assert.equal(Buffer.from(back.header, "latin1").toString("latin1"), meta.header);
  assert.deepEqual({ ...back }, { ...meta });
  assert.deepEqual(back.index, meta.index);
});

test("encoding 3 is written, its MIME tree compressed: smaller than encoding 2", () => {
  const bytes = encodeMeta(metaOf(raw));
  assert.equal(bytes[0], 3);
  assert.ok(bytes.length < asEncoding2(bytes).length);
});

test("encoding 2 (uncompressed tail) still reads, every field", () => {
  const meta = metaOf(raw);
  const back = decodeMeta(asEncoding2(encodeMeta(meta)));
  assert.equal(back.header, meta.header);
  assert.deepEqual({ ...back }, { ...meta });
});

test("encoding 3 leaves the MIME tree unparsed until asked, then parses it once", () => {
  const bytes = encodeMeta(metaOf(raw));
  // Damage only the tail (the compressed MIME tree): the eager part still reads; the tree throws when used.
  const damaged = Buffer.from(bytes);
  damaged[damaged.length - 4]! ^= 0xff;
  const meta = decodeMeta(damaged);
  assert.equal(meta.size, raw.length);
  assert.match(meta.header, /^From: /);
  assert.throws(() => meta.index);
  const good = decodeMeta(bytes);
  assert.equal(good.index, good.index);
});

test("encoding 1 (whole JSON, written before 2026-11-29) still reads, with header and physical size", () => {
  const { header: _h, physicalSize: _p, ...old } = metaOf(raw);
  const meta = decodeMeta(new TextEncoder().encode(JSON.stringify(old)));
  assert.equal(meta.header, old.index.header);
  assert.equal(meta.physicalSize, old.index.physicalSize);
  assert.deepEqual(meta.index, old.index);
});

test("a cut-short encoding 3 is refused, not read as garbage", () => {
  const bytes = encodeMeta(metaOf(raw));
  assert.throws(() => decodeMeta(bytes.subarray(0, 40)));
});
