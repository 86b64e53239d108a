/**
 * Real Garage clusters for tests: one node, or three nodes with replication factor 3, all on free
 * loopback ports in temp folders. The setup is what an operator does by hand: write a config,
 * start the daemons, connect them, assign and apply a layout, create a key and a bucket.
 *
 * Every daemon is stopped by its PID (never by name) and the temp folders are removed by `stop()`;
 * a process exit also kills whatever is still running, so an aborted test run leaves nothing behind.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { mkdtemp, open as openFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { findExecutable } from "./peers.ts";

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const garageBinary = () => findExecutable("garage", [join(homedir(), ".cargo/bin/garage")]);

export interface GarageOptions {
  /** Bucket to create (default "mail"). */
  bucket?: string;
  /** Serve the K2V API (default true). Off, the cluster is a plain S3 host. */
  k2v?: boolean;
  /** 1 (default) or 3 nodes; three nodes replicate every object and row three times. */
  nodes?: 1 | 3;
  /**
   * Garage's metadata engine (default "sqlite"). "lmdb" is Garage's own default and the one its
   * documentation recommends for hosts; the bench can run on either (BENCH_GARAGE_DB).
   */
  dbEngine?: "sqlite" | "lmdb";
}

export interface GarageNode {
  s3Endpoint: string;
  /** Empty when K2V is off. */
  k2vEndpoint: string;
  running: boolean;
}

export interface GaragePeer {
  /** Node 0's endpoints. */
  s3Endpoint: string;
  k2vEndpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  nodes: GarageNode[];
  /** Runs the garage command line against node 0 (for extra buckets, keys...). */
  cli(...args: string[]): Promise<string>;
  /**
   * Stops node i: SIGTERM, then SIGKILL after 10 s (Garage waits up to 10 s for open client
   * connections), or "crash" for SIGKILL at once. Its data stays for startNode.
   */
  stopNode(i: number, how?: "stop" | "crash"): Promise<void>;
  /** Starts node i again with its data; resolves when it answers on its S3 port. */
  startNode(i: number): Promise<void>;
  /**
   * Stops every node at once (SIGKILL: the data is removed with the folders, so a clean stop buys
   * nothing) and removes the temp folders.
   */
  stop(): Promise<void>;
}

/**
 * The `init` flags that point a home at a bucket of `peer` (the S3 secret read from the first line
 * of stdin, kept in the home's credentials file). `endpoints`: another node's, by default node 0's.
 */
export function garageInitFlags(
  peer: Pick<GaragePeer, "region" | "bucket" | "accessKeyId">,
  endpoints: { s3Endpoint: string; k2vEndpoint: string },
): string[] {
  return [
    "--backend",
    "garage",
    "--credentials-file",
    "--secret-access-key-stdin",
    "--s3-endpoint",
    endpoints.s3Endpoint,
    "--k2v-endpoint",
    endpoints.k2vEndpoint,
    "--region",
    peer.region,
    "--bucket",
    peer.bucket,
    "--access-key-id",
    peer.accessKeyId,
  ];
}

/** Ports this process gave out already: its nodes must not get one twice, even once it is closed. */
const handedOut = new Set<number>();

/**
 * A port nobody uses right now on 127.0.0.1, below Linux's ephemeral range (32768 and up): a node
 * that restarts must get its ports back, and an ephemeral port may meanwhile have become the local
 * end of some outgoing connection.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free port found below 32000 on 127.0.0.1");
}

/** Daemons still running and folders not yet removed: cleaned synchronously if the process exits first. */
const live = new Set<ChildProcess>();
const roots = new Set<string>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** Neither exited nor killed by a signal (a killed process has no exit code). */
const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

interface NodeSetup {
  dir: string;
  config: string;
  rpc: number;
  s3: number;
  k2v: number;
  child?: ChildProcess;
}

