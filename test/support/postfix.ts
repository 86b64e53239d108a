/**
 * A private Postfix instance (Debian's `postfix`) for tests: its own configuration and queue in a
 * temp folder, SMTP on a free loopback port, and every local recipient handed to an LMTP server
 * (`local_transport = lmtp:inet:127.0.0.1:PORT`), as a mail host would run it in front of
 * `aerogramme-local lmtp`. Retries are brought down to about a second so that a deferred message
 * is tried again within the test. Postfix's master runs as root (it drops to the `postfix` user for
 * its services); it detaches, so it is stopped by the PID it writes to its own pid file.
 */
import { execFile, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { findExecutable } from "./peers.ts";
import { freePort } from "./garage.ts";

const run = promisify(execFile);
const MASTER = "/usr/lib/postfix/sbin/master";

/** Postfix and swaks are installed, and this process may start a master (root only). */
export function postfixUsable(): boolean {
  return Boolean(findExecutable("postfix", ["/usr/sbin/postfix"]) && findExecutable("swaks")) && isRoot();
}

function isRoot(): boolean {
  return userInfo().uid === 0;
}

export interface PostfixPeer {
  smtpPort: number;
  /** The master's log so far (maillog_file = /dev/stdout). */
  log(): Promise<string>;
  /** Messages waiting in the queue (incoming, active and deferred). */
  queued(): Promise<number>;
  /** `postqueue -f`: tries every deferred message now, as an admin does once an outage is over. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const SERVICES = [
  "pickup unix n - n 60 1 pickup", // postqueue -f checks that the mail system is up through it
  "cleanup unix n - n - 0 cleanup",
  "qmgr unix n - n 300 1 qmgr",
  "rewrite unix - - n - - trivial-rewrite",
  "bounce unix - - n - 0 bounce",
  "defer unix - - n - 0 bounce",
  "trace unix - - n - 0 bounce",
  "verify unix - - n - 1 verify",
  "flush unix n - n 1000? 0 flush",
  "proxymap unix - - n - - proxymap",
  "error unix - - n - - error",
  "retry unix - - n - - error",
  "discard unix - - n - - discard",
  "lmtp unix - - n - - lmtp",
  "anvil unix - - n - 1 anvil",
  "scache unix - - n - 1 scache",
  "showq unix n - n - - showq",
  "postlog unix-dgram n - n - 1 postlogd",
];

/** Starts a Postfix for domain `example.test` whose local mail goes to LMTP on `lmtpPort`. */
export async function startPostfix(lmtpPort: number): Promise<PostfixPeer> {
  const dir = await mkdtemp(join(tmpdir(), "agl-postfix-"));
  await chmod(dir, 0o755); // the postfix user walks into the queue below it
  const queue = join(dir, "queue");
  const data = join(dir, "data");
  await mkdir(queue);
  await mkdir(data);
  const { uid } = await postfixUser();
  await chown(data, uid, -1);
  const smtpPort = await freePort();
  const main = {
    compatibility_level: "3.6",
    queue_directory: queue,
    data_directory: data,
    mail_owner: "postfix",
    setgid_group: "postdrop",
    inet_interfaces: "127.0.0.1",
    inet_protocols: "ipv4",
    myhostname: "mta.example.test",
    mydomain: "example.test",
    mydestination: "example.test",
    local_transport: `lmtp:inet:127.0.0.1:${lmtpPort}`,
    local_recipient_maps: "",
    // Bounces and anything not for example.test go nowhere: the test machine sends no mail out.
    default_transport: "discard",
    mynetworks: "127.0.0.0/8",
    smtpd_recipient_restrictions: "permit_mynetworks, reject",
    maillog_file: "/dev/stdout",
    queue_run_delay: "1s",
    minimal_backoff_time: "1s",
    maximal_backoff_time: "2s",
    alias_maps: "",
    alias_database: "",
    biff: "no",
    smtputf8_enable: "no",
  };
  await writeFile(
    join(dir, "main.cf"),
    Object.entries(main)
      .map(([k, v]) => `${k} = ${v}\n`)
      .join(""),
  );
  await writeFile(
    join(dir, "master.cf"),
    [`127.0.0.1:${smtpPort} inet n - n - - smtpd`, ...SERVICES].join("\n") + "\n",
  );
  await run("postfix", ["-c", dir, "check"]); // creates the queue's folders with their owners
  const logPath = join(dir, "master.log");
  const logFd = openSync(logPath, "a");
  try {
    // -s keeps stdout (the log), -w returns once the detached master is up, or fails.
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(MASTER, ["-c", dir, "-s", "-w"], { stdio: ["ignore", logFd, logFd] });
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error("postfix master did not start within 30 s"));
      }, 30_000);
      child.on("error", reject);
      child.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (code !== 0)
      throw new Error(`postfix master did not start (${code})\n${await readFile(logPath, "utf8")}`);
  } finally {
    closeSync(logFd);
  }
  const pid = Number((await readFile(join(queue, "pid/master.pid"), "utf8")).trim());
  const queueIds = async (sub: string): Promise<string[]> => {
    try {
      const entries = await readdir(join(queue, sub), { recursive: true, withFileTypes: true });
      return entries.filter((e) => e.isFile()).map((e) => e.name);
    } catch {
      return [];
    }
  };
  // The queue folders are read one after another while qmgr moves messages between them (a retry
  // takes one from deferred to active and back), so one reading may see a message in two folders
  // or in none: CI once counted 11 of 10. A message is counted once by its queue ID (the file's
  // name), and the count is taken when two readings in a row agree.
  const queueSnapshot = async (): Promise<string> => {
    const ids = new Set<string>();
    for (const sub of ["incoming", "active", "deferred"]) for (const id of await queueIds(sub)) ids.add(id);
    return [...ids].sort().join(",");
  };
  const queued = async (): Promise<number> => {
    let last = await queueSnapshot();
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const now = await queueSnapshot();
      if (now === last) return now === "" ? 0 : now.split(",").length;
      last = now;
    }
    throw new Error(`postfix's queue did not hold still for 1 s: ${last}`);
  };
  return {
    smtpPort,
    log: () => readFile(logPath, "utf8").catch(() => ""),
    flush: async () => {
      await run("postqueue", ["-c", dir, "-f"], { timeout: 10_000 });
    },
    queued,
    stop: async () => {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 100));
      if (alive(pid)) process.kill(pid, "SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function postfixUser(): Promise<{ uid: number }> {
  const { stdout } = await run("id", ["-u", "postfix"]);
  return { uid: Number(stdout.trim()) };
}

/** Sends one message with swaks over SMTP to the instance; resolves with swaks' exit code. */
export async function swaks(
  smtpPort: number,
  opts: { from: string; to: string[]; subject: string; body: string; headers?: string[] },
): Promise<void> {
  const args = [
    "--server",
    "127.0.0.1",
    "--port",
    String(smtpPort),
    "--from",
    opts.from,
    "--to",
    opts.to.join(","),
    "--header",
    `Subject: ${opts.subject}`,
    ...(opts.headers ?? []).flatMap((h) => ["--add-header", h]),
    "--body",
    opts.body,
    "--silent",
    "2",
  ];
  await run("swaks", args, { timeout: 30_000 });
}
