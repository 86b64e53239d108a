/**
 * The world of the process storm (uidStormProcesses.test.ts): homes joined to one Garage bucket,
 * `aerogramme-local start` on each, imapflow logins, what every mailbox of a computer holds, and
 * mbsync runs on each computer. Every process is stopped by its PID.
 */
import { mbsyncRc } from "../support/mbsyncRc.ts";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ImapFlow } from "../support/imapflowClient.ts";
import { garageInitFlags, type GaragePeer } from "../support/garage.ts";
import { runChild } from "../support/runChild.ts";
import { runCli, startServer, tempHome, type RunningServer } from "./cliHarness.ts";

export const STORM_PASSWORD = "storm across three computers";

/** One computer: a home of its own (settings, cache, marks), joined to the shared bucket. */
export interface Computer {
  name: string;
  home: string;
  server: RunningServer;
}

/** `init` on a fresh home against one Garage node's endpoints; the first makes the account. */
export async function joinHome(
  g: GaragePeer,
  node: number,
  cleanups: (() => Promise<unknown>)[],
): Promise<string> {
  const home = await tempHome();
  cleanups.push(home.cleanup);
  const endpoints = g.nodes[node]!;
  const r = await runCli(["init", "--password-stdin", ...garageInitFlags(g, endpoints), "--user", "alice"], {
    home: home.dir,
    input: `${g.secretAccessKey}\n${STORM_PASSWORD}\n`,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return home.dir;
}

export function start(home: string): Promise<RunningServer> {
  return startServer(["--imap-port", "0"], { home, timeoutMs: 120_000 });
}

export async function login(server: RunningServer): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    auth: { user: "alice", pass: STORM_PASSWORD },
    logger: false,
    qresync: true,
  });
  // A killed server closes the socket: the storm's client sees that as a failed command.
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

export const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

/** One message as a computer lists it. */
export interface Listed {
  uid: number;
  subject: string;
  flags: string;
  modseq: string;
  hash: string;
}

export interface MailboxView {
  name: string;
  uidvalidity: number;
  messages: Listed[];
}

/** Every selectable mailbox of a computer, sorted, with every message's UID, flags, MODSEQ and hash. */
export async function everything(c: ImapFlow): Promise<MailboxView[]> {
  const out: MailboxView[] = [];
  const boxes = (await c.list()).filter((b) => !b.flags.has("\\Noselect") && !b.flags.has("\\NonExistent"));
  for (const box of boxes.sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const opened = await c.mailboxOpen(box.path, { readOnly: true });
    const messages: Listed[] = [];
    if (opened.exists > 0)
      for await (const m of c.fetch("1:*", { uid: true, flags: true, source: true }, { uid: false })) {
        const source = m.source ?? Buffer.alloc(0);
        messages.push({
          uid: m.uid,
          subject: /^Subject: ([^\r\n]*)/m.exec(source.toString("utf8"))?.[1] ?? "",
          flags: [...(m.flags ?? [])]
            .filter((f) => f !== "\\Recent")
            .sort()
            .join(" "),
          modseq: String(m.modseq ?? "none"),
          hash: sha256(source),
        });
      }
    messages.sort((a, b) => a.uid - b.uid);
    out.push({ name: box.path, uidvalidity: Number(opened.uidValidity), messages });
  }
  await c.mailboxClose().catch(() => undefined);
  return out;
}

/** mbsync's home on one computer: its rc, its Maildir and its sync state. */
export async function mbsyncHome(
  dir: string,
  name: string,
  port: number,
  mailboxes: string[],
): Promise<string> {
  const home = join(dir, name);
  await mkdir(join(home, "mail"), { recursive: true });
  await mkdir(join(home, "state"), { recursive: true });
  const rc = join(home, "mbsyncrc");
  await writeFile(
    rc,
    mbsyncRc({
      name: "storm",
      port,
      user: "alice",
      password: STORM_PASSWORD,
      home,
      patterns: mailboxes,
      sync: "Pull",
      expunge: "Near",
    }),
    { mode: 0o600 },
  );
  return rc;
}

/** Points an mbsync rc at the port a restarted server took. */
export async function mbsyncPort(rc: string, port: number): Promise<void> {
  await writeFile(rc, (await readFile(rc, "utf8")).replace(/^Port \d+$/m, `Port ${port}`), { mode: 0o600 });
}

/** One mbsync run: exit 0, and never a word of UIDVALIDITY changing. */
export async function mbsyncRun(mbsync: string, rc: string, who: string): Promise<string> {
  const run = await runChild(mbsync, ["-c", rc, "-V", "storm"], { timeoutMs: 180_000 });
  const out = run.stdout + run.stderr;
  assert.equal(run.status, 0, `mbsync on ${who} failed:\n${out}`);
  assert.doesNotMatch(out, /UIDVALIDITY[^\n]*chang|change of UIDVALIDITY/i, `mbsync on ${who}:\n${out}`);
  return out;
}

/** The subjects in one Maildir folder that mbsync filled, sorted (one per file). */
export async function maildirSubjects(rc: string, mailbox: string): Promise<string[]> {
  const folder = join(rc, "..", "mail", mailbox);
  const out: string[] = [];
  for (const sub of ["cur", "new"]) {
    const names = await readdir(join(folder, sub)).catch(() => [] as string[]);
    for (const f of names) {
      const text = await readFile(join(folder, sub, f), "utf8");
      out.push(/^Subject: ([^\r\n]*)/m.exec(text)?.[1] ?? "");
    }
  }
  return out.sort();
}