function configText(
  node: NodeSetup,
  rpcSecret: string,
  replication: number,
  k2v: boolean,
  dbEngine: "sqlite" | "lmdb",
  peers: string[] = [],
): string {
  return [
    ...(peers.length ? [`bootstrap_peers = [${peers.map((id) => `"${id}"`).join(", ")}]`] : []),
    `metadata_dir = "${node.dir}/meta"`,
    `data_dir = "${node.dir}/data"`,
    `db_engine = "${dbEngine}"`,
    `replication_factor = ${replication}`,
    `rpc_bind_addr = "127.0.0.1:${node.rpc}"`,
    `rpc_public_addr = "127.0.0.1:${node.rpc}"`,
    `rpc_secret = "${rpcSecret}"`,
    `[s3_api]`,
    `s3_region = "garage"`,
    `api_bind_addr = "127.0.0.1:${node.s3}"`,
    `root_domain = ".s3.garage.localhost"`,
    ...(k2v ? [`[k2v_api]`, `api_bind_addr = "127.0.0.1:${node.k2v}"`] : []),
    "",
  ].join("\n");
}

/**
 * Resolves once something accepts TCP connections on the port, or throws after `ms`, or as soon as
 * `alive()` says the daemon that should listen there has exited.
 */
async function waitForPort(port: number, ms: number, alive: () => boolean): Promise<void> {
  const { connect } = await import("node:net");
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`garage exited before it listened on port ${port}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`garage did not listen on port ${port} within ${ms} ms`);
}

/**
 * Throws unless every node's S3 and K2V port answers a signed call with this cluster's key. A port
 * may be someone else's: another process (a test file running beside this one) can bind it between
 * freePort and the node's own bind, and the node then runs on without that API (it even logs that
 * it listens).
 */
async function checkOwnPorts(peer: GaragePeer): Promise<void> {
  const { makeS3Client, netOptions, S3BlobStore } = await import("../../src/storage/net/index.ts");
  const { K2vClient } = await import("../../src/storage/garage/k2vClient.ts");
  // Retried: the nodes of a new cluster answer 503 (no quorum) until they have connected.
  const net = netOptions({ timeoutMs: 3_000, attempts: 8, baseDelayMs: 100, maxDelayMs: 1_000 });
  for (const node of peer.nodes) {
    const endpoints = { ...peer, s3Endpoint: node.s3Endpoint, k2vEndpoint: node.k2vEndpoint };
    const s3 = makeS3Client(endpoints, peer, net);
    try {
      await new S3BlobStore(s3, endpoints, net).list("", undefined, 1);
    } finally {
      s3.destroy();
    }
    if (node.k2vEndpoint) await new K2vClient(endpoints, peer, net).call({ method: "GET", query: {} });
  }
}

/**
 * Set-up fails now and then when another process (a test file running beside this one) binds one of
 * the ports freePort chose before this cluster's node did: the node exits, or never takes a layout
 * (its RPC port), or serves without that API (checkOwnPorts). A failed set-up is tried again on new
 * ports, three times in all.
 */
export async function startGarage(options: GarageOptions | string = {}): Promise<GaragePeer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startGarageOnce(options);
    } catch (err) {
      if (attempt === 3 || !garageBinary()) throw err;
      const why = (err as Error).message.split("\n")[0];
      process.stderr.write(`garage set-up failed (${why}); trying again on new ports\n`);
    }
  }
}

async function startGarageOnce(options: GarageOptions | string): Promise<GaragePeer> {
  const opts: GarageOptions = typeof options === "string" ? { bucket: options } : options;
  const bucket = opts.bucket ?? "mail";
  const k2v = opts.k2v ?? true;
  const count = opts.nodes ?? 1;
  const dbEngine = opts.dbEngine ?? "sqlite";
  const bin = garageBinary();
  if (!bin) throw new Error("garage not found (scripts/install-garage.sh builds it)");
  const root = await mkdtemp(join(tmpdir(), "agl-garage-"));
  roots.add(root);
  const rpcSecret = randomBytes(32).toString("hex");
  const nodes: NodeSetup[] = [];
  for (let i = 0; i < count; i++) {
    const node: NodeSetup = {
      dir: join(root, `node${i}`),
      config: join(root, `node${i}.toml`),
      rpc: await freePort(),
      s3: await freePort(),
      k2v: await freePort(),
    };
    await writeFile(node.config, configText(node, rpcSecret, count, k2v, dbEngine));
    nodes.push(node);
  }

  const cliOn = async (i: number, ...args: string[]) =>
    (await run(bin, ["-c", nodes[i]!.config, ...args], { timeout: 20_000 })).stdout;

  const startNode = async (i: number) => {
    const node = nodes[i]!;
    if (node.child && isRunning(node.child)) return;
    // Its log stays in the temp folder while the cluster lives: the first place to look when a
    // cluster test fails.
    const log = await openFile(join(root, `node${i}.log`), "a");
    const child = spawn(bin, ["-c", node.config, "server"], {
      stdio: ["ignore", log.fd, log.fd],
      env: { ...process.env, RUST_LOG: "warn" },
    });
    await log.close();
    live.add(child);
    child.once("exit", () => live.delete(child));
    node.child = child;
    await waitForPort(node.s3, 20_000, () => isRunning(child));
  };

  const stopNode = async (i: number, how: "stop" | "crash" = "stop") => {
    const child = nodes[i]!.child;
    if (!child || !isRunning(child)) return;
    await new Promise<void>((resolve) => {
      const hard = setTimeout(() => child.kill("SIGKILL"), how === "crash" ? 0 : 10_000);
      child.once("exit", () => {
        clearTimeout(hard);
        resolve();
      });
      if (how === "stop") child.kill("SIGTERM");
    });
  };

  // The cluster and its folders are thrown away: no node is started again, so none is given the
  // graceful stop, which waits up to 10 s for the connections the test's clients still hold open
  // (nearly every file's last store keeps a keep-alive socket to K2V): 10 s of a test slot per file.
  const stop = async () => {
    await Promise.all(nodes.map((_, i) => stopNode(i, "crash")));
    await rm(root, { recursive: true, force: true });
    roots.delete(root);
  };

  try {
    for (let i = 0; i < count; i++) await startNode(i);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      let full = "";
      for (let attempt = 0; attempt < 100 && !full; attempt++) {
        const child = nodes[i]!.child!;
        if (!isRunning(child)) throw new Error(`garage node ${i} exited during set-up`);
        full = await cliOn(i, "node", "id", "-q").then(
          (out) => out.trim(),
          () => "",
        );
        if (!full) await sleep(200);
      }
      if (!full) throw new Error(`garage node ${i} did not answer within 20 s`);
      ids.push(full);
    }
    for (let i = 1; i < count; i++) await cliOn(0, "node", "connect", ids[i]!);
    // A restarted node finds the others from its config, not only from the peer list it saves now
    // and then (a node restarted soon after start-up would otherwise stay alone).
    if (count > 1)
      for (const node of nodes)
        await writeFile(node.config, configText(node, rpcSecret, count, k2v, dbEngine, ids));
    for (let i = 0; i < count; i++)
      await cliOn(0, "layout", "assign", "-z", `dc${i + 1}`, "-c", "1G", ids[i]!.split("@")[0]!);
    await cliOn(0, "layout", "apply", "--version", "1");
    const keyName = "test-key";
    const key = await cliOn(0, "key", "create", keyName);
    const accessKeyId = /Key ID:\s+(\S+)/.exec(key)?.[1];
    const secretAccessKey = /Secret key:\s+(\S+)/.exec(key)?.[1];
    if (!accessKeyId || !secretAccessKey) throw new Error(`could not read the key garage made:\n${key}`);
    await cliOn(0, "bucket", "create", bucket);
    await cliOn(0, "bucket", "allow", "--read", "--write", "--owner", bucket, "--key", keyName);
    const peer: GaragePeer = {
      s3Endpoint: `http://127.0.0.1:${nodes[0]!.s3}`,
      k2vEndpoint: k2v ? `http://127.0.0.1:${nodes[0]!.k2v}` : "",
      region: "garage",
      bucket,
      accessKeyId,
      secretAccessKey,
      nodes: nodes.map((n) => ({
        s3Endpoint: `http://127.0.0.1:${n.s3}`,
        k2vEndpoint: k2v ? `http://127.0.0.1:${n.k2v}` : "",
        get running() {
          return Boolean(n.child && isRunning(n.child));
        },
      })),
      cli: (...args) => cliOn(0, ...args),
      stopNode,
      startNode,
      stop,
    };
    await checkOwnPorts(peer);
    return peer;
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * One Garage shared by several users in this process (the conformance suite opens a store per
 * describe block and more inside tests): started by the first `acquire`, stopped by the last
 * `release`, so a test file that finishes leaves no daemon behind.
 */
