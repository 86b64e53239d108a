/**
 * Which computer's mover files incoming mail right now: a lease in the row `incoming`/`lock`
 * (DESIGN.md §4), so two servers on one bucket rarely file the same delivery twice. The row holds
 * a random holder id and an expiry time, nothing about mail. It is best effort (rows are not
 * transactions): when two writes cross, both see both siblings and the smaller holder id wins; a
 * duplicate remains possible, a lost message does not (the queue entry goes only after filing).
 *
 * The value is sealed (padded) under the subkey LEASE_SUBKEY: only movers of the account, which
 * run unlocked, read it, and the host learns neither the expiry time nor who holds it (issue 12;
 * it was clear JSON). So the host cannot forge a lease either. A value that does not open (a clear
 * one from an older build, or the host's) counts as no lease, and the next take supersedes it.
 */
import { open, randomBytes, seal, type SealContext, type SealKey } from "../../crypto/aead.ts";
import type { RowStore } from "../../storage/types.ts";

export const LEASE_SUBKEY = "incoming-lease";

const LOCK_PK = "incoming";
const LOCK_SK = "lock";
const CONTEXT: SealContext = { purpose: "mover-lease", path: `${LOCK_PK}/${LOCK_SK}` };
/** Where the lease lives and what it is sealed as (a rekey re-seals it). */
export const LEASE_ROW = { pk: LOCK_PK, sk: LOCK_SK, context: CONTEXT, subkey: LEASE_SUBKEY } as const;
const LEASE_MS = 30_000;

interface LeaseValue {
  holder: string;
  until: number;
}

export class MoverLease {
  /** Random, and made afresh by each mover: nothing about the process or the computer. */
  private readonly holder = Buffer.from(randomBytes(8)).toString("hex");
  private heldUntil = 0;

  constructor(
    private readonly rows: RowStore,
    /** The account's LEASE_SUBKEY. */
    private readonly key: SealKey,
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
    await this.rows.insert(LOCK_PK, LOCK_SK, this.encode({ holder: this.holder, until }), row?.token);
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
    const values = (row?.values ?? []).map((v) => this.decode(v));
    if (row && values.every((v) => v?.holder === this.holder))
      await this.rows.delete(LOCK_PK, LOCK_SK, row.token);
  }

  private othersLive(values: Uint8Array[], now: number): LeaseValue[] {
    return values
      .map((v) => this.decode(v))
      .filter((v): v is LeaseValue => v !== undefined && v.holder !== this.holder && v.until > now);
  }

  private encode(v: LeaseValue): Uint8Array {
    return seal(this.key, new TextEncoder().encode(JSON.stringify(v)), CONTEXT);
  }

  private decode(bytes: Uint8Array): LeaseValue | undefined {
    try {
      const plain = open(this.key, bytes, CONTEXT);
      const v = JSON.parse(new TextDecoder().decode(plain)) as Partial<LeaseValue>;
      return typeof v.holder === "string" && typeof v.until === "number" ? (v as LeaseValue) : undefined;
    } catch {
      return undefined;
    }
  }
}
