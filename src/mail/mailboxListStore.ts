/**
 * Reads and writes the sealed mailbox list row (`mailboxes`/`list`). Siblings left by concurrent
 * writers on other computers are merged on read; a write carries the token of the read it merged,
 * so it supersedes exactly those siblings.
 */
import { open, seal, type SealContext } from "../crypto/aead.ts";
import { newTimestamp } from "../sync/index.ts";
import type { RowStore } from "../storage/types.ts";
import {
  decodeMailboxList,
  encodeMailboxList,
  mergeMailboxLists,
  type MailboxList,
  type Stamp,
} from "./mailboxList.ts";
import { Mutex } from "./mutex.ts";
import { newMailId } from "./ids.ts";

const PK = "mailboxes";
const SK = "list";
const CONTEXT: SealContext = { purpose: "mailbox-list", path: `${PK}/${SK}` };

export class MailboxListStore {
  private readonly mutex = new Mutex();
  private lastTs: string | undefined;
  private cached: { list: MailboxList; token?: string } | undefined;

  constructor(
    private readonly rows: RowStore,
    private readonly key: Uint8Array,
  ) {}

  /** The merged list as storage has it now. */
  async load(): Promise<MailboxList> {
    const row = await this.rows.read(PK, SK);
    const lists = (row?.values ?? []).map((v) => decodeMailboxList(open(this.key, v, CONTEXT)));
    const list = mergeMailboxLists(lists);
    this.cached = { list, token: row?.token };
    return list;
  }

  /** The list as last loaded or written (no storage round trip). */
  async current(): Promise<MailboxList> {
    return this.cached?.list ?? this.load();
  }

  /** Applies `change` to the freshest list and writes it back; returns what `change` returned. */
  update<T>(change: (list: MailboxList, stamp: Stamp) => [MailboxList, T]): Promise<T> {
    return this.mutex.run(async () => {
      const row = await this.rows.read(PK, SK);
      const list = mergeMailboxLists(
        (row?.values ?? []).map((v) => decodeMailboxList(open(this.key, v, CONTEXT))),
      );
      const nowMs = Date.now();
      this.lastTs = newTimestamp(this.lastTs, nowMs);
      const [next, result] = change(list, { ts: this.lastTs, nowMs, newId: newMailId });
      await this.rows.insert(PK, SK, seal(this.key, encodeMailboxList(next), CONTEXT), row?.token);
      this.cached = { list: next };
      return result;
    });
  }
}