export function sharedGarage(options: GarageOptions = {}) {
  let users = 0;
  let starting: Promise<GaragePeer> | undefined;
  return {
    async acquire(): Promise<GaragePeer> {
      users++;
      starting ??= startGarage(options);
      try {
        return await starting;
      } catch (err) {
        users--;
        starting = undefined;
        throw err;
      }
    },
    async release(): Promise<void> {
      if (--users > 0 || !starting) return;
      const peer = await starting.catch(() => undefined);
      starting = undefined;
      await peer?.stop();
    },
  };
}

/** One thing the host holds: an S3 object or a K2V row value, with the names it is stored under. */
export interface HeldItem {
  where: "s3" | "k2v";
  /** The object key, or "pk / sk" of a row. */
  name: string;
  bytes: Uint8Array;
}

/**
 * Everything a bucket holds, as its host sees it: every S3 object, and every K2V row of every
 * partition (ReadIndex, then ReadBatch with tombstones). For "nothing readable on the host" tests.
 * K2V's partition index is updated asynchronously (doc/drafts/k2v-spec.md, Indexing): wait a few
 * seconds after the last write, or pass `expectPartitions` to wait until that many are listed.
 */
export async function dumpBucket(
  peer: GaragePeer,
  options: { expectPartitions?: number; waitMs?: number } = {},
): Promise<HeldItem[]> {
  const { makeS3Client, netOptions, S3BlobStore } = await import("../../src/storage/net/index.ts");
  const { K2vClient } = await import("../../src/storage/garage/k2vClient.ts");
  const net = netOptions();
  const held: HeldItem[] = [];
  const s3 = makeS3Client(peer, peer, net);
  try {
    const objects = new S3BlobStore(s3, peer, net);
    let after: string | undefined;
    for (;;) {
      const page = await objects.list("", after, 1000);
      for (const key of page.keys)
        held.push({ where: "s3", name: key, bytes: (await objects.get(key)) ?? new Uint8Array(0) });
      if (!page.nextStartAfter) break;
      after = page.nextStartAfter;
    }
  } finally {
    s3.destroy();
  }
  if (!peer.k2vEndpoint) return held;
  const k2v = new K2vClient(peer, peer, net);
  const decode = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body)) as unknown;
  let partitions: string[] = [];
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  for (;;) {
    partitions = [];
    let start: string | undefined;
    for (;;) {
      const answer = await k2v.call({ method: "GET", query: start === undefined ? {} : { start } });
      const index = decode(answer.body) as {
        partitionKeys: { pk: string }[];
        nextStart: string | null;
        more: boolean;
      };
      partitions.push(...index.partitionKeys.map((p) => p.pk));
      if (!index.more || index.nextStart === null) break;
      start = index.nextStart;
    }
    if (partitions.length >= (options.expectPartitions ?? 0) || Date.now() > deadline) break;
    await sleep(250);
  }
  for (const pk of partitions) {
    const answer = await k2v.call({
      method: "POST",
      query: { search: "" },
      headers: { "content-type": "application/json" },
      body: new TextEncoder().encode(JSON.stringify([{ partitionKey: pk, tombstones: true }])),
    });
    const [result] = decode(answer.body) as { items: { sk: string; v: (string | null)[] }[] }[];
    for (const item of result!.items)
      for (const value of item.v)
        held.push({
          where: "k2v",
          name: `${pk} / ${item.sk}`,
          bytes: value === null ? new Uint8Array(0) : Buffer.from(value, "base64"),
        });
  }
  return held;
}
