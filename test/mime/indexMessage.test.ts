// The indexer's own behaviour, beyond the Dovecot parity of dovecotParity.test.ts: streaming, memory,
// offsets of section lookups, JSON round trips, HEADER.FIELDS and the decoding helpers for SEARCH.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  decodedHeaderValue,
  decodedHeaderValues,
  findPart,
  headerFields,
  indexMessage,
  indexMessageBytes,
  listTextParts,
  sectionRange,
  textParts,
  toCrlf,
  toCrlfBytes,
} from "../../src/mime/index.ts";
import { bodyStructureText } from "../../src/server/imap/protocol/format/bodyStructure.ts";
import { envelopeText } from "../../src/server/imap/protocol/format/envelope.ts";

const DIR = join(import.meta.dirname, "..", "fixtures", "mime");
const corpus = readdirSync(DIR)
  .filter((f) => f.endsWith(".eml"))
  .sort();
const load = (name: string) => Buffer.from(toCrlfBytes(readFileSync(join(DIR, name))));

function* inChunks(bytes: Uint8Array, size: number): Iterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe("indexing a stream of chunks", () => {
  it("gives the same index whatever the chunk size, for every corpus message", async () => {
    for (const name of corpus) {
      const raw = readFileSync(join(DIR, name));
      const whole = indexMessageBytes(raw);
      for (const size of [1, 2, 7, 64]) {
        assert.deepEqual(await indexMessage(inChunks(raw, size)), whole, `${name} in chunks of ${size}`);
      }
    }
  });

  it("reads a 50 MB message chunk by chunk without holding it", async () => {
    const line = Buffer.from(
      "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n",
    );
    const head = Buffer.from(
      'From: big@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n' +
        "--B\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--B\r\nContent-Type: application/octet-stream\r\n" +
        "Content-Transfer-Encoding: base64\r\n\r\n",
    );
    const tail = Buffer.from("\r\n--B--\r\n");
    const lines = Math.ceil((50 * 1024 * 1024) / line.length);
    const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const before = used();
    let peak = before;
    // fresh chunks, as a socket or a file stream gives them; the heap is sampled as they go
    async function* source(): AsyncIterable<Uint8Array> {
      yield head;
      for (let n = 0; n < lines; n += 800) {
        const count = Math.min(800, lines - n);
        yield Buffer.concat(Array.from({ length: count }, () => line)); // ~62 KiB
        if (n % (800 * 16) === 0) peak = Math.max(peak, used());
      }
      yield tail;
    }
    const started = performance.now();
    const index = await indexMessage(source());
    const ms = performance.now() - started;
    peak = Math.max(peak, used());
    const total = head.length + lines * line.length + tail.length;
    assert.equal(index.size, total);
    const attachment = findPart(index, [2])!;
    // the body's last CRLF stays in it: the tail's own CRLF is the one that goes with the delimiter
    assert.equal(attachment.size, lines * line.length);
    assert.equal(attachment.bodyEnd - attachment.bodyStart, attachment.size);
    const grew = (peak - before) / 1024 / 1024;
    console.log(`# 50 MB message indexed in ${ms.toFixed(0)} ms, memory grew at most ${grew.toFixed(1)} MB`);
    assert.ok(grew < 40, `memory grew ${grew.toFixed(1)} MB while indexing 50 MB`);
  });

  it("passes a body line longer than 64 KiB on in pieces and still finds the next delimiter", async () => {
    const long = "x".repeat(200_000);
    const msg = Buffer.from(
      `Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n${long}\r\n--b\r\n\r\nshort\r\n--b--\r\n`,
      "latin1",
    );
    const index = indexMessageBytes(msg);
    for (const size of [1000, 70_000]) assert.deepEqual(await indexMessage(inChunks(msg, size)), index);
    {
      assert.equal(findPart(index, [1])!.size, long.length);
      assert.equal(findPart(index, [1])!.lines, 0);
      assert.equal(
        msg.subarray(findPart(index, [2])!.bodyStart, findPart(index, [2])!.bodyEnd).toString(),
        "short",
      );
    }
  });

  it("converts bare LF to CRLF across chunk boundaries, leaving CRLF and lone CR alone", async () => {
    const out: Buffer[] = [];
    for await (const c of toCrlf([Buffer.from("a\r"), Buffer.from("\nb\n"), Buffer.from("\rc\n")]))
      out.push(Buffer.from(c));
    assert.equal(Buffer.concat(out).toString(), "a\r\nb\r\n\rc\r\n");
  });
});

describe("the index as sealed meta", () => {
  it("survives a JSON round trip and serialises the same", () => {
    for (const name of corpus) {
      const index = indexMessageBytes(load(name));
      const back: unknown = JSON.parse(JSON.stringify(index));
      assert.deepEqual(back, index, name);
      assert.equal(bodyStructureText(back.root), bodyStructureText(index.root));
      assert.equal(envelopeText(back.envelope), envelopeText(index.envelope));
    }
  });

  it("keeps the top-level header block byte for byte, 8-bit included", () => {
    const raw = load("12-8bit-headers.eml");
    const index = indexMessageBytes(raw);
    assert.equal(
      Buffer.from(index.header, "latin1").toString("utf8").split("\r\n")[2],
      "Subject: Grüße aus Köln",
    );
    assert.equal(index.header, raw.subarray(0, index.root.bodyStart).toString("latin1"));
  });
});

