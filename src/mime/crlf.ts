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

/**
 * Walks the LFs only (indexOf is a native scan): a 40 KB message has a few hundred of them, and a
 * loop over every byte was ~0.8% of the server's CPU over sequential APPENDs (bench/notes.md).
 */
function crlfChunk(chunk: Uint8Array, afterCr: boolean): Uint8Array {
  const bareAt = (i: number) => (i > 0 ? chunk[i - 1] !== 0x0d : !afterCr);
  let bare = 0;
  for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) if (bareAt(i)) bare++;
  if (bare === 0) return chunk;
  const out = new Uint8Array(chunk.length + bare);
  let from = 0;
  let to = 0;
  for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) {
    if (!bareAt(i)) continue;
    out.set(chunk.subarray(from, i), to);
    to += i - from;
    out[to++] = 0x0d;
    from = i;
  }
  out.set(chunk.subarray(from), to);
  return out;
}
