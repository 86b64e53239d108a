/**
 * Reads and writes the sealed mailbox list row (`mailboxes`/`list`). Siblings left by concurrent
 * writers on other computers are merged on read; a write carries the token of the read it merged,
 * so it supersedes exactly those siblings, and stamps its changes after every stamp it read (a
 * computer whose clock is behind must not lose to what it read, nor move a name's stamp back).
 * With a mark book, every list read is checked against this computer's mark (mailboxListMark.ts)
 * and refused with RolledBack when it went back; the mark is saved before the list is used.
 */
import { open, seal, type SealContext, type SealKey } from "../crypto/aead.ts";
import { RolledBack } from "../errors.ts";
import { newTimestamp } from "../sync/index.ts";
import type { RowEntry, RowStore } from "../storage/types.ts";
import type { MarkBook } from "./localMarks.ts";
import {
  decodeListMark,
  encodeListMark,
  listMarkOf,
  listRegression,
  sameListMark,
  type ListMark,
} from "./mailboxListMark.ts";
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
/** How old a read started at login may be and still answer the first load. */
const PRIMED_MAX_AGE_MS = 3_000;
const CONTEXT: SealContext = { purpose: "mailbox-list", path: `${PK}/${SK}` };

export class MailboxListStore {
  private readonly mutex = new Mutex();
  private lastTs: string | undefined;
  private cached: { list: MailboxList; token?: string } | undefined;
  /** The last read loadRecent started, and when (performance.now()); dropped by every write. */
  private recentLoad: { at: number; list: Promise<MailboxList> } | undefined;
  /**
   * A read of the row started before the key was known (openAccount), for the first load; `list`,
   * once loginList opened it.
   */
  private primed: { at: number; row: Promise<RowEntry | null>; list?: Promise<MailboxList> } | undefined;
  private mark: ListMark | undefined;
  /** Save the next mark even if unchanged (first read, or after a refusal): that clears an alarm. */
  private saveAnyway = true;

  constructor(
    private readonly rows: RowStore,
    private readonly key: SealKey,
    private readonly marks?: MarkBook,
  ) {}

  /** Reads the list's row, sealed as it is stored: for `prime`, before the key is known. */
  static readRow(rows: RowStore): Promise<RowEntry | null> {
    return rows.read(PK, SK);
  }

  /**
   * Hands over a read of the list's row that started before the key was known: at login it goes
   * beside the key root's read and Argon2id, and a client's LIST right after LOGIN (the first
   * load, within PRIMED_MAX_AGE_MS of the read's start) takes it instead of a round trip of its own.
   * Such a LIST may miss a mailbox another computer made during the LOGIN, as if made just after
   * the LIST. What it holds is opened and checked against the mark as any read is.
   */
  prime(row: Promise<RowEntry | null>, startedAt: number): void {
    row.catch(() => undefined); // a failed one is read again by the load that would have taken it
    this.primed = { at: startedAt, row };
  }

  /**
   * The merged list as storage has it now; with `loginRead`, the read started at login (`prime`)
   * if it is the first load, within PRIMED_MAX_AGE_MS of its start: only for a client's LIST.
   */
  async load(options: { loginRead?: boolean } = {}): Promise<MailboxList> {
    const primed = this.takePrimed(options.loginRead === true);
    if (primed) {
      const row = await primed.row.catch(() => undefined); // a failed read is made again below
      if (row !== undefined) return primed.list ?? this.adopt(row);
    }
    return this.adopt(await this.rows.read(PK, SK));
  }

  /**
   * The list that the read started at login holds, without using the read up: the first load with
   * `loginRead` still takes it, as this same list. For a mailbox opened at login, ahead of the
   * client's SELECT (Account.openAhead). `opened`: authenticated, not yet checked against the
   * mark (whose save waits on a disk flush); `checked`: as a load's. Undefined when there is no
   * such read, or it started more than PRIMED_MAX_AGE_MS ago.
   */
  loginList(): { opened: Promise<MailboxList>; checked: Promise<MailboxList> } | undefined {
    const primed = this.primed;
    if (!primed || performance.now() - primed.at > PRIMED_MAX_AGE_MS) return undefined;
    const opened = primed.row.then((row) => this.openRow(row));
    primed.list ??= Promise.all([primed.row, opened]).then(([row, list]) => this.adopt(row, list));
    opened.catch(() => undefined);
    primed.list.catch(() => undefined); // the load that takes it reads again, or gets the refusal
    return { opened, checked: primed.list };
  }

