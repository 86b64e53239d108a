/**
 * The background cache fill through the real binary on a real Garage (needs Garage): a second
 * computer joins a bucket that holds mail, `start`s, logs in over IMAP, and `status --json` shows
 * the fill go to "done" with every message's meta and body cached; `status` prints it in one line.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ImapFlow } from "../support/imapflowClient.ts";
import { garageBinary, garageInitFlags, startGarage, type GaragePeer } from "./garagePeer.ts";
import { skipUnless } from "../support/peers.ts";
import { runCli, startServer, tempHome, type RunningServer } from "./cliHarness.ts";

const skip = skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage");
const PASSWORD = "a fill of the local cache";
let garage: GaragePeer | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
before(async () => {
  if (!skip) garage = await startGarage();
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await garage?.stop();
});

interface FillStatus {
  state: string;
  messages: number;
  metaCached: number;
  bodiesCached: number;
  bodiesWanted: number;
  bytesCached: number;
}

async function joinedHome(g: GaragePeer): Promise<string> {
  const home = await tempHome();
  cleanups.push(home.cleanup);
  const r = await runCli(["init", "--password-stdin", ...garageInitFlags(g, g), "--user", "alice"], {
    home: home.dir,
    input: `${g.secretAccessKey}\n${PASSWORD}\n`,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return home.dir;
}

async function login(server: RunningServer): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    auth: { user: "alice", pass: PASSWORD },
    logger: false,
  });
  await client.connect();
  return client;
}

test(
  "garage (needs Garage): after a login, status --json shows the cache fill done with every message cached",
  { skip, timeout: 300_000 },
  async () => {
    const g = garage!;
    // The first computer puts 20 messages in the bucket.
    const first = await joinedHome(g);
    const one = await startServer(["--imap-port", "0"], { home: first });
    cleanups.push(() => one.stop("SIGKILL"));
    const a = await login(one);
    for (let i = 0; i < 20; i++)
      await a.append(
        "INBOX",
        `From: a@example.org\r\nSubject: fill ${i}\r\n\r\n${"body line\r\n".repeat(50 + i)}`,
      );
    await a.logout();
    await one.stop();

    // A second computer joins the same bucket: its cache starts empty.
    const second = await joinedHome(g);
    const two = await startServer(["--imap-port", "0"], { home: second });
    cleanups.push(() => two.stop("SIGKILL"));
    const b = await login(two);
    let fill: FillStatus | undefined;
    for (let i = 0; i < 120 && fill?.state !== "done"; i++) {
      const r = await runCli(["status", "--json"], { home: second });
      fill = (JSON.parse(r.stdout) as { cacheFill?: FillStatus }).cacheFill;
      if (fill?.state !== "done") await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await b.logout();
    assert.ok(fill, "status --json has a cacheFill");
    assert.equal(fill.state, "done");
    assert.equal(fill.messages, 20);
    assert.equal(fill.metaCached, 20);
    assert.equal(fill.bodiesWanted, 20);
    assert.equal(fill.bodiesCached, 20);
    assert.ok(fill.bytesCached > 20 * 500);
    const human = await runCli(["status"], { home: second });
    assert.match(human.stdout, /Local cache fill: done: meta 20\/20, bodies 20\/20/);
    await two.stop();
  },
);
