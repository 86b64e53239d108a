/**
 * The servers the same session runs against. Each target starts from the same corpus and is stopped
 * by PID; a target that cannot start is skipped by the runner with its reason.
 *
 *   dovecot       Debian's dovecot-imapd on a Maildir (the reference)
 *   embedded      aerogramme-local, embedded store in a local folder
 *   garage        aerogramme-local on a one-node local Garage (through a 0 ms counting proxy),
 *                 metadata on LMDB as Garage's own default (benchGarageDbEngine)
 *   garage-delay  the same behind a proxy adding 20 ms each way (a remote host); its local cache
 *                 holds what `import` wrote on this computer (warm)
 *   garage-delay-cold  the same with the local cache deleted before the session: a second computer
 *                 meeting the mailbox for the first time
 *   garage-rtt100 a host on another continent: 50 ms each way (100 ms round trip), cache warm
 *   garage-rtt100-cold  the same with the local cache deleted before the session
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { startGarage, type GaragePeer } from "../test/support/garage.ts";
import { folderBytes, startAerogramme, type AglServer } from "./aerogramme.ts";
import type { Corpus } from "./corpus.ts";
import { startDelayProxy, type DelayProxy } from "./delayProxy.ts";
import { startDovecot, type DovecotServer } from "./dovecot.ts";
import type { Endpoint, StorageCounters } from "./session.ts";

export interface StorageStats {
  /** Bytes of files in the store's folder (local targets). */
  storedBytes?: number;
  storedFiles?: number;
  /** What crossed the storage proxy during the session (Garage targets). */
  requests?: number;
  connections?: number;
  bytesUp?: number;
  bytesDown?: number;
}

export interface RunningTarget extends Endpoint {
  /** The server process whose tree's RSS is sampled. */
  pid: number;
  notes: string[];
  /** Called just before the session: storage counters then cover the session only. */
  resetStorageStats?(): void;
  storageStats?(): Promise<StorageStats>;
  /** The storage proxies' counters now (Garage targets), for per-phase figures. */
  storageCounters?(): StorageCounters;
  /** kill -9 of the server and a start again on the same data (aerogramme-local targets). */
  crash?(beforeStart?: () => Promise<void>): Promise<{ host: string; port: number; pid: number }>;
  /** A clean stop and a start again on the same data (aerogramme-local targets). */
  restart?(beforeStart?: () => Promise<void>): Promise<{ host: string; port: number; pid: number }>;
  /**
   * A fresh server process just before the session, in the state the load left (the cold targets'
   * local cache deleted again): for a target loaded long before its session (Garage's).
   */
  fresh?(): Promise<{ host: string; port: number; pid: number }>;
}

export interface Target {
  name: string;
  /**
   * Loaded just before its own session, and run before the other targets are loaded: a server
   * left idle for minutes meets a machine that has paged its files out (bench/notes.md, session
   * 21: the bench machine's DAMON reclaim drops pages unused for 60 s), and the Garage loads and
   * what their daemons do after them take CPU. Dovecot and the embedded store load in seconds, and
   * are both measured as just loaded, on a quiet machine, alike.
   */
  loadsJustBefore?: boolean;
  start(corpus: Corpus, log: (line: string) => void): Promise<RunningTarget>;
  stop(): Promise<void>;
}

export const targetNames = [
  "dovecot",
  "embedded",
  "garage",
  "garage-delay",
  "garage-delay-cold",
  "garage-rtt100",
  "garage-rtt100-cold",
] as const;
export type TargetName = (typeof targetNames)[number];

function dovecotTarget(): Target {
  let server: DovecotServer | undefined;
  return {
    name: "dovecot",
    loadsJustBefore: true,
    async start(corpus, log) {
      server = await startDovecot(corpus, log);
      const home = join(server.dir, "home");
      return {
        ...server,
        notes: ["Maildir hard-linked from the corpus; one untimed SELECT indexed it before the session"],
        storageStats: async () => {
          const f = await folderBytes(home);
          return { storedBytes: f.bytes, storedFiles: f.files };
        },
      };
    },
    async stop() {
      await server?.stop();
      server = undefined;
    },
  };
}