  /** Opens and merges the row's siblings. */
  private openRow(row: RowEntry | null): MailboxList {
    return mergeMailboxLists((row?.values ?? []).map((v) => decodeMailboxList(open(this.key, v, CONTEXT))));
  }

  /** Checks the row's list against the mark and keeps it. */
  private async adopt(row: RowEntry | null, list = this.openRow(row)): Promise<MailboxList> {
    await this.witness(list);
    this.cached = { list, token: row?.token };
    return list;
  }

  /** The primed read, if this load may take it; any later load reads afresh. */
  private takePrimed(
    wanted: boolean,
  ): { row: Promise<RowEntry | null>; list?: Promise<MailboxList> } | undefined {
    const primed = this.primed;
    this.primed = undefined;
    if (!wanted || !primed || performance.now() - primed.at > PRIMED_MAX_AGE_MS) return undefined;
    return primed;
  }

  /** Refuses a list older than this computer's mark; otherwise moves the mark up to it, durably. */
  private async witness(list: MailboxList): Promise<void> {
    if (!this.marks) return;
    this.mark ??= decodeListMark(await this.marks.load(`${PK}/${SK}`));
    const regression = listRegression(this.mark, list);
    if (regression !== undefined) {
      const err = new RolledBack(
        `storage went back at ${PK}/${SK}: ${regression}; refusing it, and writing nothing over it`,
      );
      this.saveAnyway = true;
      await this.marks.alarm(`${PK}/${SK}`, err.message).catch(() => undefined); // the refusal stands
      throw err;
    }
    const next = listMarkOf(list, this.mark);
    if (sameListMark(next, this.mark) && !this.saveAnyway) return;
    await this.marks.save(`${PK}/${SK}`, encodeListMark(next));
    this.mark = next;
    this.saveAnyway = false;
  }

  /**
   * The list as a read started at most `maxAgeMs` ago found it (sharing one in flight), else a
   * new read: a burst of APPENDs checks its mailbox's name once, not once per message.
   */
  loadRecent(maxAgeMs: number): Promise<MailboxList> {
    const now = performance.now();
    if (this.recentLoad && now - this.recentLoad.at <= maxAgeMs) return this.recentLoad.list;
    const list = this.load();
    const entry = { at: now, list };
    this.recentLoad = entry;
    list.catch(() => {
      if (this.recentLoad === entry) this.recentLoad = undefined; // the next caller reads again
    });
    return list;
  }

  /** The list as last loaded or written, if any: no storage round trip, and none started. */
  peek(): MailboxList | undefined {
    return this.cached?.list;
  }

  /** The list as last loaded or written (no storage round trip). */
  async current(): Promise<MailboxList> {
    return this.cached?.list ?? this.load();
  }

  /** Applies `change` to the freshest list and writes it back; returns what `change` returned. */
  update<T>(change: (list: MailboxList, stamp: Stamp) => [MailboxList, T]): Promise<T> {
    return this.mutex.run(async () => {
      this.recentLoad = undefined;
      this.primed = undefined;
      const row = await this.rows.read(PK, SK);
      const list = mergeMailboxLists(
        (row?.values ?? []).map((v) => decodeMailboxList(open(this.key, v, CONTEXT))),
      );
      await this.witness(list);
      const nowMs = Date.now();
      let newest = this.lastTs;
      for (const entry of list.values()) if (newest === undefined || entry.ts > newest) newest = entry.ts;
      this.lastTs = newTimestamp(newest, nowMs);
      const [next, result] = change(list, { ts: this.lastTs, nowMs, newId: newMailId });
      await this.rows.insert(PK, SK, seal(this.key, encodeMailboxList(next), CONTEXT), row?.token);
      await this.witness(next);
      this.cached = { list: next };
      this.recentLoad = undefined; // read before this write: it does not hold it
      return result;
    });
  }
}
