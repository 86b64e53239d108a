/**
 * The unread bytes of a connection, as the chunks they arrived in. Finding a line end remembers how
 * far it already looked, so a line trickling in byte by byte costs linear time, not quadratic.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Index of the first unread chunk (shifting an array per chunk would be quadratic). */
  private head = 0;
  private size = 0;
  /** Bytes from the front already known to hold no LF. */
  private scanned = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Offset of the first LF, or -1. */
  indexOfLf(): number {
    let offset = 0;
    for (let c = this.head; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      if (offset + chunk.length > this.scanned) {
        const from = Math.max(0, this.scanned - offset);
        const i = chunk.indexOf(10, from);
        if (i >= 0) return offset + i;
      }
      offset += chunk.length;
    }
    this.scanned = offset;
    return -1;
  }

  /** Removes the first n bytes (n <= length) and returns them in one buffer. */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[this.head]!;
    if (first.length >= n) {
      this.consume(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    this.copyInto(out, 0, n);
    return out;
  }

  /** Moves the first n bytes (n <= length) into target at offset. */
  copyInto(target: Buffer, offset: number, n: number): void {
    let done = 0;
    while (done < n) {
      const chunk = this.chunks[this.head]!;
      const k = Math.min(chunk.length, n - done);
      chunk.copy(target, offset + done, 0, k);
      this.consume(k);
      done += k;
    }
  }

  /** Drops the first n bytes (n <= length). */
  drop(n: number): void {
    let left = n;
    while (left > 0) {
      const k = Math.min(this.chunks[this.head]!.length, left);
      this.consume(k);
      left -= k;
    }
  }

  /** Drops k bytes of the first chunk (k <= its length). */
  private consume(k: number): void {
    const chunk = this.chunks[this.head]!;
    if (k === chunk.length) {
      this.head++;
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.chunks.length) {
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
    } else this.chunks[this.head] = chunk.subarray(k);
    this.size -= k;
    this.scanned = Math.max(0, this.scanned - k);
  }
}
