/**
 * Which message ids a segment of the search index may hold, in memory (issue 18): a Bloom filter
 * of 24 bits and 8 probes per id (3 KB for a full segment of 1,000; about 0.004% false positives,
 * so a search of 200 messages among 10 segments opens a segment for nothing once in ten or so).
 * A search in a small mailbox of a large account then opens only the segments that may hold one
 * of its messages, instead of every segment of the account: under the load tool the account grew
 * by 15 messages a second (COPY and MOVE to an archive nobody selects), and every SEARCH HEADER
 * of the 200-message INBOX opened and decrypted all of it.
 *
 * A false positive only costs opening a segment for nothing; there are no false negatives, so
 * what a search decides stays what it decided before.
 */
const BITS_PER_ID = 24;
const PROBES = 8;

export class IdFilter {
  private constructor(private readonly bits: Uint8Array) {}

  static of(ids: Iterable<string>, count: number): IdFilter {
    const size = Math.max(64, count * BITS_PER_ID);
    const filter = new IdFilter(new Uint8Array(Math.ceil(size / 8)));
    for (const id of ids) filter.add(id);
    return filter;
  }

  private add(id: string): void {
    const n = this.bits.length * 8;
    const [first, h2] = hashes(id);
    let h1 = first;
    for (let k = 0; k < PROBES; k++) {
      const bit = h1 % n;
      this.bits[bit >>> 3]! |= 1 << (bit & 7);
      h1 = (h1 + h2) >>> 0;
    }
  }

  /** False when the segment surely does not hold `id`. */
  mayHold(id: string): boolean {
    const [h1, h2] = hashes(id);
    return this.probe(h1, h2);
  }

  /** False when the segment surely holds none of the ids `hashed` (IdFilter.hash: once per search). */
  mayHoldAny(hashed: Uint32Array): boolean {
    for (let i = 0; i < hashed.length; i += 2) if (this.probe(hashed[i]!, hashed[i + 1]!)) return true;
    return false;
  }

  /** The hashes of `ids`, two numbers each, for mayHoldAny against many filters. */
  static hash(ids: readonly string[]): Uint32Array {
    const out = new Uint32Array(ids.length * 2);
    ids.forEach((id, i) => {
      const [h1, h2] = hashes(id);
      out[2 * i] = h1;
      out[2 * i + 1] = h2;
    });
    return out;
  }

  private probe(first: number, h2: number): boolean {
    const n = this.bits.length * 8;
    let h1 = first;
    for (let k = 0; k < PROBES; k++) {
      const bit = h1 % n;
      if ((this.bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
      h1 = (h1 + h2) >>> 0;
    }
    return true;
  }
}

/** Two independent 32-bit FNV-1a hashes (different offset bases); the second is odd. */
function hashes(id: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
    b ^= b >>> 15;
  }
  return [a, (b | 1) >>> 0];
}
