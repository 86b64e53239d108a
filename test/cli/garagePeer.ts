/**
 * A one-node Garage (S3 + K2V) in a temp folder for CLI tests: free loopback ports, a layout, one
 * key with read/write on one bucket. Stopped by PID and its folder removed by `stop()`.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { findExecutable } from "../support/peers.ts";
import { freePort } from "./cliHarness.ts";

const run = promisify(execFile);

export const garageBinary = () => findExecutable("garage", [join(homedir(), ".cargo/bin/garage")]);

export interface GaragePeer {
  s3Endpoint: string;
  k2vEndpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

export async function startGarage(bucket = "mail"): Promise<GaragePeer> {
  const bin = garageBinary();
  if (!bin) throw new Error("garage not found");
  const dir = await mkdtemp(join(tmpdir(), "agl-garage-"));
  const [rpc, s3, k2v, admin] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = join(dir, "garage.toml");
  await writeFile(
    config,
    [
      `metadata_dir = "${dir}/meta"`,
      `data_dir = "${dir}/data"`,
      `db_engine = "sqlite"`,
      `replication_factor = 1`,
      `rpc_bind_addr = "127.0.0.1:${rpc}"`,
      `rpc_public_addr = "127.0.0.1:${rpc}"`,
      `rpc_secret = "${randomBytes(32).toString("hex")}"`,
      `[s3_api]`,
      `s3_region = "garage"`,
      `api_bind_addr = "127.0.0.1:${s3}"`,
      `root_domain = ".s3.garage.localhost"`,
      `[k2v_api]`,
      `api_bind_addr = "127.0.0.1:${k2v}"`,
      `[admin]`,
      `api_bind_addr = "127.0.0.1:${admin}"`,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(bin, ["-c", config, "server"], { stdio: "ignore" });
  const cli = async (...args: string[]) =>
    (await run(bin, ["-c", config, ...args], { timeout: 20_000 })).stdout;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          r(null);
        }, 10_000);
        child.once("exit", () => {
          clearTimeout(t);
          r(null);
        });
      });
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    let nodeId = "";
    for (let i = 0; i < 100 && !nodeId; i++) {
      nodeId = await cli("node", "id", "-q").then(
        (out) => out.trim().split("@")[0] ?? "",
        () => "",
      );
      if (!nodeId) await new Promise((r) => setTimeout(r, 200));
    }
    if (!nodeId) throw new Error("garage did not start within 20 s");
    await cli("layout", "assign", "-z", "dc1", "-c", "1G", nodeId);
    await cli("layout", "apply", "--version", "1");
    const key = await cli("key", "create", "cli-test");
    const accessKeyId = /Key ID:\s+(\S+)/.exec(key)?.[1];
    const secretAccessKey = /Secret key:\s+(\S+)/.exec(key)?.[1];
    if (!accessKeyId || !secretAccessKey) throw new Error("could not read the key garage made");
    await cli("bucket", "create", bucket);
    await cli("bucket", "allow", "--read", "--write", "--owner", bucket, "--key", "cli-test");
    return {
      s3Endpoint: `http://127.0.0.1:${s3}`,
      k2vEndpoint: `http://127.0.0.1:${k2v}`,
      region: "garage",
      bucket,
      accessKeyId,
      secretAccessKey,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
