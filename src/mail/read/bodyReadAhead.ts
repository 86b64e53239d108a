/**
 * Bodies read ahead of a client on a remote store. A client that walks a mailbox's message list
 * (header FETCHes) asks next for the newest bodies: to show the message on top, or to download
 * them for offline use (Thunderbird). On a second computer those are not in the local cache, and
 * each is a GET to the remote host. While the client walks its list, which reads only meta rows,
 * the newest bodies (up to a byte budget) are fetched a few at a time; a client read of one of them
 * takes the bytes fetched (or joins the fetch in flight) instead of asking the host again.
 *
 * What is held is bounded by the budget, and each body is handed out once and then dropped (or
 * after HOLD_MS unused); the local cache, when there is one, keeps its own copy as for any read.
 */
import type { BlobStore } from "../../storage/types.ts";

/** Unused bodies are dropped this long after they arrive. */
const HOLD_MS = 60_000;

export interface ReadAheadItem {
  key: string;
  /** Stored (sealed) size, counted against the budget. */
  bytes: number;
}

export class BodyReadAhead {
  private readonly held = new Map<string, { bytes: number; body: Promise<Uint8Array | null> }>();
  private heldBytes = 0;

  constructor(
    private readonly blobs: BlobStore,
    readonly budgetBytes: number,
    private readonly parallel: number,
  ) {}

  /** Bytes fetched or being fetched and not handed out yet. */
  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * Starts fetching `items` in order (the first ones first), `parallel` at a time, as far as the
   * budget allows what is held; not awaited. Failures are dropped: the client's own read asks again.
   */
  start(items: readonly ReadAheadItem[]): void {
    const queue = items.filter((item) => !this.held.has(item.key));
    let next = 0;
    const lane = async () => {
      while (next < queue.length) {
        const item = queue[next++]!;
        if (this.heldBytes + item.bytes > this.budgetBytes) return;
        const body = this.blobs.get(item.key).catch(() => null);
        this.held.set(item.key, { bytes: item.bytes, body });
        this.heldBytes += item.bytes;
        await body;
        setTimeout(() => this.drop(item.key, body), HOLD_MS).unref();
      }
    };
    for (let i = 0; i < Math.min(this.parallel, queue.length); i++) void lane();
  }

  /** The body of `key` if it was read ahead (fetched, or in flight); handed out once. */
  take(key: string): Promise<Uint8Array | null> | undefined {
    const entry = this.held.get(key);
    if (!entry) return undefined;
    this.drop(key, entry.body);
    return entry.body;
  }

  private drop(key: string, body: Promise<Uint8Array | null>): void {
    const entry = this.held.get(key);
    if (entry?.body !== body) return;
    this.held.delete(key);
    this.heldBytes -= entry.bytes;
  }
}
