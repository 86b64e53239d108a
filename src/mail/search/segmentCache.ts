/**
 * The search index's files, kept open across searches (issue 11): a header search opened every file
 * again, read and decrypted its meta (the ids as JSON) and the field piece it needed, for every
 * SEARCH. At 1,000 messages in 4 files that was ~4 ms of a SUBJECT search's ~5 ms of CPU, measured
 * with --cpu-prof on a loaded machine (bench/notes.md).
 *
 * Bounded twice, least recently used first: the files whose meta stays in memory hold at most
 * `maxDocs` messages (a meta costs ~120 B a message: its id string and five numbers), and their
 * opened pieces (subjects, addresses, other headers, signatures) at most `maxPieceBytes` of
 * plaintext. A file a search walks (leased) is never closed or trimmed under it; one merged away or
 * thrown out meanwhile is closed when its last lease ends.
 */
import { Segment } from "./segmentFile.ts";

interface Entry {
  seg: Segment;
  leases: number;
  /** Dropped from the cache (merged away, discarded): close at the last release. */
  gone: boolean;
}

export interface SegmentLease {
  seg: Segment;
  release: () => void;
}

export class SegmentCache {
  /** By file name, least recently used first (a Map keeps insertion order). */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxDocs: number,
    private readonly maxPieceBytes: number,
  ) {}

  /** The opened file `name` at `path`, opened now if it is not kept; release it when done. */
  async lease(path: string, name: string, key: Uint8Array): Promise<SegmentLease> {
    let entry = this.entries.get(name);
    if (!entry) {
      const seg = await Segment.open(path, name, key);
      // Another search may have opened it while this one awaited.
      entry = this.entries.get(name);
      if (entry) await seg.close();
      else {
        entry = { seg, leases: 0, gone: false };
        this.entries.set(name, entry);
      }
    }
    this.entries.delete(name);
    this.entries.set(name, entry);
    entry.leases++;
    this.trim();
    const held = entry;
    let released = false;
    return {
      seg: held.seg,
      release: () => {
        if (released) return;
        released = true;
        held.leases--;
        if (held.gone && held.leases === 0) void held.seg.close();
        this.trim();
      },
    };
  }

  /** File `name` is gone (merged away, removed): no longer kept. */
  forget(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.entries.delete(name);
    entry.gone = true;
    if (entry.leases === 0) void entry.seg.close();
  }

  /** Every file is gone (the index is thrown away or closed). */
  clear(): void {
    for (const name of [...this.entries.keys()]) this.forget(name);
  }

  /** Files kept, and what their pieces hold (tests, diagnostics). */
  get size(): { files: number; docs: number; pieceBytes: number } {
    let docs = 0;
    let pieceBytes = 0;
    for (const { seg } of this.entries.values()) {
      docs += seg.ids.length;
      pieceBytes += seg.heldBytes;
    }
    return { files: this.entries.size, docs, pieceBytes };
  }

  private trim(): void {
    let { docs, pieceBytes } = this.size;
    for (const [name, entry] of this.entries) {
      if (docs <= this.maxDocs && pieceBytes <= this.maxPieceBytes) return;
      if (entry.leases > 0) continue;
      pieceBytes -= entry.seg.heldBytes;
      if (docs > this.maxDocs) {
        docs -= entry.seg.ids.length;
        this.forget(name);
      } else entry.seg.dropPieces();
    }
  }
}
