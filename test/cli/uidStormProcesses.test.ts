/**
 * Issue 17's proof under faults, with real processes: three `aerogramme-local start` (homes, caches
 * and marks of their own, one account on one bucket) on a three-node Garage (replication factor 3).
 * An imapflow client on each runs seeded random APPEND, STORE, COPY, MOVE, EXPUNGE and
 * CREATE/RENAME/DELETE of mailboxes, all at once. Halfway one Garage node stops and comes back; one
 * process is killed with SIGKILL in the middle of an APPEND and started again. At the end the three
 * list the same mailboxes (names, UIDVALIDITY, UIDs, flags, MODSEQs, hashes of the bytes); every
 * acknowledged operation is there; UIDVALIDITY never changed; no UID was ever shown for two
 * messages (each client logs every UID it was told); HIGHESTMODSEQ never went back on a computer,
 * across the kill too. mbsync on each computer, before and after the storm, runs through without
 * "UIDVALIDITY changed" and ends with what the server lists.
 *
 * AGL_STORM_OPS=<n> sets the number of operations (400 here; 2,000 for the nightly run), and
 * AGL_STORM_SEED=<seed> replays a run's choices (the seed is printed). Storage timing is not seeded:
 * a replay takes the same decisions, not the same interleaving.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ImapFlow } from "../support/imapflowClient.ts";
import { garageBinary, startGarage, type GaragePeer } from "../support/garage.ts";
import { findExecutable, skipUnless } from "../support/peers.ts";
import {
  everything,
  joinHome,
  login,
  maildirSubjects,
  mbsyncHome,
  mbsyncPort,
  mbsyncRun,
  sha256,
  start,
  type Computer,
  type MailboxView,
} from "./stormProcesses.ts";

const mbsync = findExecutable("mbsync");
const skip =
  skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage") ||
  skipUnless(mbsync !== undefined, "mbsync", "apt-get install isync");
const OPS = Number(process.env.AGL_STORM_OPS ?? 400);
const SEED = Number(process.env.AGL_STORM_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FIXED = ["Storm", "Storm2"] as const;
const MBSYNC_BOXES = ["INBOX", ...FIXED, "Copies"];

let peer: GaragePeer | undefined;
const computers: Computer[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
let mbsyncDir: string;

before(async () => {
  if (skip) return;
  peer = await startGarage({ nodes: 3 });
  mbsyncDir = await mkdtemp(join(tmpdir(), "agl-storm-mbsync-"));
  // Node 2 is the one that stops: nobody's gateway. The first home makes the account.
  for (let i = 0; i < 3; i++) {
    const home = await joinHome(peer, i % 2, cleanups);
    computers.push({ name: `computer ${i}`, home, server: await start(home) });
  }
});
after(async () => {
  for (const c of computers) await c.server.stop("SIGKILL").catch(() => undefined);
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  if (mbsyncDir) await rm(mbsyncDir, { recursive: true, force: true });
  await peer?.stop();
});

/** mulberry32: small, seeded, good enough to pick operations. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a client expects of a message it appended; `unsure` once an operation on it had no answer. */
interface Expected {
  hash: string;
  mailbox: string | null;
  flagged: boolean;
  copies: number;
  unsure: boolean;
  /** The UID an acknowledged EXPUNGE named: a clash may have renumbered it just before (a no-op). */
  expungedUid?: number;
  /** The UID APPENDUID or COPYUID of a MOVE gave it last. */
  toldUid?: number;
}

/** Every UID a computer told its client, per mailbox incarnation: one UID must never name two messages. */
class Told {
  private readonly seen = new Map<string, string>();
  readonly log: string[] = [];
  constructor(private readonly name: string) {}
  note(mailbox: string, uidvalidity: number, uid: number, subject: string, how: string): void {
    const key = `${mailbox}/${uidvalidity}/${uid}`;
    const was = this.seen.get(key);
    this.log.push(`${how} ${key} ${subject}`);
    assert.ok(
      was === undefined || was === subject,
      `${this.name} told UID ${key} for "${was}", then for "${subject}" (${how})`,
    );
    this.seen.set(key, subject);
  }
}

/** A mailbox this client made: its messages follow it through renames. */
interface Churned {
  unsure: boolean;
}

const messageText = (subject: string, rnd: () => number) =>
  `From: Storm <storm@example.org>\r\nTo: alice@example.org\r\nSubject: ${subject}\r\n` +
  `Message-ID: <${subject}@example.org>\r\nDate: Sat, 5 Dec 2026 10:00:00 +0000\r\n\r\n` +
  `${"line of the storm\r\n".repeat(1 + Math.floor(rnd() * 40))}${rnd()}\r\n`;

