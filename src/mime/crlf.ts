/**
 * IMAP messages have CRLF line ends (RFC 3501 §2.3.4 relies on RFC 5322 form): a bare LF becomes
 * CRLF, as Dovecot does when it serves what it stored. Converting at append time makes stored
 * offsets, BODY[section] bytes and RFC822.SIZE agree. Streams chunk by chunk: a CR that ends one
 * chunk is remembered for the LF that may start the next.
 */
export async function* toCrlf(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  let lastWasCr = false;
  for await (const chunk of chunks) {
    const out = crlfChunk(chunk, lastWasCr);
    if (chunk.length > 0) lastWasCr = chunk[chunk.length - 1] === 0x0d;
    if (out.length > 0) yield out;
  }
}

/** The same for bytes in memory. */
export function toCrlfBytes(bytes: Uint8Array): Uint8Array {
  return crlfChunk(bytes, false);
}

function crlfChunk(chunk: Uint8Array, afterCr: boolean): Uint8Array {
  let bare = 0;
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] === 0x0a && (i > 0 ? chunk[i - 1] !== 0x0d : !afterCr)) bare++;
  }
  if (bare === 0) return chunk;
  const out = new Uint8Array(chunk.length + bare);
  let j = 0;
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk[i]!;
    if (c === 0x0a && (i > 0 ? chunk[i - 1] !== 0x0d : !afterCr)) out[j++] = 0x0d;
    out[j++] = c;
  }
  return out;
}
