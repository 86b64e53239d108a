/**
 * What a UID clash costs a client (issue 17): `npm run bench:clash -- [--each 50] [--runs 3]`.
 *
 * Two computers (two `aerogramme-local start` processes, homes of their own) on one bucket of a
 * one-node local Garage each APPEND `each` messages to one mailbox at the same moment. On each
 * computer a QRESYNC client stays selected throughout, as Thunderbird does: at every NOOP it drops
 * what VANISHED reports and downloads what is new above the last UID it holds. Once both computers
 * agree, the bench counts how many messages each client downloaded more than once, against the
 * number of messages whose UID was renumbered after a clash (APPENDUID differs from the final
 * UID) and the displaced claims read from the op log (test/support/uidClaims.ts: a message can be
 * renumbered more than once, and a client fetches it once per UID it held). Target: at most the
 * displaced claims (what the clashes displaced). UIDVALIDITY must not change.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openAccount, type Account } from "../src/mail/account.ts";
import { openGarageStore } from "../src/storage/garage/index.ts";
import type { Store } from "../src/storage/types.ts";
import { startGarage } from "../test/support/garage.ts";
import { claimsInLog, displacement } from "../test/support/uidClaims.ts";
import { runCli, startServer, type Running } from "./aerogramme.ts";
import { cacheRoot } from "./corpus.ts";
import { ImapWire } from "./imapWire.ts";

const { values } = parseArgs({
  options: { each: { type: "string", default: "50" }, runs: { type: "string", default: "3" } },
});
const EACH = Number(values.each);
const RUNS = Number(values.runs);
const PASSWORD = "bench-clash-Aer0";

/** A QRESYNC client selected on one mailbox that keeps its copy of it. */
class Mirror {
  readonly uids = new Set<number>();
  downloads = 0;
  uidvalidity = 0;
  constructor(private readonly wire: ImapWire) {}

  async open(mailbox: string): Promise<void> {
    await this.wire.command("ENABLE QRESYNC");
    const sel = await this.wire.command(`SELECT ${mailbox}`);
    this.uidvalidity = Number(/UIDVALIDITY (\d+)/.exec(sel.untagged.map((u) => u.text).join("\n"))![1]);
  }

  close(): Promise<void> {
    return this.wire.close();
  }