test(
  "three aerogramme-local processes (needs Garage and mbsync) on a three-node Garage, a node stopped and a process killed -9 mid-storm, converge; UIDVALIDITY never changes",
  // Under load on 2 cores an operation took up to ~1 s as the mailboxes grew (2,000: ~30 min).
  { skip, timeout: Math.max(900_000, OPS * 1_500) },
  async () => {
    try {
      await storm(peer!);
    } catch (err) {
      // Which process died, and what it said: the first thing to read when the storm fails.
      const said = computers.map(
        (c) =>
          `${c.name}: pid ${c.server.child.pid}, exit ${c.server.child.exitCode ?? "-"} signal ` +
          `${c.server.child.signalCode ?? "-"}; stderr ends:\n${c.server.stderr().slice(-3000)}`,
      );
      throw new Error(`${(err as Error).message}\n${said.join("\n")}`, { cause: err });
    }
  },
);

async function storm(g: GaragePeer): Promise<void> {
  console.log(`# process storm seed ${SEED} (replay with AGL_STORM_SEED=${SEED}), ${OPS} operations`);
  const started = Date.now();
  const setup = await login(computers[0]!.server);
  for (const m of [...FIXED, "Copies"]) await setup.mailboxCreate(m);
  // A few messages for mbsync's first run.
  for (const m of ["INBOX", ...FIXED])
    for (let i = 0; i < 3; i++)
      await setup.append(
        m,
        messageText(`before-${m}-${i}`, () => 0.5),
      );
  const validity = new Map<string, number>();
  for (const m of ["INBOX", ...FIXED, "Copies"]) {
    const status = await setup.status(m, { uidValidity: true });
    assert.ok(status, `STATUS ${m}`);
    validity.set(m, Number(status.uidValidity));
  }
  await setup.logout();

  const rcs: string[] = [];
  for (const [i, c] of computers.entries())
    rcs.push(await mbsyncHome(mbsyncDir, `m${i}`, c.server.port, MBSYNC_BOXES));
  await Promise.all(rcs.map((rc, i) => mbsyncRun(mbsync!, rc, `computer ${i} before the storm`)));

  const told = computers.map((c) => new Told(c.name));
  const expected = new Map<string, Expected>();
  const churned = new Map<string, Churned>();
  /** Every acknowledged CREATE, RENAME and DELETE, with its time: printed when one is lost. */
  const mailboxOps: string[] = [];
  const stamp = () => new Date().toISOString().slice(11, 23);
  const gone = new Set<string>();
  const highest = new Map<string, bigint>();
  const errors = new Map<string, number>();
  let done = 0;
  let failed = 0;
  let outage: Promise<void> | undefined;
  let outageOver = false;
  let killed = false;

  const open = async (c: ImapFlow, who: number, mailbox: string) => {
    const box = await c.mailboxOpen(mailbox);
    const v = Number(box.uidValidity);
    if (validity.has(mailbox)) assert.equal(v, validity.get(mailbox), `UIDVALIDITY of ${mailbox} unchanged`);
    const key = `${who}/${mailbox}/${v}`;
    const modseq = BigInt(box.highestModseq ?? 0n);
    assert.ok(modseq >= (highest.get(key) ?? 0n), `HIGHESTMODSEQ of ${key} went back`);
    highest.set(key, modseq);
    return v;
  };

  const client = async (who: number): Promise<void> => {
    const rnd = random(SEED + who);
    let c = await login(computers[who]!.server);
    const mine: string[] = [];
    const myBoxes: string[] = [];
    let boxCount = 0;
    for (let n = 0; done < OPS; n++) {
      const step = done++;
      if (step > 0 && step % Math.max(100, Math.floor(OPS / 10)) === 0)
        console.log(
          `# process storm: ${step} operations after ${Math.round((Date.now() - started) / 1000)} s`,
        );
      if (step >= Math.floor(OPS / 2) && !outage) outage = g.stopNode(2);
      if (step >= Math.floor((OPS * 3) / 4) && outage && !outageOver) {
        outageOver = true;
        await outage;
        await g.startNode(2);
      }
      const subject = `s-c${who}-${String(n).padStart(4, "0")}`;
      const pick = rnd();
      const usable = mine.filter((s) => {
        const e = expected.get(s)!;
        return !e.unsure && (FIXED as readonly string[]).includes(e.mailbox ?? "");
      });
      try {
        if (who === 2 && !killed && step >= Math.floor((OPS * 2) / 3)) {
          // SIGKILL lands while an APPEND is on its way; the process starts again from its home.
          killed = true;
          const text = messageText(subject, rnd);
          expected.set(subject, {
            hash: sha256(text),
            mailbox: "Storm",
            flagged: false,
            copies: 0,
            unsure: true,
          });
          const appending = c.append("Storm", text).catch(() => false);
          await new Promise((r) => setTimeout(r, Math.floor(rnd() * 40)));
          await computers[2]!.server.stop("SIGKILL");
          await appending;
          computers[2]!.server = await start(computers[2]!.home);
          c = await login(computers[2]!.server);
          continue;
        }
        if (pick < 0.08) {
          await churn(c, who, rnd, myBoxes, () => `Churn-c${who}-${boxCount++}`, subject, mine);
          continue;
        }
        if (usable.length === 0 || pick < 0.42) {
          const mailbox = FIXED[Math.floor(rnd() * 2)]!;
          const flagged = rnd() < 0.3;
          const text = messageText(subject, rnd);
          expected.set(subject, { hash: sha256(text), mailbox, flagged, copies: 0, unsure: true });
          mine.push(subject);
          const r = await c.append(mailbox, text, flagged ? ["\\Flagged"] : []);
          if (r && r.uid) {
            assert.equal(Number(r.uidValidity), validity.get(mailbox), "APPENDUID's UIDVALIDITY");
            told[who]!.note(mailbox, Number(r.uidValidity), r.uid, subject, "APPENDUID");
            expected.get(subject)!.unsure = false;
            expected.get(subject)!.toldUid = r.uid;
          } else failed += 1;
          continue;
        }
        const target = usable[Math.floor(rnd() * usable.length)]!;
        const e = expected.get(target)!;
        const mailbox = e.mailbox!;
        const v = await open(c, who, mailbox);
        const uids = (await c.search({ header: { subject: target } }, { uid: true })) || [];
        assert.ok(uids.length <= 1, `${target} shown under ${uids.length} UIDs in ${mailbox}`);
        const uid = uids[0];
        if (uid === undefined) continue; // unplaced after a clash, not renumbered yet
        told[who]!.note(mailbox, v, uid, target, "SEARCH");
        const kind = rnd();
        e.unsure = true;
        let ok = false;
        if (kind < 0.35) {
          const flagged = !e.flagged;
          if (flagged) await c.messageFlagsAdd(String(uid), ["\\Flagged"], { uid: true });
          else await c.messageFlagsRemove(String(uid), ["\\Flagged"], { uid: true });
          // The STORE reached the message if its UID shows the change: a UID renumbered in
          // between takes a STORE as a no-op (docs/architecture.md).
          const f = await c.fetchOne(String(uid), { uid: true, flags: true }, { uid: true });
          ok = f !== false && f.flags?.has("\\Flagged") === flagged;
          if (ok) e.flagged = flagged;
        } else if (kind < 0.6) {
          const to = mailbox === "Storm" ? "Storm2" : "Storm";
          const r = await c.messageMove(String(uid), to, { uid: true });
          const newUid = r ? r.uidMap?.get(uid) : undefined;
          if (newUid !== undefined) {
            told[who]!.note(to, validity.get(to)!, newUid, target, "MOVE COPYUID");
            e.mailbox = to;
            e.toldUid = newUid;
            ok = true;
          }
        } else if (kind < 0.8) {
          const r = await c.messageCopy(String(uid), "Copies", { uid: true });
          const newUid = r ? r.uidMap?.get(uid) : undefined;
          if (newUid !== undefined) {
            told[who]!.note("Copies", validity.get("Copies")!, newUid, target, "COPY COPYUID");
            e.copies += 1;
            ok = true;
          }
        } else {
          await c.messageFlagsAdd(String(uid), ["\\Deleted"], { uid: true });
          const f = await c.fetchOne(String(uid), { uid: true, flags: true }, { uid: true });
          if (f !== false && f.flags?.has("\\Deleted")) {
            ok = await c.messageDelete(String(uid), { uid: true });
            if (ok) {
              e.mailbox = null;
              e.expungedUid = uid;
            }
          }
        }
        if (ok) e.unsure = false;
        else failed += 1;
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        failed += 1;
        const why = ((err as { responseText?: string }).responseText ?? (err as Error).message).slice(0, 80);
        errors.set(why, (errors.get(why) ?? 0) + 1);
        if (!c.usable) {
          // Its server was killed, or the connection broke: log in again (bounded by the test).
          for (let attempt = 0; ; attempt++) {
            try {
              c = await login(computers[who]!.server);
              break;
            } catch (again) {
              if (attempt === 20) throw again;
              await new Promise((r) => setTimeout(r, 500));
            }
          }
        }
      }
    }
    await c.logout().catch(() => undefined);
  };

  /** CREATE, RENAME or DELETE one of this client's own mailboxes, or APPEND to one. */
  const churn = async (
    c: ImapFlow,
    who: number,
    rnd: () => number,
    boxes: string[],
    fresh: () => string,
    subject: string,
    mine: string[],
  ): Promise<void> => {
    const kind = rnd();
    const live = boxes.filter((b) => !churned.get(b)!.unsure);
    const inBox = (b: string) => [...expected.values()].filter((e) => e.mailbox === b);
    /** A command on a mailbox whose CREATE or RENAME was acknowledged: it must still be there. */
    const onLive = async <T>(box: string, what: string, command: () => Promise<T>): Promise<T> => {
      try {
        return await command();
      } catch (err) {
        const text = (err as { responseText?: string }).responseText ?? "";
        if (!/does not exist/i.test(text)) throw err;
        const names = await c.list().then(
          (l) => l.map((b) => b.path).join(", "),
          () => "(LIST failed)",
        );
        const history = mailboxOps.filter((l) => l.includes(box)).join("; ");
        throw new assert.AssertionError({
          message:
            `${what} ${box} on computer ${who}: "${text}", but its CREATE or RENAME was acknowledged; ` +
            `LIST: ${names}; mailbox operations naming it: ${history}`,
        });
      }
    };
    if (live.length === 0 || (kind < 0.3 && live.length < 3)) {
      const name = fresh();
      boxes.push(name);
      churned.set(name, { unsure: true });
      await c.mailboxCreate(name);
      churned.get(name)!.unsure = false;
      mailboxOps.push(`${stamp()} computer ${who} CREATE ${name} OK`);
      return;
    }
    const box = live[Math.floor(rnd() * live.length)]!;
    if (kind < 0.5) {
      const name = fresh();
      boxes.push(name);
      churned.set(name, { unsure: true });
      churned.get(box)!.unsure = true;
      for (const e of inBox(box)) e.unsure = true;
      await onLive(box, "RENAME", () => c.mailboxRename(box, name));
      mailboxOps.push(`${stamp()} computer ${who} RENAME ${box} ${name} OK`);
      churned.get(name)!.unsure = false;
      boxes.splice(boxes.indexOf(box), 1);
      churned.delete(box);
      gone.add(box);
      for (const e of inBox(box)) {
        e.mailbox = name;
        e.unsure = false;
      }
    } else if (kind < 0.7) {
      churned.get(box)!.unsure = true;
      for (const e of inBox(box)) e.unsure = true;
      await onLive(box, "DELETE", () => c.mailboxDelete(box));
      mailboxOps.push(`${stamp()} computer ${who} DELETE ${box} OK`);
      boxes.splice(boxes.indexOf(box), 1);
      churned.delete(box);
      gone.add(box);
      for (const e of inBox(box)) {
        e.mailbox = null;
        e.unsure = false;
      }
    } else {
      const text = messageText(subject, rnd);
      expected.set(subject, { hash: sha256(text), mailbox: box, flagged: false, copies: 0, unsure: true });
      mine.push(subject);
      const r = await onLive(box, "APPEND to", () => c.append(box, text));
      if (r && r.uid) {
        told[who]!.note(box, Number(r.uidValidity), r.uid, subject, "APPENDUID");
        expected.get(subject)!.unsure = false;
      }
    }
  };

  await Promise.all([client(0), client(1), client(2)]);
  await outage;
  assert.ok(outage && killed, "a Garage node stopped and process 2 was killed during the storm");
  if (!g.nodes[2]!.running) await g.startNode(2);
  const stormMs = Date.now() - started;

  // Settle: every computer lists every mailbox alike (bounded).
  let views: MailboxView[][] = [];
  const deadline = Date.now() + 120_000;
  for (;;) {
    views = [];
    for (const c of computers) {
      const r = await login(c.server);
      views.push(await everything(r));
      await r.logout();
    }
    const same = views.every((v) => JSON.stringify(v) === JSON.stringify(views[0]));
    if (same || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  for (let i = 1; i < 3; i++) assert.deepEqual(views[i], views[0], `computers 0 and ${i} list the same`);
  const final = new Map(views[0]!.map((b) => [b.name, b]));
  for (const [m, v] of validity) assert.equal(final.get(m)?.uidvalidity, v, `UIDVALIDITY of ${m} unchanged`);
  for (const [i, view] of views.entries())
    for (const b of view)
      for (const m of b.messages) told[i]!.note(b.name, b.uidvalidity, m.uid, m.subject, "final");

  // Every acknowledged operation is there.
  const where = new Map<
    string,
    { mailbox: string; flagged: boolean; deleted: boolean; uid: number; hash: string }[]
  >();
  for (const b of views[0]!)
    if (b.name !== "Copies")
      for (const m of b.messages)
        where.set(m.subject, [
          ...(where.get(m.subject) ?? []),
          {
            mailbox: b.name,
            flagged: m.flags.includes("\\Flagged"),
            deleted: m.flags.includes("\\Deleted"),
            uid: m.uid,
            hash: m.hash,
          },
        ]);
  let checked = 0;
  let expungeNoop = 0;
  let renumbered = 0;
  for (const [subject, e] of expected) {
    if (e.unsure) continue;
    checked += 1;
    const found = where.get(subject) ?? [];
    if (e.mailbox === null && e.expungedUid !== undefined && found.length === 1) {
      // The documented no-op: the EXPUNGE named a UID that a clash had just renumbered.
      assert.notEqual(found[0]!.uid, e.expungedUid, `${subject} still under the UID it was expunged as`);
      assert.ok(found[0]!.deleted, `${subject}: renumbered after its \\Deleted, and kept it`);
      expungeNoop += 1;
      continue;
    }
    if (e.mailbox === null) assert.deepEqual(found, [], `${subject} was expunged`);
    else {
      assert.equal(found.length, 1, `${subject} is in exactly one mailbox: ${JSON.stringify(found)}`);
      assert.equal(found[0]!.mailbox, e.mailbox, `${subject} in ${e.mailbox}`);
      assert.equal(found[0]!.flagged, e.flagged, `${subject} \\Flagged as acknowledged`);
      assert.equal(found[0]!.hash, e.hash, `${subject}: the bytes appended`);
      if (e.toldUid !== undefined && found[0]!.uid !== e.toldUid) {
        assert.ok(found[0]!.uid > e.toldUid, `${subject} renumbered upwards`);
        renumbered += 1;
      }
    }
    const copied = final.get("Copies")!.messages.filter((m) => m.subject === subject);
    assert.ok(copied.length >= e.copies, `${subject}: ${copied.length} copies, ${e.copies} acknowledged`);
    for (const m of copied) assert.equal(m.hash, e.hash, `${subject}: a copy holds the bytes appended`);
  }
  for (const [name, b] of churned) if (!b.unsure) assert.ok(final.has(name), `mailbox ${name} is there`);
  for (const name of gone) if (!churned.has(name)) assert.ok(!final.has(name), `mailbox ${name} is gone`);

  // mbsync after the storm: no UIDVALIDITY change, and each Maildir holds what the server lists.
  for (const [i, rc] of rcs.entries()) await mbsyncPort(rc, computers[i]!.server.port);
  await Promise.all(rcs.map((rc, i) => mbsyncRun(mbsync!, rc, `computer ${i} after the storm`)));
  for (const rc of rcs)
    for (const m of MBSYNC_BOXES) {
      const want = final
        .get(m)!
        .messages.filter((x) => !x.flags.includes("\\Deleted"))
        .map((x) => x.subject)
        .sort();
      assert.deepEqual(await maildirSubjects(rc, m), want, `${rc}: ${m} as the server lists it`);
    }

  const listed = views[0]!.reduce((n, b) => n + b.messages.length, 0);
  console.log(
    `# process storm: ${OPS} operations in ${stormMs} ms, ${failed} without acknowledgement, ` +
      `${checked} messages checked, ${renumbered} of them renumbered after a clash, ${expungeNoop} EXPUNGEs of a just-renumbered UID, ${listed} messages in ` +
      `${views[0]!.length} mailboxes listed alike on 3 processes, UIDVALIDITY unchanged; total ${Date.now() - started} ms`,
  );
  if (errors.size > 0) console.log(`# errors seen: ${JSON.stringify([...errors])}`);
}
