/**
 * BINARY (RFC 3516): FETCH BINARY[part], BINARY.PEEK and BINARY.SIZE give a part's content with its
 * Content-Transfer-Encoding undone (literal8 when it holds NUL); an encoding the server cannot undo
 * is NO [UNKNOWN-CTE]; APPEND takes a literal8.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RawImap } from "../../support/rawImap.ts";
import { loggedIn, tagged, useServer } from "./scenarioHelpers.ts";

const { ready } = useServer();
let c: RawImap;

/** Bytes 0..127, twice: NUL included, and every byte survives the test client's UTF-8 reading. */
const PICTURE = Buffer.from([...Array(256).keys()].map((i) => i % 128));
const TEXT = "Caf\u00e9 = 3\u20ac, line one\r\nline two\r\n";

const MESSAGE =
  "From: Alice <alice@example.org>\r\nSubject: binary\r\nMIME-Version: 1.0\r\n" +
  'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' +
  "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
  "Caf=C3=A9 =3D 3=E2=82=AC, line one\r\nline two\r\n" +
  "\r\n--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
  PICTURE.toString("base64").replace(/.{76}/g, "$&\r\n") +
  "\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n" +
  "begin 644 x\r\n#86)C\r\n`\r\nend\r\n" +
  "\r\n--b--\r\n";

before(async () => {
  c = await loggedIn(await ready());
  await c.command("CREATE Bin");
  assert.match(tagged(await c.command(`APPEND Bin {${Buffer.byteLength(MESSAGE)}+}\r\n${MESSAGE}`)), /^OK/);
  await c.command("SELECT Bin");
});

/** The literal of a one-item FETCH response: the bytes after "{n}\r\n" or "~{n}\r\n". */
function literalOf(line: string): { literal8: boolean; text: string } {
  const m = /(~?)\{(\d+)\}\r\n/.exec(line);
  assert.ok(m, line);
  const text = line.slice(m.index + m[0].length, line.lastIndexOf(")"));
  assert.equal(Buffer.byteLength(text), Number(m[2]), line);
  return { literal8: m[1] === "~", text };
}

test("BINARY is announced", async () => {
  assert.ok((await c.command("CAPABILITY"))[0]!.split(" ").includes("BINARY"));
});

test("RFC 3516 §4.2: BINARY.PEEK[2] is the base64 part decoded, as a literal8 since it holds NUL", async () => {
  const lines = await c.command("FETCH 1 (BINARY.PEEK[2])");
  assert.match(lines[0]!, /^\* 1 FETCH \(BINARY\[2\] ~\{256\}\r\n/);
  const { literal8, text } = literalOf(lines[0]!);
  assert.ok(literal8);
  assert.deepEqual(Buffer.from(text, "latin1"), PICTURE);
  // .PEEK: \Seen stays unset.
  assert.equal((await c.command("FETCH 1 (FLAGS)"))[0], "* 1 FETCH (FLAGS (\\Recent))");
});

test("RFC 3516 §4.2: BINARY.SIZE[n] is the decoded size; the empty section is the whole message", async () => {
  const size = Buffer.byteLength(TEXT);
  const lines = await c.command("FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[] RFC822.SIZE)");
  assert.equal(
    lines[0],
    `* 1 FETCH (BINARY.SIZE[1] ${size} BINARY.SIZE[2] 256 BINARY.SIZE[] ${Buffer.byteLength(MESSAGE)} RFC822.SIZE ${Buffer.byteLength(MESSAGE)})`,
  );
});

test("RFC 3516 §4.2: BINARY[1] undoes quoted-printable, goes as a plain literal, and sets \\Seen", async () => {
  const lines = await c.command("FETCH 1 (BINARY[1])");
  const first = lines.find((l) => l.includes("BINARY[1]"))!;
  const { literal8, text } = literalOf(first);
  assert.equal(literal8, false);
  assert.equal(text, TEXT);
  assert.match(lines.join("\n"), /FLAGS \(\\Seen \\Recent\)/);
});

test("RFC 3516 §4.2: a partial counts in decoded bytes, and the answer names no origin", async () => {
  const lines = await c.command("FETCH 1 (BINARY.PEEK[2]<65.3>)");
  assert.equal(lines[0], "* 1 FETCH (BINARY[2] {3}\r\nABC)");
});

test("RFC 3516 §4.3: a transfer encoding the server cannot decode is NO [UNKNOWN-CTE]", async () => {
  assert.match(tagged(await c.command("FETCH 1 (BINARY.PEEK[3])")), /^NO \[UNKNOWN-CTE\]/);
  assert.match(tagged(await c.command("FETCH 1 (BINARY.SIZE[3])")), /^NO \[UNKNOWN-CTE\]/);
  // BODY[3] still serves it as stored.
  assert.match((await c.command("FETCH 1 (BODY.PEEK[3])"))[0]!, /begin 644 x/);
});

test("RFC 3516 §4.4: APPEND with a literal8 stores the bytes as sent; BINARY gives them back", async () => {
  const body = Buffer.from("a\x00b\x00c\r\n", "latin1");
  const raw = Buffer.concat([
    Buffer.from(
      "Subject: nul\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n",
    ),
    body,
  ]);
  const tag = c.nextTag();
  c.write(`${tag} APPEND Bin ~{${raw.length}}\r\n`);
  assert.match(await c.readLine(), /^\+ /);
  c.write(Buffer.concat([raw, Buffer.from("\r\n")]));
  assert.match((await c.until(tag)).at(-1)!, /OK \[APPENDUID \d+ 2\]/);
  const { literal8, text } = literalOf((await c.command("FETCH 2 (BINARY.PEEK[1])"))[0]!);
  assert.ok(literal8);
  assert.deepEqual(Buffer.from(text, "latin1"), body);
  // A literal8 anywhere else is BAD.
  assert.match(tagged(await c.command("SEARCH TEXT ~{1+}\r\nx")), /^BAD .*literal8/);
});