  async refresh(): Promise<void> {
    this.vanished((await this.wire.command("NOOP")).untagged);
    const last = Math.max(0, ...this.uids);
    const answer = await this.wire.command(`UID FETCH ${last + 1}:* (UID)`);
    this.vanished(answer.untagged);
    for (const u of answer.untagged) {
      const m = /^\* \d+ FETCH \(.*UID (\d+)/.exec(u.text);
      if (!m || Number(m[1]) <= last) continue;
      this.uids.add(Number(m[1]));
      this.downloads += 1;
    }
  }

  private vanished(untagged: { text: string }[]): void {
    for (const u of untagged) {
      const m = /^\* VANISHED (?:\(EARLIER\) )?(\S+)/.exec(u.text);
      if (!m) continue;
      for (const part of m[1]!.split(",")) {
        const [lo, hi] = part.split(":").map(Number) as [number, number | undefined];
        for (let uid = lo; uid <= (hi ?? lo); uid++) this.uids.delete(uid);
      }
    }
  }
}

async function login(server: Running): Promise<ImapWire> {
  const wire = await ImapWire.open(server.host, server.port);
  await wire.command(`LOGIN bench "${PASSWORD}"`);
  return wire;
}

/** UID -> subject of every message in the mailbox. */
async function listing(wire: ImapWire, mailbox: string): Promise<Map<number, string>> {
  await wire.command(`EXAMINE ${mailbox}`);
  const answer = await wire.command("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])", {
    keepLiterals: true,
  });
  const out = new Map<number, string>();
  for (const u of answer.untagged) {
    const uid = /UID (\d+)/.exec(u.text);
    const subject = /Subject: ([^\r\n]+)/.exec(u.literals?.[0]?.toString("latin1") ?? "");
    if (uid && subject) out.set(Number(uid[1]), subject[1]!);
  }
  return out;
}

const same = (a: Map<number, string>, b: Map<number, string>) =>
  a.size === b.size && [...a].every(([uid, s]) => b.get(uid) === s);

await mkdir(cacheRoot, { recursive: true });
const garage = await startGarage();
const homes: string[] = [];
const servers: Running[] = [];
let missed = false;
let store: Store | undefined;
let account: Account | undefined;
try {
  for (const name of ["laptop", "desktop"]) {
    const home = await mkdtemp(join(cacheRoot, `agl-clash-${name}-`));
    homes.push(home);
    const init = await runCli(
      home,
      [
        "init",
        "--user",
        "bench",
        "--password-stdin",
        "--yes",
        "--backend",
        "garage",
        "--s3-endpoint",
        garage.s3Endpoint,
        "--k2v-endpoint",
        garage.k2vEndpoint,
        "--region",
        garage.region,
        "--bucket",
        garage.bucket,
        "--access-key-id",
        garage.accessKeyId,
        "--secret-access-key-stdin",
        "--credentials-file",
      ],
      `${garage.secretAccessKey}\n${PASSWORD}\n`,
      120_000,
    );
    if (init.code !== 0) throw new Error(`init on the ${name} failed: ${init.out.slice(-800)}`);
    servers.push(await startServer(home, join(home, "server.log")));
  }
  console.log(
    `two aerogramme-local processes on one local Garage; ${EACH}+${EACH} concurrent APPENDs, ${RUNS} runs`,
  );
  // A third reader of the bucket, for the op log's claims only.
  store = openGarageStore(garage, {
    accessKeyId: garage.accessKeyId,
    secretAccessKey: garage.secretAccessKey,
  });
  account = await openAccount(store, PASSWORD);
  for (let run = 1; run <= RUNS; run++) {
    const mailbox = `Clash${run}`;
    const [a, b] = [await login(servers[0]!), await login(servers[1]!)];
    await a.command(`CREATE ${mailbox}`);
    for (let i = 0; i < 100; i++) {
      const st = await b.command(`STATUS ${mailbox} (MESSAGES)`, { allowNo: true });
      if (st.status === "OK") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const mirrors = [new Mirror(await login(servers[0]!)), new Mirror(await login(servers[1]!))];
    for (const m of mirrors) await m.open(mailbox);
    const appendUid = new Map<string, number>();
    const appendFrom = async (wire: ImapWire, who: string) => {
      for (let i = 0; i < EACH; i++) {
        const subject = `${who} ${i}`;
        const answer = await wire.command(`APPEND ${mailbox}`, {
          literal: Buffer.from(`From: bench@example.org\r\nSubject: ${subject}\r\n\r\nFrom the ${who}.\r\n`),
        });
        appendUid.set(subject, Number(/APPENDUID \d+ (\d+)/.exec(answer.text)![1]));
      }
    };
    let storming = true;
    const watching = mirrors.map(async (m) => {
      while (storming) {
        await m.refresh();
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    const t0 = performance.now();
    await Promise.all([appendFrom(a, "laptop"), appendFrom(b, "desktop")]);
    const appendMs = performance.now() - t0;
    storming = false;
    await Promise.all(watching);

    // Both computers agree (bounded), and each mirror catches up with that.
    let final = new Map<number, string>();
    for (let round = 0; round < 200; round++) {
      const [onA, onB] = [await listing(a, mailbox), await listing(b, mailbox)];
      final = onA;
      if (onA.size === 2 * EACH && same(onA, onB)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let round = 0; round < 200; round++) {
      for (const m of mirrors) await m.refresh();
      if (mirrors.every((m) => m.uids.size === final.size && [...final.keys()].every((u) => m.uids.has(u))))
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const renumbered = [...final].filter(([uid, subject]) => appendUid.get(subject) !== uid).length;
    const status = await a.command(`STATUS ${mailbox} (UIDNEXT UIDVALIDITY)`);
    const line = status.untagged.map((u) => u.text).join(" ");
    const burned = Number(/UIDNEXT (\d+)/.exec(line)![1]) - 1 - 2 * EACH;
    const validityKept = mirrors.every((m) => Number(/UIDVALIDITY (\d+)/.exec(line)![1]) === m.uidvalidity);
    const again = mirrors.map((m) => m.downloads - 2 * EACH);
    const { displaced, renumberedTwice } = displacement(await claimsInLog(store, account, mailbox));
    const met = again.every((n) => n <= displaced) && validityKept && final.size === 2 * EACH;
    if (!met) missed = true;
    console.log(
      `run ${run}: ${final.size} messages, APPENDs took ${(appendMs / 1000).toFixed(1)} s, ${renumbered} renumbered ` +
        `after a clash (${renumberedTwice} more than once, ${displaced} displaced claims; ${burned} UIDs burned); ` +
        `QRESYNC clients downloaded again: laptop ${again[0]}, desktop ${again[1]}; UIDVALIDITY ` +
        `${validityKept ? "unchanged" : "CHANGED"}; target ${met ? "met" : "MISSED"}`,
    );
    for (const w of [a, b]) await w.close();
    for (const m of mirrors) await m.close();
  }
} finally {
  await account?.close();
  await store?.close();
  for (const s of servers) await s.stop();
  for (const h of homes) await rm(h, { recursive: true, force: true });
  await garage.stop();
}
process.exit(missed ? 1 : 0);
