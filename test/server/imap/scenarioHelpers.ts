/** Shared set-up for raw-IMAP scenario tests: a server, logged-in connections, appended messages. */
import { after, before } from "node:test";
import { RawImap } from "../../support/rawImap.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import type { Store } from "../../../src/storage/types.ts";
import type { GaragePeer } from "../../support/garage.ts";
import { memoryStore } from "../../../src/storage/memoryStore.ts";

export function message(subject: string, body: string, extra = ""): string {
  return (
    `From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: ${subject}\r\n` +
    `Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}@example.org>\r\n${extra}\r\n${body}\r\n`
  );
}

/**
 * Which store the scenario servers use: memory by default; `AGL_IMAP_BACKEND=garage` runs the same
 * scenarios on a real one-node Garage (S3 + K2V), as test/server/imap/onGarage.test.ts does.
 */
export const scenarioBackend = process.env.AGL_IMAP_BACKEND ?? "memory";

export async function openBaseStore(): Promise<{ store: Store; cleanup: () => Promise<void> }> {
  if (scenarioBackend === "memory") {
    const store = memoryStore();
    return { store, cleanup: () => store.close() };
  }
  if (scenarioBackend !== "garage") throw new Error(`unknown AGL_IMAP_BACKEND ${scenarioBackend}`);
  const { openGarageStore } = await import("../../../src/storage/garage/index.ts");
  const { peer, release } = await scenarioGarage.acquire();
  // A bucket of its own for each store: the files that share the Garage share nothing else.
  const bucket = `scenario-${++bucketsMade}`;
  try {
    await peer.cli("bucket", "create", bucket);
    await peer.cli("bucket", "allow", "--read", "--write", "--owner", bucket, "--key", peer.accessKeyId);
  } catch (err) {
    await release();
    throw err;
  }
  const store = openGarageStore(
    { ...peer, bucket },
    { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey },
  );
  return {
    store,
    cleanup: async () => {
      await store.close();
      await release();
    },
  };
}

let bucketsMade = 0;

/**
 * The Garage of this process's scenario stores. onGarage.test.ts runs several scenario files one
 * after another in one process: a Garage started for each cost ~1 CPU s of set-up (the daemon and
 * six CLI calls) for a few seconds of use. It is stopped once nobody has used it for a second, so
 * the next file, whose store opens right after the last one closed, finds it still there, and a
 * file run alone ends with no daemon left behind.
 */
const scenarioGarage = (() => {
  let users = 0;
  let starting: Promise<GaragePeer> | undefined;
  let idle: NodeJS.Timeout | undefined;
  const stop = async () => {
    const peer = await starting?.catch(() => undefined);
    starting = undefined;
    await peer?.stop();
  };
  return {
    async acquire(): Promise<{ peer: GaragePeer; release: () => Promise<void> }> {
      clearTimeout(idle);
      users++;
      const { startGarage } = await import("../../support/garage.ts");
      starting ??= startGarage();
      let peer: GaragePeer;
      try {
        peer = await starting;
      } catch (err) {
        users--;
        starting = undefined;
        throw err;
      }
      let released = false;
      const release = () => {
        if (!released && --users === 0) idle = setTimeout(() => void stop(), 1_000);
        released = true;
        return Promise.resolve();
      };
      return { peer, release };
    },
  };
})();

/**
 * One server for the whole file, started before its tests and closed after them. `wrap` may put a
 * test double around the real store (counting reads, simulating an outage).
 */
export function useServer(opts: { wrap?: (base: Store) => Store; appendLimit?: number } = {}): {
  server: () => TestServer;
  ready: () => Promise<TestServer>;
} {
  let server: TestServer | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let starting: Promise<TestServer> | undefined;
  const start = () =>
    (starting ??= (async () => {
      const base = await openBaseStore();
      cleanup = base.cleanup;
      server = await startTestServer({
        store: opts.wrap ? opts.wrap(base.store) : base.store,
        ...(opts.appendLimit ? { appendLimit: opts.appendLimit } : {}),
      });
      return server;
    })());
  // Hooks of one file may run in any order relative to each other: `ready` starts it on demand.
  before(start);
  after(async () => {
    await starting?.catch(() => undefined);
    await server?.close();
    await cleanup?.();
  });
  return {
    server: () => {
      if (!server) throw new Error("server not started");
      return server;
    },
    ready: start,
  };
}

export async function connected(server: TestServer): Promise<RawImap> {
  const c = await RawImap.connect(server.port);
  await c.readLine();
  return c;
}

export async function loggedIn(server: TestServer): Promise<RawImap> {
  const c = await connected(server);
  const r = await c.command(`LOGIN ${server.user} "${server.password}"`);
  if (!r.at(-1)!.includes("OK")) throw new Error(`login failed: ${r.join("\n")}`);
  return c;
}

/** APPENDs with a synchronizing literal, as most clients do; returns the tagged line. */
export async function appendRaw(
  c: RawImap,
  mailbox: string,
  raw: string,
  flags = "",
  date = "",
): Promise<string> {
  const tag = c.nextTag();
  const bytes = Buffer.from(raw);
  c.write(
    `${tag} APPEND ${mailbox}${flags ? ` (${flags})` : ""}${date ? ` "${date}"` : ""} {${bytes.length}}\r\n`,
  );
  const cont = await c.readLine();
  if (!cont.startsWith("+")) throw new Error(`no continuation: ${cont}`);
  c.write(Buffer.concat([bytes, Buffer.from("\r\n")]));
  const lines = await c.until(tag);
  return lines.at(-1)!;
}

export function tagged(lines: string[]): string {
  return lines.at(-1)!.replace(/^\S+ /, "");
}
