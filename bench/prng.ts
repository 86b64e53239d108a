/**
 * A small seeded PRNG (mulberry32): the corpus must be the same bytes on every machine and every
 * run, so nothing here may touch Math.random or the clock.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Fills a buffer with pseudo-random bytes (attachment payloads). */
  fill(buf: Buffer): Buffer {
    let i = 0;
    for (; i + 4 <= buf.length; i += 4) buf.writeUInt32LE(this.nextU32(), i);
    for (; i < buf.length; i++) buf[i] = this.nextU32() & 0xff;
    return buf;
  }
}
