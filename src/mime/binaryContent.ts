/**
 * A part's content with its Content-Transfer-Encoding undone, for IMAP BINARY (RFC 3516 §4.2):
 * base64 and quoted-printable are decoded; 7bit, 8bit, binary and no encoding at all leave the
 * bytes as stored. Any other encoding, or base64 that is not base64, cannot be decoded: the server
 * answers NO [UNKNOWN-CTE] rather than guess.
 */
import * as libbase64 from "libbase64";
import * as libqp from "libqp";

const IDENTITY = new Set(["", "7bit", "8bit", "binary"]);
/** Base64 once line breaks and other white space are gone (RFC 2045 §6.8). */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The decoded bytes, or null when `encoding` is one this server cannot undo. */
export function decodeContent(bytes: Uint8Array, encoding: string | null): Uint8Array | null {
  const cte = (encoding ?? "").trim().toLowerCase();
  if (IDENTITY.has(cte)) return bytes;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (cte === "quoted-printable") return libqp.decode(buf);
  if (cte !== "base64") return null;
  const text = buf.toString("latin1").replace(/[\t\n\r ]/g, "");
  if (!BASE64.test(text)) return null;
  return libbase64.decode(text);
}
