/**
 * An aerogramme-local IMAP server in this process for scenario tests: a fresh account on a given
 * store (memory by default), cheap Argon2id parameters, a free loopback port.
 */
import { createAccount } from "../../src/mail/account.ts";
import { AccountDirectory } from "../../src/mail/accountDirectory.ts";
import { TEST_KDF } from "../../src/crypto/passwordKey.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { Store } from "../../src/storage/types.ts";
import { startImapServer } from "../../src/server/imap/server.ts";

export interface TestServer {
  port: number;
  user: string;
  password: string;
  store: Store;
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
  const directory = new AccountDirectory(store, user, 20);
  const logs: string[] = [];
  const server = await startImapServer({
    host: "127.0.0.1",
    port: 0,
    directory,
    appendLimit: opts.appendLimit,
    ...(opts.tls ? { tls: opts.tls } : {}),
    log: (level, msg) => {
      if (process.env.IMAP_TEST_LOG) process.stderr.write(`[${level}] ${msg}\n`);
      logs.push(`${level} ${msg}`);
    },
  });
  return {
    port: server.port,
    user,
    password,
    store,
    close: async () => {
      await server.close();
      await directory.close();
      if (ownStore) await store.close();
    },
  };
}
