/**
 * Another user on this computer, for the local-user attacks of issue 12: `nobody`, reached with
 * `setpriv --reuid=nobody --regid=nogroup --clear-groups`, which needs root. Without root or
 * setpriv those tests skip with the reason (also under CI=true: a CI that is not root cannot have
 * a second user, and that is not a defect of the code).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { findExecutable } from "./peers.ts";
import { runChild, type ChildResult } from "./runChild.ts";

const setpriv = findExecutable("setpriv");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** The `skip` option of node:test for a test that needs a second uid. */
export const skipUnlessOtherUser: false | string =
  setpriv && isRoot
    ? false
    : `needs root and setpriv (util-linux) to act as another user (nobody); ${isRoot ? "setpriv not found" : "not running as root"}`;

/** nobody's uid, as setpriv makes it (65534 on Debian). */
export const NOBODY_UID = 65534;

function asNobody(script: string, args: string[]): [string, string[]] {
  return [
    setpriv!,
    ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, "-e", script, "--", ...args],
  ];
}

/** Runs a small Node script as nobody to its end (`process.argv.slice(1)` holds `args`). */
export function runAsNobody(script: string, args: string[], timeoutMs = 15_000): Promise<ChildResult> {
  const [cmd, argv] = asNobody(script, args);
  return runChild(cmd, argv, { timeoutMs });
}

/** nobody tries to read each file: the error code per path ("ok" when it could). */
export async function nobodyReads(paths: string[]): Promise<Record<string, string>> {
  const r = await runAsNobody(
    `const fs = require("node:fs"); const out = {};
     for (const p of process.argv.slice(1)) {
       try { fs.statSync(p).isDirectory() ? fs.readdirSync(p) : fs.readFileSync(p); out[p] = "ok"; }
       catch (e) { out[p] = e.code; }
     }
     console.log(JSON.stringify(out));`,
    paths,
  );
  if (r.status !== 0) throw new Error(`the read as nobody failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}

export interface NobodyListener {
  /** Every byte a client sent, as text. */
  received(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * nobody listens on a Unix socket at `path` (making its folder first when `makeFolder`), records
 * what clients send, and answers each request line as a running server would ("already running").
 */
export async function nobodyListens(path: string, makeFolder?: string): Promise<NobodyListener> {
  const script = `
    const fs = require("node:fs"); const net = require("node:net");
    const [path, folder] = process.argv.slice(1);
    if (folder) fs.mkdirSync(folder, { mode: 0o777 }), fs.chmodSync(folder, 0o777);
    let got = "";
    const server = net.createServer((s) => {
      s.setEncoding("utf8");
      s.on("data", (d) => {
        got += d;
        s.end(JSON.stringify({ ok: true, result: { pid: 1, startedAt: "", imap: { host: "127.0.0.1", port: 1, starttls: false }, backend: "embedded", storage: { reachable: true, detail: "" } } }) + "\\n");
      });
    });
    server.listen(path, () => { fs.chmodSync(path, 0o777); console.log("listening"); });
    process.stdin.on("data", () => { console.log("GOT " + JSON.stringify(got)); });
    process.stdin.on("end", () => process.exit(0));
  `;
  const [cmd, argv] = asNobody(script, makeFolder ? [path, makeFolder] : [path]);
  const child: ChildProcess = spawn(cmd, argv, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nobody's listener did not start: ${stderr}`)), 10_000);
    child.stdout!.on("data", () => {
      if (stdout.includes("listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nobody's listener exited with ${code}: ${stderr}`));
    });
  });
  return {
    received: async () => {
      const before = stdout.length;
      child.stdin!.write("?");
      for (let i = 0; i < 100 && !stdout.slice(before).includes("\n"); i++)
        await new Promise((r) => setTimeout(r, 20));
      const line = /GOT (.*)/.exec(stdout.slice(before));
      if (!line) throw new Error(`nobody's listener did not report: ${stderr}`);
      return JSON.parse(line[1]!) as string;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
  };
}
