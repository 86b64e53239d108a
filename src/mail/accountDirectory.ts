/**
 * Login for the IMAP server: the one user of this store, opened with their password. Several
 * sessions of one user share one unlocked Account. After the first successful unlock a later login
 * is checked against a keyed hash held only in memory, so a second connection (Thunderbird opens
 * two) does not pay for Argon2id again.
 *
 * Failures are slowed down more and more, but only the failing caller waits: its delay runs after
 * the unlock lock is released, so wrong passwords sent on other connections never hold up the
 * owner's login. Full unlocks (Argon2id) run one at a time; at most `maxPendingUnlocks` different
 * passwords may be running or queued for one, and concurrent logins with the same password share
 * one unlock, so a flood of guesses is refused at once instead of making everyone wait behind it.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { AuthFailed, Unavailable } from "../errors.ts";
import type { Store } from "../storage/types.ts";
import { openAccount, type Account, type AccountOptions } from "./account.ts";
import { Mutex } from "./mutex.ts";

export interface LoginThrottle {
  /** Delay of the first failure; each consecutive failure doubles it. Default 500 ms. */
  baseDelayMs?: number;
  /** Longest delay. Default 10 s. */
  maxDelayMs?: number;
  /** Different passwords being or waiting to be checked with Argon2id at once. Default 4. */
  maxPendingUnlocks?: number;
  /** How a failure waits its delay. Default a timer; a test records the delays asked for. */
  wait?: (ms: number) => Promise<void>;
}

export interface AccountDirectoryOptions {
  throttle?: LoginThrottle;
  /** Runs once the account is first unlocked; when it throws, the login fails with its error. */
  onUnlock?: (account: Account) => Promise<void>;
  /** How the account is opened (where this computer keeps its sealed marks, ...). */
  account?: AccountOptions;
}

export class AccountDirectory {
  private account: Account | undefined;
  private verifier: Buffer | undefined;
  private readonly hmacKey = randomBytes(32);
  private failures = 0;
  private readonly unlocking = new Mutex();
  private readonly loginListeners: ((account: Account, password: string) => void)[] = [];
  /** Full unlocks running or queued, by the hex keyed hash of their password. */
  private readonly pending = new Map<string, Promise<Account>>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxPendingUnlocks: number;
  private readonly wait: (ms: number) => Promise<void>;
  private readonly onUnlock: ((account: Account) => Promise<void>) | undefined;
  private readonly accountOptions: AccountOptions;

  constructor(
    private readonly store: Store,
    readonly user: string,
    opts: AccountDirectoryOptions = {},
  ) {
    const throttle = opts.throttle ?? {};
    this.baseDelayMs = throttle.baseDelayMs ?? 500;
    this.maxDelayMs = throttle.maxDelayMs ?? 10_000;
    this.maxPendingUnlocks = throttle.maxPendingUnlocks ?? 4;
    this.wait = throttle.wait ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.onUnlock = opts.onUnlock;
    this.accountOptions = opts.account ?? {};
  }

  private digest(password: string): Buffer {
    return createHmac("sha256", this.hmacKey).update(password, "utf8").digest();
  }

  private matchesVerifier(digest: Buffer): boolean {
    return (
      this.account !== undefined && this.verifier !== undefined && timingSafeEqual(digest, this.verifier)
    );
  }

  /**
   * The account, or AuthFailed after a delay that grows with consecutive failures, or Unavailable
   * at once when too many other passwords are waiting to be checked.
   */
  async login(user: string, password: string): Promise<Account> {
    if (user !== this.user) return this.fail();
    const digest = this.digest(password);
    // The password that unlocked the account: no Argon2id, and no waiting behind anyone.
    if (this.matchesVerifier(digest) && !this.superseded()) return this.succeed(this.account!, password);
    const key = digest.toString("hex");
    let unlock = this.pending.get(key);
    if (!unlock) {
      if (this.pending.size >= this.maxPendingUnlocks) {
        throw new Unavailable("too many logins are being checked at once; try again in a few seconds");
      }
      unlock = this.unlocking.run(() => this.unlock(password, digest));
      this.pending.set(key, unlock);
      // Every waiter awaits `unlock` and gets its error; this only clears the entry.
      void unlock.catch(() => undefined).then(() => this.pending.delete(key));
    }
    let account: Account;
    try {
      account = await unlock;
    } catch (err) {
      if (err instanceof AuthFailed) return this.fail();
      throw err;
    }
    return this.succeed(account, password);
  }

  /** One full unlock, under the lock: first login, another of the account's passwords, or a wrong one. */
  private async unlock(password: string, digest: Buffer): Promise<Account> {
    // A login queued behind the one that unlocked the account, with the same password.
    if (this.matchesVerifier(digest) && !this.superseded()) return this.account!;
    const opened = await openAccount(this.store, password, this.accountOptions);
    // After a password change the verifier was forgotten: the next password that opens takes it.
    if (this.superseded()) this.verifier = undefined;
    this.verifier ??= digest;
    // A rekey on another computer: the account in hand holds only older keys and writes nothing
    // any more. The one just opened replaces it (sessions on the old one get NO [UNAVAILABLE]
    // and log in again); the old one is left to them, not closed under their feet.
    if (!this.account || this.superseded()) {
      await this.onUnlock?.(opened).catch(async (err: unknown) => {
        await opened.close();
        throw err;
      });
      this.account = opened;
      // Trusted now (onUnlock checked the key pin): INBOX, a client's likely first SELECT, opens
      // while it is busy with LOGIN's answer, CAPABILITY and LIST.
      opened.openAhead("INBOX");
      return opened;
    }
    await opened.close();
    return this.account;
  }

  private succeed(account: Account, password: string): Account {
    this.failures = 0;
    for (const listener of this.loginListeners) listener(account, password);
    return account;
  }

  /** Counts the failure, then waits outside the lock: only this caller is slowed down. */
  private async fail(): Promise<never> {
    this.failures += 1;
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(this.failures - 1, 30));
    await this.wait(delay);
    throw new AuthFailed("unknown user or wrong password");
  }

  /**
   * Called after every successful login, with the password that opened it (the daemon starts the
   * incoming mail mover from the first one: only then is the secret key at hand).
   */
  onLogin(listener: (account: Account, password: string) => void): void {
    this.loginListeners.push(listener);
  }

  /** Whether the unlocked account met a later key epoch than it holds (crypto/keyEpochs.ts). */
  private superseded(): boolean {
    return this.account?.epochs.supersededBy !== undefined;
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