describe("part numbers and sections (RFC 3501 §6.4.5)", () => {
  it("numbers a message/rfc822 nested twice as Dovecot does", () => {
    const index = indexMessageBytes(load("07-rfc822-nested-twice.eml"));
    assert.equal(index.root.section, "1");
    assert.equal(findPart(index, [1])!.kind, "message");
    assert.equal(findPart(index, [1, 1])!.section, "1.1");
    assert.equal(findPart(index, [1, 2])!.kind, "message");
    assert.equal(findPart(index, [1, 2, 2])!.section, "1.2.2");
    assert.equal(findPart(index, [1, 3]), null);
    assert.equal(findPart(index, [2]), null);
  });

  it("gives a non-multipart message's body as part 1 and its header as 1.MIME", () => {
    const raw = load("01-simple-text.eml");
    const index = indexMessageBytes(raw);
    const body = sectionRange(index, [1], "")!;
    assert.equal(raw.subarray(body.start, body.end).toString(), "Hello Bob,\r\nhow are you?\r\n");
    assert.deepEqual(sectionRange(index, [1], "MIME"), sectionRange(index, [], "HEADER"));
  });

  it("gives HEADER and TEXT of an attached message, and nothing for HEADER of a text part", () => {
    const raw = load("05-rfc822-attached.eml");
    const index = indexMessageBytes(raw);
    const header = sectionRange(index, [2], "HEADER")!;
    assert.match(raw.subarray(header.start, header.end).toString(), /^From: Inner Sender.*\r\n\r\n$/s);
    const text = sectionRange(index, [2], "TEXT")!;
    // the line break before "--fw--" belongs to the delimiter (RFC 2046 §5.1.1)
    assert.equal(raw.subarray(text.start, text.end).toString(), "inner body\r\nline two");
    assert.equal(sectionRange(index, [1], "HEADER"), null);
  });
});

describe("HEADER.FIELDS", () => {
  const block = "From: a@b\r\nX-Long: one\r\n two\r\n\tthree\r\nsubject: Hi\r\nTo: c@d\r\n\r\n";
  it("keeps matching fields exactly, continuation lines included, names compared without case", () => {
    assert.equal(
      headerFields(block, ["X-LONG", "Subject"]),
      "X-Long: one\r\n two\r\n\tthree\r\nsubject: Hi\r\n\r\n",
    );
  });
  it("NOT keeps the others and the block's empty line", () => {
    assert.equal(headerFields(block, ["x-long", "subject"], true), "From: a@b\r\nTo: c@d\r\n\r\n");
  });
  it("ends with an empty line even when nothing matches", () => {
    assert.equal(headerFields(block, ["Bcc"]), "\r\n");
  });
});

describe("decoding for SEARCH", () => {
  it("decodes RFC 2047 words (B and Q, several charsets) and unfolds", () => {
    const index = indexMessageBytes(load("08-encoded-words.eml"));
    assert.equal(decodedHeaderValue(index.header, "subject"), "Café latte and テスト");
    assert.deepEqual(decodedHeaderValues(index.header, "To"), [
      "André Pirard <pirard@example.be>, Привет <privet@example.ru>",
    ]);
    const folded = indexMessageBytes(load("38-folded-headers.eml"));
    assert.equal(decodedHeaderValue(folded.header, "Subject"), "a folded  subject line\twith a tab");
    assert.equal(decodedHeaderValue(folded.header, "X-Absent"), null);
  });

  it("reads raw 8-bit headers as UTF-8", () => {
    const index = indexMessageBytes(load("12-8bit-headers.eml"));
    assert.equal(decodedHeaderValue(index.header, "From"), "Jürgen Müller <juergen@example.de>");
  });

  it("decodes base64, quoted-printable and 8-bit latin-1 bodies to text", async () => {
    const cases: [string, RegExp][] = [
      ["23-base64-attachment.eml", /^Bonjour à tous, voilà le fichier\.\n$/],
      [
        "24-quoted-printable.eml",
        /^J'ai mangé une crème brûlée, avec une ligne très longue qui continue\.\r\n= equals/,
      ],
      ["11-8bit-body.eml", /^café crème brûlée\r\nnaïve/],
    ];
    for (const [name, expected] of cases) {
      const raw = load(name);
      const index = indexMessageBytes(raw);
      const texts: string[] = [];
      for await (const { text } of textParts(index, async (s, e) => raw.subarray(s, e))) texts.push(text);
      assert.match(texts[0]!, expected, name);
    }
  });

  it("lists the text parts of embedded messages too", () => {
    const index = indexMessageBytes(load("07-rfc822-nested-twice.eml"));
    assert.deepEqual(
      listTextParts(index).map((p) => p.section),
      ["1.1", "1.2.1", "1.2.2"],
    );
  });
});

describe("hostile structure", () => {
  it("stops descending after 100 nested messages and 10,000 parts, without failing", () => {
    const nested = "Content-Type: message/rfc822\r\n\r\n".repeat(300) + "deep\r\n";
    const deep = indexMessageBytes(Buffer.from(nested));
    let depth = 0;
    for (let p = deep.root; p.children.length > 0; p = p.children[0]!) depth++;
    assert.ok(depth <= 101, `depth ${depth}`);
    assert.match(bodyStructureText(deep.root), /^\("message" "rfc822"/);

    const many =
      "Content-Type: multipart/mixed; boundary=m\r\n\r\n" + "--m\r\n\r\nx\r\n".repeat(12_000) + "--m--\r\n";
    const wide = indexMessageBytes(Buffer.from(many));
    assert.ok(wide.root.children.length < 10_000);
    assert.equal(wide.size, many.length);
  });
});
