/** RFC 8970 §3.2 previews, from the MIME index and the part's bytes (no storage). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { indexMessageBytes, messagePreview, PREVIEW_MAX_CHARS } from "../../src/mime/index.ts";

async function preview(raw: string): Promise<string> {
  const bytes = Buffer.from(raw, "utf8");
  const index = indexMessageBytes(bytes);
  return messagePreview(index, (start, end) => Promise.resolve(bytes.subarray(start, end)));
}

test("a plain message: its text, white space collapsed, quoted lines left out", async () => {
  assert.equal(
    await preview(
      "Subject: a\r\n\r\nHello Joe,\r\n\r\n> what you wrote\r\n>> before\r\n  see you\tat 3.\r\n",
    ),
    "Hello Joe, see you at 3.",
  );
});

test("at most 256 characters, counted as characters, not bytes", async () => {
  const text = "\u00e9".repeat(300);
  const got = await preview(
    `Subject: a\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}\r\n`,
  );
  assert.equal(Array.from(got).length, PREVIEW_MAX_CHARS);
  assert.equal(got, "\u00e9".repeat(PREVIEW_MAX_CHARS));
});

test("text/plain is preferred over text/html; an attachment is never the preview", async () => {
  const alt =
    'Subject: a\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n' +
    '--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="notes.txt"\r\n\r\nattached notes\r\n' +
    '--m\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n' +
    "--a\r\nContent-Type: text/html\r\n\r\n<p>the html</p>\r\n" +
    "--a\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nthe pl=\r\nain text\r\n" +
    "--a--\r\n--m--\r\n";
  assert.equal(await preview(alt), "the plain text");
});

test("an HTML-only message: markup, scripts and styles dropped, entities decoded", async () => {
  const html =
    "Subject: a\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
    "<html><head><style>p { color: red }</style><script>alert(1)</script></head>" +
    "<body><p>Tom &amp; Jerry&nbsp;&#233;t&#xe9;</p><!-- hidden --><br>end</body></html>\r\n";
  assert.equal(await preview(html), "Tom & Jerry \u00e9t\u00e9 end");
});

test("a message without text has an empty preview", async () => {
  const image =
    "Subject: a\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n";
  assert.equal(await preview(image), "");
});
