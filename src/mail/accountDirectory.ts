/**
 * Login for the IMAP server: the one user of this store, opened with their password. Several
 * sessions of one user share one unlocked Account. After the first successful unlock a later login
 * is checked against a keyed hash held only in memory, so a second connection (Thunderbird opens
 * two) does not pay for Argon2id again. Failures are slowed down more and more.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { AuthFailed } from "../errors.ts";
import type { Store } from "../storage/types.ts";
import { openAccount, type Account, type AccountOptions } from "./account.ts";
import { Mutex } from "./mutex.ts";

const MAX_DELAY_MS = 10_000;

export class AccountDirectory {
  private account: Account | undefined;
  private verifier: Buffer | undefined;
  private readonly hmacKey = randomBytes(32);
  private failures = 0;
  private readonly unlocking = new Mutex();

  constructor(
    private readonly store: Store,
    readonly user: string,
    private readonly baseDelayMs = 500,
    private readonly options: AccountOptions = {},
  ) {}

  private digest(password: string): Buffer {
    return createHmac("sha256", this.hmacKey).update(password, "utf8").digest();
  }

  /** The account, or AuthFailed after a delay that grows with consecutive failures. */
  login(user: string, password: string): Promise<Account> {
    return this.unlocking.run(async () => {
      try {
        if (user !== this.user) throw new AuthFailed("unknown user or wrong password");
        if (this.account && this.verifier && timingSafeEqual(this.digest(password), this.verifier)) {
          // The password that unlocked the account: no Argon2id again.
        } else {
          // First login, or another of the account's passwords (or a wrong one): a full unlock.
          const opened = await openAccount(this.store, password, this.options);
          if (this.account) await opened.close();
          else {
            this.account = opened;
            this.verifier = this.digest(password);
          }
        }
        this.failures = 0;
        return this.account;
      } catch (err) {
        if (!(err instanceof AuthFailed)) throw err;
        this.failures += 1;
        const delay = Math.min(MAX_DELAY_MS, this.baseDelayMs * 2 ** (this.failures - 1));
        await new Promise((r) => setTimeout(r, delay));
        throw new AuthFailed("unknown user or wrong password");
      }
    });
  }

  /** Forget the cached password check (after a password change). */
  forgetVerifier(): void {
    this.verifier = undefined;
  }

  async close(): Promise<void> {
    await this.account?.close();
    this.account = undefined;
    this.verifier = undefined;
  }
}
