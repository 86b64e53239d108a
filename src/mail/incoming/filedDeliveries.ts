/**
 * The record of filed deliveries (issue 12): whoever can write to the bucket can put a delivery
 * box back under `incoming/` after the mover filed and deleted it, and it would be filed again (the
 * same "wire 10000 EUR" as UID 4 and again as UID 5). A box is bound to its blob key (the stream's
 * associated data), so a replay is always the same key; the mover refuses a key this record holds.
 *
 * Row `incoming`/`filed`, sealed under the subkey FILED_SUBKEY (only the account can write it, every
 * computer of the account reads it). It holds a floor and the ids filed above it: an id is kept
 * while its ts is within FILED_RETENTION_MS of now, then folded into the floor. An id at or below
 * the floor is "older than the record": it cannot be told apart from a replay, so the mover leaves
 * it in place unfiled (only a sender whose clock is more than the retention behind makes one).
 * Concurrent writers leave siblings; they merge as (highest floor, union of ids above it).
 *
 * Plaintext: version (1) | floor (14 bytes: the 28 hex digits of a ts) | ids (14 bytes each)
 * The row exists from the account's creation (or its first unlock by a build that knows it): a
 * missing row means the host removed it, and the mover refuses to file until someone looks.
 *
 * With a mark book (the account's, localMarks.ts), every read is checked against this computer's
 * mark of the record (filedMark.ts): a record served older than one seen before, after a restart
 * too, is refused with RolledBack (logged, with an alarm for `doctor`), and the mover files nothing.
 * The mark moves up after each read that passes and after each write, once the row is stored.
 */
import { open, seal, type SealContext, type SealKey } from "../../crypto/aead.ts";
import { RolledBack, Tampered } from "../../errors.ts";
import type { RowStore } from "../../storage/types.ts";
import { isTimestamp, timestampAt, TS_LENGTH } from "../../sync/timestamp.ts";
import type { MarkBook } from "../localMarks.ts";
import {
  decodeFiledMark,
  filedMarkOf,
  filedRegression,
  isEmptyFiledMark,
  sameFiledMark,
  type FiledMark,
} from "./filedMark.ts";

export const FILED_SUBKEY = "incoming-filed";
/** How long a filed id is kept one by one; older ones only raise the floor. */
export const FILED_RETENTION_MS = 7 * 24 * 3600 * 1000;

const PK = "incoming";
const SK = "filed";
const CONTEXT: SealContext = { purpose: "filed-deliveries", path: `${PK}/${SK}` };
/** Where the record lives and what it is sealed as (a rekey re-seals it). */
export const FILED_ROW = { pk: PK, sk: SK, context: CONTEXT, subkey: FILED_SUBKEY } as const;
const VERSION = 1;
const ID_BYTES = TS_LENGTH / 2;
const ZERO = "0".repeat(TS_LENGTH);

interface FiledState {
  floor: string;
  ids: Set<string>;
}

export type FiledVerdict = "new" | "filed" | "older";

export class FiledDeliveries {
  /** Everything this process has seen: a row served later never takes an id or the floor back. */
  private state: FiledState | undefined;
  /** This computer's mark, once loaded from `marks`. */
  private mark: FiledMark | undefined;
  /** Save the next mark even if unchanged (first read, or after a refusal): that clears an alarm. */
  private saveAnyway = true;
  /** The refusal last logged and left for `doctor`: a mover asks every few seconds, it is said once. */
  private alarmed: string | undefined;

  constructor(
    private readonly rows: RowStore,
    private readonly key: SealKey,
    private readonly now: () => number = Date.now,
    /** Where this computer's mark of the record is kept; without it, no rollback check. */
    private readonly marks?: MarkBook,
  ) {}

  /**
   * Writes an empty record unless the row holds one; true when it wrote. Writes nothing where this
   * computer saw a record before: the host removed it, and the next read says so (RolledBack).
   */
  async ensureExists(): Promise<boolean> {
    const row = await this.rows.read(PK, SK);
    if (row && row.values.length > 0) return false;
    if (this.marks && !isEmptyFiledMark(await this.loadMark())) return false;
    await this.rows.insert(PK, SK, this.encode({ floor: ZERO, ids: new Set() }), row?.token);
    return true;
  }

  /** Reads the row and merges it into what this process knows. */
  async refresh(): Promise<void> {
    await this.read();
  }

  /** Where `name` (the ts of `incoming/<ts>`) stands, from the last refresh or add. */
  verdict(name: string): FiledVerdict {
    const state = this.state;
    if (!state) throw new Error("FiledDeliveries.verdict before refresh");
    if (state.ids.has(name)) return "filed";
    return name <= state.floor ? "older" : "new";
  }

