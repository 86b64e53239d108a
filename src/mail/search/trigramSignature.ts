/**
 * A message body's trigram signature: one bit per hashed run of three UTF-16 code units of its
 * lower-cased text (a superimposed-coding signature file, a classic text index). A needle of three
 * units or more can be in the text only if every one of its trigrams has its bit set; a clear bit
 * rules the message out without opening its text. Set bits only narrow: the text is still
 * checked, so false positives cost time, never a wrong answer.
 *
 * Size: the next power of two at or above the text's length, in bits (256 to 2^18): with about
 * one distinct trigram per two or three characters, about half the bits are set, and a needle of
 * eight characters (six trigrams) lets through about 1-2 % of the messages that lack it.
 */

const MIN_BITS = 256;
const MAX_BITS = 1 << 18;

function bitsFor(length: number): number {
  let bits = MIN_BITS;
  while (bits < length && bits < MAX_BITS) bits *= 2;
  return bits;
}

function trigramHash(text: string, i: number): number {
  let h =
    Math.imul(text.charCodeAt(i), 0x9e3779b1) ^
    Math.imul(text.charCodeAt(i + 1), 0x85ebca77) ^
    Math.imul(text.charCodeAt(i + 2), 0xc2b2ae3d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 13;
  return h >>> 0;
}

/** The signature of a lower-cased text. */
export function trigramSignature(text: string): Uint8Array {
  const bits = bitsFor(text.length);
  const sig = new Uint8Array(bits / 8);
  const mask = bits - 1;
  for (let i = 0; i + 3 <= text.length; i++) {
    const bit = trigramHash(text, i) & mask;
    sig[bit >>> 3]! |= 1 << (bit & 7);
  }
  return sig;
}

/** False when a text with signature `sig` surely lacks `needle` (lower-cased). */
export function mayContain(sig: Uint8Array, needle: string): boolean {
  if (needle.length < 3) return true;
  const mask = sig.length * 8 - 1;
  for (let i = 0; i + 3 <= needle.length; i++) {
    const bit = trigramHash(needle, i) & mask;
    if ((sig[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}
