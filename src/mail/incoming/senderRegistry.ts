/**
 * The senders the account trusts to deliver (issue 12): the X25519 public keys of the homes whose
 * `deliver` boxes its deliveries (crypto/senderBox.ts). Mail from any other sender, and anonymous
 * sealed boxes (which anyone can make: the account's public key is in clear), is filed with the
 * keyword `$Unverified`.
 *
 * Row `incoming`/`senders`, sealed under the subkey SENDERS_SUBKEY: only the account can add a key,
 * so the host cannot make its own key trusted. Keys are only added; concurrent writers leave
 * siblings, merged as their union. A host that serves an older copy or removes the row makes mail
 * look less trusted (`$Unverified`), never more.
 *
 * Plaintext: version (1) | public keys (32 bytes each)
 */
import { open, seal, type SealContext, type SealKey } from "../../crypto/aead.ts";
import { Tampered } from "../../errors.ts";
import type { RowEntry, RowStore } from "../../storage/types.ts";

export const SENDERS_SUBKEY = "incoming-senders";
/** The keyword of mail from a sender the account did not register (RFC 3501 §2.3.2 keyword). */
export const UNVERIFIED_KEYWORD = "$Unverified";

const PK = "incoming";
const SK = "senders";
const CONTEXT: SealContext = { purpose: "delivery-senders", path: `${PK}/${SK}` };
/** Where the registry lives and what it is sealed as (a rekey re-seals it). */
export const SENDERS_ROW = { pk: PK, sk: SK, context: CONTEXT, subkey: SENDERS_SUBKEY } as const;
const VERSION = 1;
const KEY_BYTES = 32;

export class SenderRegistry {
  constructor(
    private readonly rows: RowStore,
    private readonly key: SealKey,
  ) {}

  /** The registered public keys, hex. */
  async load(): Promise<Set<string>> {
    return (await this.read()).senders;
  }

  /**
   * Registers `publicKey` (durable when it resolves); nothing is written when it is there already.
   * `started`: a read of the row already in flight (one started at login, beside Argon2id), used
   * instead of a read of its own; the write carries its token as any read's.
   */
  async register(publicKey: Uint8Array, started?: Promise<RowEntry | null>): Promise<void> {
    if (publicKey.length !== KEY_BYTES) throw new Tampered("a sender public key is 32 bytes");
    const { senders, token, siblings } = await this.read(started);
    const hex = Buffer.from(publicKey).toString("hex");
    if (senders.has(hex) && siblings <= 1) return;
    senders.add(hex);
    await this.rows.insert(PK, SK, this.encode(senders), token);
  }

  private async read(
    started?: Promise<RowEntry | null>,
  ): Promise<{ senders: Set<string>; token: string | undefined; siblings: number }> {
    const early = started ? await started.catch(() => undefined) : undefined;
    const row = early !== undefined ? early : await this.rows.read(PK, SK);
    const senders = new Set<string>();
    for (const value of row?.values ?? []) for (const hex of this.decode(value)) senders.add(hex);
    return { senders, token: row?.token, siblings: row?.values.length ?? 0 };
  }

  private encode(senders: Set<string>): Uint8Array {
    const keys = [...senders].sort();
    const plain = Buffer.alloc(1 + KEY_BYTES * keys.length);
    plain[0] = VERSION;
    keys.forEach((hex, i) => plain.write(hex, 1 + KEY_BYTES * i, "hex"));
    return seal(this.key, plain, CONTEXT);
  }

  private decode(sealed: Uint8Array): string[] {
    const plain = Buffer.from(open(this.key, sealed, CONTEXT));
    if (plain[0] !== VERSION || (plain.length - 1) % KEY_BYTES !== 0)
      throw new Tampered("the registry of delivery senders has an unknown shape");
    const out: string[] = [];
    for (let at = 1; at < plain.length; at += KEY_BYTES) out.push(plain.toString("hex", at, at + KEY_BYTES));
    return out;
  }
}
