/**
 * An aerogramme-local IMAP server in this process for scenario tests: a fresh account on a given
 * store (memory by default), cheap Argon2id parameters, a free loopback port.
 */
import { createAccount } from "../../src/mail/account.ts";
import { AccountDirectory, type LoginThrottle } from "../../src/mail/accountDirectory.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { startImapServer } from "../../src/server/imap/server.ts";
import type { ConnectionLimits } from "../../src/server/imap/connectionLimits.ts";
import { IncomingMover } from "../../src/mail/incoming/index.ts";

export interface TestServer {
  port: number;
  user: string;
  password: string;
  store: Store;
  /** What the server logged, as "level message". */
  logs: string[];
  /** The account directory the IMAP server logs in through (its account is the sessions'). */
  directory: AccountDirectory;
  /** The incoming mail mover, when asked for: started at the first login, as `start` does. */
  mover?: IncomingMover;
  close(): Promise<void>;
}

/**
 * `joinExisting` serves an account another test server already created on the same storage: a
 * second computer on the same bucket.
 */
export async function startTestServer(
  opts: {
    store?: Store;
    appendLimit?: number;
    joinExisting?: boolean;
    tls?: { key: string | Buffer; cert: string | Buffer };
    /** Failed-login delays; tests default to 20 ms so that they run fast. */
    loginThrottle?: LoginThrottle;
    /** Connection caps and the idle timeout before login; the server's defaults otherwise. */
    limits?: ConnectionLimits;
    /** This computer's marks of what storage held (kept across restarts when given). */
    marksDir?: string;
    /** This computer's search indexes (none: every SEARCH scans), and the first pass's delay. */
    searchIndexDir?: string;
    searchIndexDelayMs?: number;
    /** This computer's list view, shared through the bucket in segments of `listSegmentSpan` UIDs. */
    listView?: { dir: string; listSegmentSpan?: number };
    /** Run an incoming mail mover that looks at the queue every `intervalMs`. */
    incoming?: { intervalMs: number };
  } = {},
): Promise<TestServer> {
  // A store made here is closed with the server: a memory store's pending long polls (30 s) would
  // otherwise keep the test process alive after its last test.
  const ownStore = opts.store === undefined;
  const store = opts.store ?? memoryStore();
  const user = "alice";
  const password = "correct horse battery staple";
  if (!opts.joinExisting) {
    const account = await createAccount(store, { user, password, kdf: TEST_KDF });
    await account.close();
  }
  const logs: string[] = [];
  const log = (level: "debug" | "info" | "warn" | "error", msg: string) => {
    if (process.env.IMAP_TEST_LOG) process.stderr.write(`[${level}] ${msg}\n`);
    logs.push(`${level} ${msg}`);
  };
  const directory = new AccountDirectory(store, user, {
    throttle: opts.loginThrottle ?? { baseDelayMs: 20 },
    account: {
      ...(opts.marksDir ? { marksDir: opts.marksDir } : {}),
      ...(opts.searchIndexDir ? { searchIndexDir: opts.searchIndexDir } : {}),
      ...(opts.searchIndexDelayMs !== undefined ? { searchIndexDelayMs: opts.searchIndexDelayMs } : {}),
      ...(opts.listView
        ? {
            listViewDir: opts.listView.dir,
            shareListView: true,
            ...(opts.listView.listSegmentSpan ? { listSegmentSpan: opts.listView.listSegmentSpan } : {}),
          }
        : {}),
      log,
    },
  });
  // As `start` does: the index is brought up to date from the first login on.
  directory.onLogin((account) => account.indexInBackground());
  const mover = opts.incoming ? new IncomingMover(store, { ...opts.incoming, log }) : undefined;
  if (mover) directory.onLogin((account) => void mover.startWith(account));
  const server = await startImapServer({
    host: "127.0.0.1",
    port: 0,
    directory,
    appendLimit: opts.appendLimit,
    ...(opts.tls ? { tls: opts.tls } : {}),
    ...opts.limits,
    log,
  });
  return {
    port: server.port,
    user,
    password,
    store,
    logs,
    directory,
    ...(mover ? { mover } : {}),
    close: async () => {
      await server.close();
      await mover?.close();
      await directory.close();
      if (ownStore) await store.close();
    },
  };
}
