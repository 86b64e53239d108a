/**
 * Which computer's mover files incoming mail right now: a lease in the row `incoming`/`lock`
 * (DESIGN.md §4), so two servers on one bucket rarely file the same delivery twice. The row holds
 * a random holder id and an expiry time, nothing about mail. It is best effort (rows are not
 * transactions): when two writes cross, both see both siblings and the smaller holder id wins; a
 * duplicate remains possible, a lost message does not (the queue entry goes only after filing).
 */
import { randomBytes } from "node:crypto";
import type { RowStore } from "../../storage/types.ts";

const LOCK_PK = "incoming";
const LOCK_SK = "lock";
const LEASE_MS = 30_000;

interface LeaseValue {
  holder: string;
  until: number;
}

export class MoverLease {
  private readonly holder = randomBytes(8).toString("hex");
  private heldUntil = 0;

  constructor(
    private readonly rows: RowStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this mover may file now (it holds, or just took, the lease). */
  async take(): Promise<boolean> {
    const now = this.now();
    // Renew only past half the lease: no row write at every look at the queue.
    if (this.heldUntil - now > LEASE_MS / 2) return true;
    const row = await this.rows.read(LOCK_PK, LOCK_SK);
    if (this.othersLive(row?.values ?? [], now).length > 0) return false;
    const until = now + LEASE_MS;
    await this.rows.insert(LOCK_PK, LOCK_SK, encode({ holder: this.holder, until }), row?.token);
    const after = await this.rows.read(LOCK_PK, LOCK_SK);
    const rivals = this.othersLive(after?.values ?? [], now);
    if (rivals.some((r) => r.holder < this.holder)) return false;
    this.heldUntil = until;
    return true;
  }

  async release(): Promise<void> {
    if (this.heldUntil <= this.now()) return;
    this.heldUntil = 0;
    const row = await this.rows.read(LOCK_PK, LOCK_SK);
    const values = (row?.values ?? []).map(decode);
    if (row && values.every((v) => v?.holder === this.holder))
      await this.rows.delete(LOCK_PK, LOCK_SK, row.token);
  }

  private othersLive(values: Uint8Array[], now: number): LeaseValue[] {
    return values
      .map(decode)
      .filter((v): v is LeaseValue => v !== undefined && v.holder !== this.holder && v.until > now);
  }
}

function encode(v: LeaseValue): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v));
}

function decode(bytes: Uint8Array): LeaseValue | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LeaseValue>;
    return typeof v.holder === "string" && typeof v.until === "number" ? (v as LeaseValue) : undefined;
  } catch {
    return undefined;
  }
}