function embeddedTarget(): Target {
  let server: AglServer | undefined;
  return {
    name: "embedded",
    loadsJustBefore: true,
    async start(corpus, log) {
      server = await startAerogramme("embedded", corpus, { kind: "embedded" }, log);
      const data = join(server.home, "data");
      return {
        ...server,
        notes: [server.loadNote],
        storageStats: async () => {
          const f = await folderBytes(data);
          return { storedBytes: f.bytes, storedFiles: f.files };
        },
      };
    },
    async stop() {
      await server?.stop();
      server = undefined;
    },
  };
}

function counted(proxies: DelayProxy[]): StorageCounters {
  const sum = (k: keyof StorageCounters) => proxies.reduce((x, p) => x + p.counters[k], 0);
  return {
    requests: sum("requests"),
    connections: sum("connections"),
    bytesUp: sum("bytesUp"),
    bytesDown: sum("bytesDown"),
  };
}

/**
 * The metadata engine of the bench's Garage: LMDB, Garage's default and the engine its manual
 * recommends for a host, unless BENCH_GARAGE_DB=sqlite (what the bench ran on until 2026-12-05;
 * the tests still do). On this machine sqlite costs Garage about twice the CPU per write (one
 * APPEND's PUT and InsertBatch: 4.0-4.8 ms against 2.3-2.5 ms; bench/notes.md).
 */
export function benchGarageDbEngine(): "sqlite" | "lmdb" {
  return process.env.BENCH_GARAGE_DB === "sqlite" ? "sqlite" : "lmdb";
}

/** aerogramme-local on a fresh one-node Garage, its S3 and K2V endpoints each behind a proxy. */
function garageTarget(name: string, delayMs: number, coldCache = false): Target {
  let peer: GaragePeer | undefined;
  let proxies: DelayProxy[] = [];
  let server: AglServer | undefined;
  const hostPort = (url: string) => {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port) };
  };
  return {
    name,
    async start(corpus, log) {
      peer = await startGarage({ bucket: "bench", dbEngine: benchGarageDbEngine() });
      // The corpus goes in at 0 ms: loading is not measured, and at 20 ms it takes minutes.
      proxies = [
        await startDelayProxy(hostPort(peer.s3Endpoint), 0),
        await startDelayProxy(hostPort(peer.k2vEndpoint), 0),
      ];
      const [s3, k2v] = proxies as [DelayProxy, DelayProxy];
      server = await startAerogramme(
        name,
        corpus,
        {
          kind: "garage",
          s3Endpoint: s3.url,
          k2vEndpoint: k2v.url,
          region: peer.region,
          bucket: peer.bucket,
          accessKeyId: peer.accessKeyId,
          secretAccessKey: peer.secretAccessKey,
        },
        log,
        async (home) => {
          proxies.forEach((p) => p.setDelay(delayMs));
          if (coldCache) await rm(join(home, "cache"), { recursive: true, force: true });
        },
      );
      return {
        ...server,
        notes: [
          server.loadNote,
          delayMs
            ? `S3 and K2V each behind a proxy adding ${delayMs} ms each way`
            : "S3 and K2V each behind a 0 ms proxy that counts requests and bytes",
          `Garage's metadata engine: ${benchGarageDbEngine()}`,
          coldCache
            ? "local cache deleted after loading: everything comes from the remote"
            : "local cache as `import` left it (bodies and meta written on this computer)",
        ],
        fresh: () =>
          server!.restart(async () => {
            if (coldCache) await rm(join(server!.home, "cache"), { recursive: true, force: true });
          }),
        resetStorageStats: () => proxies.forEach((p) => p.resetCounters()),
        storageCounters: () => counted(proxies),
        storageStats: () => Promise.resolve(counted(proxies)),
      };
    },
    async stop() {
      await server?.stop();
      for (const p of proxies) await p.close();
      await peer?.stop();
      server = undefined;
      proxies = [];
      peer = undefined;
    },
  };
}

export function makeTarget(name: TargetName): Target {
  switch (name) {
    case "dovecot":
      return dovecotTarget();
    case "embedded":
      return embeddedTarget();
    case "garage":
      return garageTarget("garage", 0);
    case "garage-delay":
      return garageTarget("garage-delay", 20);
    case "garage-delay-cold":
      return garageTarget("garage-delay-cold", 20, true);
    case "garage-rtt100":
      return garageTarget("garage-rtt100", 50);
    case "garage-rtt100-cold":
      return garageTarget("garage-rtt100-cold", 50, true);
  }
}
