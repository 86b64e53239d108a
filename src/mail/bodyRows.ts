/**
 * Reads of body rows (`body`/<id>, messageLayout.ts). A client's FETCH of many messages, the
 * search index's fill and a cache fill each ask for many bodies at once, one call per message:
 * the calls made in the same turn of the event loop go out as one K2V ReadBatch (a second
 * computer's first sync reads its newest bodies in a few requests, not one per message).
 */
import type { RowEntry, RowStore } from "../storage/types.ts";
import { BODY_ROW_PK, BODY_ROWS_PER_READ } from "./messageLayout.ts";

interface Waiting {
  id: string;
  resolve: (row: RowEntry | null) => void;
  reject: (err: unknown) => void;
}

export class BodyRowReads {
  private waiting: Waiting[] = [];

  constructor(private readonly rows: Pick<RowStore, "readBatch">) {}

  /** The row of body `id` (null when absent), read with the others asked for in this turn. */
  read(id: string): Promise<RowEntry | null> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ id, resolve, reject });
    });
  }

  /** Many rows at once, in order (whole() and the cache fill's batches). */
  readMany(ids: readonly string[]): Promise<(RowEntry | null)[]> {
    return Promise.all(ids.map((id) => this.read(id)));
  }

  private flush(): void {
    const all = this.waiting;
    this.waiting = [];
    for (let i = 0; i < all.length; i += BODY_ROWS_PER_READ) {
      const some = all.slice(i, i + BODY_ROWS_PER_READ);
      this.rows.readBatch(some.map((w) => ({ pk: BODY_ROW_PK, sk: w.id }))).then(
        (found) => some.forEach((w, j) => w.resolve(found[j] ?? null)),
        (err: unknown) => some.forEach((w) => w.reject(err)),
      );
    }
  }
}
