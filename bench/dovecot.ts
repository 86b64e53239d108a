/**
 * A private Dovecot (Debian dovecot-imapd) for the bench: loopback only, a free port, a static
 * passwd file, and a Maildir holding the corpus. The corpus files are hard-linked (copied across
 * file systems): Dovecot renames files to change flags and never rewrites them, so the cache stays
 * intact. As root, Dovecot runs as `nobody` (its imap-login refuses root). Stopped by its PID.
 *
 * `nobody` must reach Dovecot's folder: a checkout inside a 0700 folder (CI clones into `mktemp
 * -d`) hides bench/.cache from it. Then the folder goes to the temp folder instead, and corpus
 * files `nobody` could not read through a link are copied and made readable. Nothing outside the
 * folders made here has its mode changed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import {
  chmod,
  chown,
  copyFile,
  link,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Corpus } from "./corpus.ts";
import { cacheRoot } from "./corpus.ts";
import { freePort } from "./freePort.ts";
import { ImapWire, withTimeout } from "./imapWire.ts";

export const dovecotBinary = "/usr/sbin/dovecot";
const NOBODY = { uid: 65534, gid: 65534 };

export interface DovecotServer {
  host: string;
  port: number;
  user: string;
  password: string;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

function config(dir: string, port: number, owner: { user: string; group: string }): string {
  return `protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/run
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
default_internal_user = ${owner.user}
default_internal_group = ${owner.group}
default_login_user = ${owner.user}
mail_location = maildir:~/Maildir
# The bench opens a few connections at once and many in a row; the default limit is 10.
mail_max_userip_connections = 100
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = ${dir}/passwd
}
service imap-login {
  chroot =
  inet_listener imap {
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`;
}

/** Whether every folder from `path` up to `/` lets others (`nobody`) through: the x bit for others. */
async function othersCanReach(path: string): Promise<boolean> {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

/**
 * The folder to make Dovecot's folder in: the cache (beside the corpus, so links work) when
 * `nobody` can reach it or Dovecot runs as us, else the temp folder.
 */
async function dovecotParent(asRoot: boolean): Promise<string> {
  await mkdir(cacheRoot, { recursive: true });
  if (!asRoot || (await othersCanReach(cacheRoot))) return cacheRoot;
  for (const candidate of [tmpdir(), "/tmp"]) if (await othersCanReach(candidate)) return candidate;
  throw new Error(
    `Dovecot runs as nobody, which can reach neither ${cacheRoot} nor ${tmpdir()}: set TMPDIR to a folder others may pass through`,
  );
}

/**
 * Hard links every corpus file into `home`/Maildir/cur, falling back to copies across file systems.
 * With `othersRead`, a file others may not read is copied instead and the copy made 0644: a link
 * would keep the original's mode, and Dovecot (as `nobody`) could not read it.
 */
async function fillMaildir(corpus: Corpus, home: string, othersRead: boolean): Promise<void> {
  let useLinks = true;
  const queue = corpus.messages.map((m) => m.file);
  const worker = async () => {
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      const from = join(corpus.dir, file);
      const to = join(home, file);
      if (othersRead && ((await stat(from)).mode & 0o004) === 0) {
        await copyFile(from, to);
        await chmod(to, 0o644);
        continue;
      }
      if (useLinks) {
        try {
          await link(from, to);
          continue;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
          useLinks = false;
        }
      }
      await copyFile(from, to);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/**
 * Reads every message file once, as a delivery would just have written it: the embedded store's
 * files were just written by its import, and a Maildir left unread for minutes (the corpus,
 * read last by a previous run) is read from disk instead of memory on a machine that reclaims
 * unused pages (bench/notes.md, session 21: Dovecot's header list took 890 ms so, 330-400 warm).
 */
async function readOnce(corpus: Corpus, home: string): Promise<void> {
  const queue = corpus.messages.map((m) => m.file);
  const worker = async () => {
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) await readFile(join(home, file));
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

export async function startDovecot(
  corpus: Corpus,
  log: (line: string) => void = () => {},
): Promise<DovecotServer> {
  if (!existsSync(dovecotBinary))
    throw new Error(`${dovecotBinary} not found: apt-get install dovecot-imapd`);
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(await dovecotParent(asRoot), "dovecot-"));
  const home = join(dir, "home", "bench");
  const maildir = join(home, "Maildir");
  for (const sub of ["cur", "new", "tmp"]) await mkdir(join(maildir, sub), { recursive: true });
  await mkdir(join(dir, "run"), { recursive: true });
  await fillMaildir(corpus, home, asRoot);
  await readOnce(corpus, home);
  const id = asRoot ? NOBODY : { uid: process.getuid!(), gid: process.getgid!() };
  const password = "bench-password";
  await writeFile(join(dir, "passwd"), `bench:{PLAIN}${password}:${id.uid}:${id.gid}::${home}\n`);
  const owner = asRoot
    ? { user: "nobody", group: "nogroup" }
    : {
        user:
          (await readFile("/etc/passwd", "utf8"))
            .split("\n")
            .find((l) => l.split(":")[2] === String(id.uid))
            ?.split(":")[0] ?? "nobody",
        group:
          (await readFile("/etc/group", "utf8"))
            .split("\n")
            .find((l) => l.split(":")[2] === String(id.gid))
            ?.split(":")[0] ?? "nogroup",
      };
  const port = await freePort();
  await writeFile(join(dir, "dovecot.conf"), config(dir, port, owner));
  if (asRoot) {
    // Folders become nobody's; the linked message files stay root's and read-only to it, which is
    // all Dovecot needs (renames happen in folders it owns).
    for (const path of [
      dir,
      join(dir, "run"),
      join(dir, "home"),
      home,
      maildir,
      ...["cur", "new", "tmp"].map((s) => join(maildir, s)),
      join(dir, "passwd"),
      join(dir, "dovecot.conf"),
    ])
      await chown(path, NOBODY.uid, NOBODY.gid);
  }
  const args = ["-F", "-c", join(dir, "dovecot.conf")];
  const child: ChildProcess = asRoot
    ? spawn(
        "setpriv",
        ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", dovecotBinary, ...args],
        { stdio: ["ignore", "ignore", "pipe"] },
      )
    : spawn(dovecotBinary, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const hard = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(hard);
    }
    await rm(dir, { recursive: true, force: true });
  };
  process.once("exit", () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  try {
    await waitForGreeting(port, child, () => stderr);
    // Delivery would have indexed each message as it arrived: one untimed SELECT builds the UID
    // list and index, so the timed first sync starts from a mailbox in its everyday state.
    const started = performance.now();
    const wire = await ImapWire.open("127.0.0.1", port);
    await wire.command(`LOGIN bench ${password}`);
    await wire.command("SELECT INBOX", { timeoutMs: 600_000 });
    await wire.close();
    log(
      `dovecot ${child.pid} on 127.0.0.1:${port}, mailbox indexed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (err) {
    const logText = await readFile(join(dir, "dovecot.log"), "utf8").catch(() => "");
    await stop();
    throw new Error(`dovecot did not start: ${(err as Error).message}\n${stderr}${logText.slice(-2000)}`);
  }
  return { host: "127.0.0.1", port, user: "bench", password, pid: child.pid!, dir, stop };
}

async function waitForGreeting(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`dovecot exited with ${child.exitCode}: ${stderr()}`);
    try {
      const wire = await withTimeout(ImapWire.open("127.0.0.1", port, 1_000), 1_500, "greeting");
      await wire.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error("no greeting within 10 s");
}
