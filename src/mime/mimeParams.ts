/**
 * MIME parameters (RFC 2045 §5.1) with RFC 2231 continuations merged as Dovecot merges them:
 * `name*0="a"; name*1="b"` becomes `name="ab"`; when any piece is extended (`name*0*=utf-8''%C3`)
 * the result is `name*` holding the still-encoded value, so BODYSTRUCTURE shows what the message
 * says. Plain parameters come first in header order, then merged ones sorted by name. Pieces with a
 * missing index are listed as they were written.
 */
import type { Rfc822Reader } from "./rfc822Reader.ts";
import type { MimeParam } from "./types.ts";

interface Piece {
  key: string;
  index: number;
  extended: boolean;
  value: string;
}

export function readMimeParams(reader: Rfc822Reader): MimeParam[] {
  const plain: MimeParam[] = [];
  const pieces: Piece[] = [];
  for (;;) {
    const { ret, key, value } = reader.contentParam();
    if (ret === 0) break;
    if (ret < 0 || key === null) {
      // resynchronise one byte further on, as Dovecot does
      if (reader.pos >= reader.end) break;
      reader.pos++;
      continue;
    }
    const star = key.indexOf("*");
    if (star < 0) {
      plain.push({ name: key, value });
      continue;
    }
    let p = star;
    let index = 0;
    if (p + 1 < key.length) {
      p++;
      while (p < key.length && key.charCodeAt(p) >= 0x30 && key.charCodeAt(p) <= 0x39) {
        index = index * 10 + key.charCodeAt(p) - 0x30;
        p++;
      }
    }
    let extended = false;
    if (key[p] === "*") {
      extended = true;
      p++;
    }
    if (p < key.length) plain.push({ name: key, value });
    else pieces.push({ key: key.slice(0, star), index, extended, value });
  }
  if (pieces.length === 0) return plain;

  pieces.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  const merged: MimeParam[] = [];
  for (let i = 0; i < pieces.length;) {
    let j = i;
    let complete = true;
    let anyExtended = false;
    while (j < pieces.length && pieces[j]!.key.toLowerCase() === pieces[i]!.key.toLowerCase()) {
      if (pieces[j]!.index !== j - i) complete = false;
      if (pieces[j]!.extended) anyExtended = true;
      j++;
    }
    const group = pieces.slice(i, j);
    if (!complete) {
      for (const piece of group) {
        merged.push({ name: `${piece.key}*${piece.index}${piece.extended ? "*" : ""}`, value: piece.value });
      }
    } else {
      // RFC 2231 §4.1: unencoded pieces of an encoded value are escaped so the whole stays decodable
      let value = !group[0]!.extended && anyExtended ? "''" : "";
      for (const piece of group) {
        value += !piece.extended && anyExtended ? piece.value.replace(/%/g, "%25") : piece.value;
      }
      merged.push({ name: anyExtended ? `${group[0]!.key}*` : group[0]!.key, value });
    }
    i = j;
  }
  return plain.concat(merged);
}
