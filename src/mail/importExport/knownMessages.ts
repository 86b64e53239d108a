/**
 * What a mailbox already holds, by a SHA-256 of each message's stored (CRLF) bytes, so that an
 * import run again, or re-run after it was killed, adds nothing twice. No hash is stored anywhere:
 * the sealed bodies are the record. The mailbox's meta (one batched read) gives every message's
 * size; a body is opened and hashed only when a source message of the same size comes by, so an
 * import into a mailbox that holds other mail reads almost no bodies, and a re-run reads each
 * stored body once. Message-IDs are not used: two different messages may share one, and one
 * message edited keeps it.
 */
import { createHash } from "node:crypto";
import type { Account } from "../account.ts";
import type { Mailbox } from "../mailbox.ts";

const META_BATCH = 500;

export function messageHash(crlf: Uint8Array): string {
  return createHash("sha256").update(crlf).digest("hex");
}

export class KnownMessages {
  /** Messages not hashed yet, by stored size. */
  private readonly unhashed = new Map<number, string[]>();
  private readonly hashes = new Set<string>();

  private constructor(private readonly account: Account) {}

  static async of(account: Account, mailbox: Mailbox): Promise<KnownMessages> {
    const known = new KnownMessages(account);
    const ids = mailbox.index.uids.map((uid) => mailbox.index.byUid.get(uid)!.id);
    for (let i = 0; i < ids.length; i += META_BATCH) {
      const metas = await account.messages.getMeta(ids.slice(i, i + META_BATCH));
      for (const [id, meta] of metas) {
        const same = known.unhashed.get(meta.physicalSize);
        if (same) same.push(id);
        else known.unhashed.set(meta.physicalSize, [id]);
      }
    }
    return known;
  }

  /** True when the mailbox (or this import, earlier) holds these bytes; else remembers them. */
  async seenBefore(crlf: Uint8Array): Promise<boolean> {
    const pending = this.unhashed.get(crlf.length);
    if (pending) {
      this.unhashed.delete(crlf.length);
      const metas = await this.account.messages.getMeta(pending);
      for (const meta of metas.values()) this.hashes.add(messageHash(await this.account.messages.body(meta)));
    }
    const hash = messageHash(crlf);
    if (this.hashes.has(hash)) return true;
    this.hashes.add(hash);
    return false;
  }
}
