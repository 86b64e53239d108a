/**
 * Which blobs the cache holds and how many bytes they take, in least-recently-used order (a Map
 * keeps insertion order; a hit moves the key to the end). When a new copy pushes the total over
 * the budget, the least recently used copies go first.
 *
 * Only this process's use is known: copies found in the cache folder at start rank before
 * anything used since, in key order (random ids, so in effect a random order among themselves).
 */
export class BlobBudget {
  private readonly sizes = new Map<string, number>();
  private total = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total;
  }

  has(key: string): boolean {
    return this.sizes.has(key);
  }

  size(key: string): number | undefined {
    return this.sizes.get(key);
  }

  /** Records a use: the key becomes the most recently used. */
  touch(key: string): void {
    const size = this.sizes.get(key);
    if (size === undefined) return;
    this.sizes.delete(key);
    this.sizes.set(key, size);
  }

  /** Records a stored copy; returns the keys to evict to get back under the budget. */
  add(key: string, size: number): string[] {
    this.remove(key);
    this.sizes.set(key, size);
    this.total += size;
    const evicted: string[] = [];
    for (const [old, oldSize] of this.sizes) {
      if (this.total <= this.maxBytes) break;
      this.sizes.delete(old);
      this.total -= oldSize;
      evicted.push(old);
    }
    return evicted;
  }

  /** Every key, least recently used first. */
  keys(): string[] {
    return [...this.sizes.keys()];
  }

  remove(key: string): void {
    const size = this.sizes.get(key);
    if (size === undefined) return;
    this.sizes.delete(key);
    this.total -= size;
  }
}