  /** Records `name` as filed (durable when it resolves). */
  async add(name: string): Promise<void> {
    const { token } = await this.read();
    const state = this.state!;
    state.ids.add(name);
    const horizon = timestampAt(this.now() - FILED_RETENTION_MS);
    for (const id of state.ids) {
      if (id >= horizon) continue;
      state.ids.delete(id);
      if (id > state.floor) state.floor = id;
    }
    await this.rows.insert(PK, SK, this.encode(state), token);
    await this.saveMark(filedMarkOf(state.floor, state.ids));
  }

  private async read(): Promise<{ token: string | undefined }> {
    const row = await this.rows.read(PK, SK);
    const served = row && row.values.length > 0 ? this.mergeSiblings(row.values) : undefined;
    await this.witness(served);
    if (!row || !served)
      throw new Tampered(
        this.state
          ? "the record of filed deliveries (row incoming/filed) disappeared while the mover ran: the storage host removed it"
          : "the record of filed deliveries (row incoming/filed) is missing: the storage host removed it (or the bucket was restored from an older copy). Nothing is filed until it is back; docs/crypto.md says how to start a new one",
      );
    const merged = this.state ?? { floor: ZERO, ids: new Set<string>() };
    if (served.floor > merged.floor) merged.floor = served.floor;
    for (const id of served.ids) merged.ids.add(id);
    for (const id of merged.ids) if (id <= merged.floor) merged.ids.delete(id);
    this.state = merged;
    return { token: row.token };
  }

  /** Siblings merged as (highest floor, union of ids above it). */
  private mergeSiblings(values: Uint8Array[]): FiledState {
    const merged: FiledState = { floor: ZERO, ids: new Set() };
    for (const value of values) {
      const sibling = this.decode(value);
      if (sibling.floor > merged.floor) merged.floor = sibling.floor;
      for (const id of sibling.ids) merged.ids.add(id);
    }
    for (const id of merged.ids) if (id <= merged.floor) merged.ids.delete(id);
    return merged;
  }

  /** Refuses a record older than this computer's mark (none: a missing row); else moves the mark up. */
  private async witness(served: FiledState | undefined): Promise<void> {
    if (!this.marks) return;
    const mark = await this.loadMark();
    if (!served && isEmptyFiledMark(mark)) return; // missing from the start: read() says so
    const regression = served
      ? filedRegression(mark, served.floor, served.ids)
      : `the row is gone, though this computer saw it hold ${mark.ids.length} filed delivery id(s) above floor ${mark.floor}`;
    if (served && regression === undefined) return this.saveMark(filedMarkOf(served.floor, served.ids));
    const err = new RolledBack(
      `storage went back at ${PK}/${SK} (the record of filed deliveries): ${regression}; filing nothing, so that no delivery is filed twice, and writing nothing over it`,
    );
    this.saveAnyway = true;
    if (this.alarmed !== err.message) {
      this.alarmed = err.message;
      await this.marks.alarm(`${PK}/${SK}`, err.message).catch(() => undefined); // the refusal stands
    }
    throw err;
  }

  private async loadMark(): Promise<FiledMark> {
    this.mark ??= decodeFiledMark(await this.marks!.load(`${PK}/${SK}`));
    return this.mark;
  }

  private async saveMark(next: FiledMark): Promise<void> {
    if (!this.marks) return;
    if (!this.saveAnyway && this.mark && sameFiledMark(next, this.mark)) return;
    await this.marks.save(`${PK}/${SK}`, next);
    this.mark = next;
    this.saveAnyway = false;
    this.alarmed = undefined;
  }

  private encode(state: FiledState): Uint8Array {
    const ids = [...state.ids].sort();
    const plain = Buffer.alloc(1 + ID_BYTES * (1 + ids.length));
    plain[0] = VERSION;
    plain.write(state.floor, 1, "hex");
    ids.forEach((id, i) => plain.write(id, 1 + ID_BYTES * (i + 1), "hex"));
    return seal(this.key, plain, CONTEXT);
  }

  private decode(sealed: Uint8Array): FiledState {
    const plain = Buffer.from(open(this.key, sealed, CONTEXT));
    if (plain[0] !== VERSION || (plain.length - 1) % ID_BYTES !== 0 || plain.length < 1 + ID_BYTES)
      throw new Tampered("the record of filed deliveries has an unknown shape");
    const at = (i: number) => plain.toString("hex", 1 + ID_BYTES * i, 1 + ID_BYTES * (i + 1));
    const ids = new Set<string>();
    for (let i = 1; i < (plain.length - 1) / ID_BYTES; i++) ids.add(at(i));
    const floor = at(0);
    if (!isTimestamp(floor)) throw new Tampered("the record of filed deliveries has an unknown shape");
    return { floor, ids };
  }
}

/** The ts part of an incoming blob key, which is what the record keeps. */
export function filedName(blobKey: string): string {
  const name = blobKey.slice(blobKey.indexOf("/") + 1);
  if (!isTimestamp(name)) throw new Tampered(`${blobKey} is not an incoming key`);
  return name;
}
