/**
 * The key root's bytes as this process last read them from storage, kept in memory so that the
 * next unlock can start Argon2id before its own read of `keys/root` answers: on a remote store a
 * LOGIN then waits for the longer of the two, not for both one after the other (issue 11).
 *
 * The read made at the unlock still decides. The keys derived from the kept bytes are used only
 * when the bytes read now are the same, byte for byte: then they are what an unlock of the bytes
 * read now gives, and so is an error (a wrong password, a damaged entry). When the bytes differ (a
 * password changed or a rekey on another computer, or a host that served something else before),
 * whatever the kept bytes gave is dropped, and the bytes read now are unlocked as if nothing had
 * been kept. A host cannot make a login succeed, or run with weaker Argon2id parameters, by what
 * it served earlier; the most it gains is one wasted derivation within KEY_ROOT_LIMITS, which it
 * could already ask for at every login. The early derivation is awaited before the second starts,
 * so one unlock never runs two at once.
 */
import { parseKeyRoot, unlockKeyRoot, wipeKeys, type UnlockedKeys } from "../crypto/keyRoot.ts";
import { equalBytes } from "../crypto/sodium.ts";

type Unlock = typeof unlockKeyRoot;

export class KeptKeyRoot {
  private bytes: Uint8Array | undefined;

  /** `unlock` is the key root's own; a test passes one that records its calls. */
  constructor(private readonly unlock: Unlock = unlockKeyRoot) {}

  /** Keeps `bytes` for the next unlock, when they parse as a key root (else keeps nothing). */
  remember(bytes: Uint8Array | null): void {
    this.bytes = undefined;
    if (!bytes) return;
    try {
      parseKeyRoot(bytes);
      this.bytes = Uint8Array.from(bytes);
    } catch {
      // A root that does not parse is refused when it is read at the unlock: nothing to start.
    }
  }

  /**
   * The keys `password` opens in the root `read` resolves to (null: no account, `onMissing`),
   * with Argon2id on the kept bytes started at once, beside the read. Remembers what was read.
   */
  async unlockRead(
    read: Promise<Uint8Array | null>,
    password: string,
    onMissing: () => never,
  ): Promise<UnlockedKeys> {
    const kept = this.bytes;
    const early = kept ? settle(this.unlock(parseKeyRoot(kept), password)) : undefined;
    let bytes: Uint8Array | null;
    try {
      bytes = await read;
    } catch (err) {
      dropKeys(await early);
      throw err;
    }
    this.remember(bytes);
    if (!bytes) {
      dropKeys(await early);
      return onMissing();
    }
    if (early && kept && equalBytes(kept, bytes)) {
      const outcome = await early;
      if ("keys" in outcome) return outcome.keys;
      throw outcome.error;
    }
    dropKeys(await early);
    return this.unlock(parseKeyRoot(bytes), password);
  }
}

type Outcome = { keys: UnlockedKeys } | { error: unknown };

function settle(unlocking: Promise<UnlockedKeys>): Promise<Outcome> {
  return unlocking.then(
    (keys) => ({ keys }),
    (error: unknown) => ({ error }),
  );
}

function dropKeys(outcome: Outcome | undefined): void {
  if (outcome && "keys" in outcome) wipeKeys(outcome.keys);
}
