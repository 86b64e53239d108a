/**
 * `reset --delete-remote-data` on a real Garage (issue 16): after a session that created and
 * deleted mailboxes, appended, flagged and delivered, a wrong password deletes nothing (exit 3);
 * the right one lists what goes by kind, then leaves the bucket with no object and no live K2V row
 * (S3 ListObjects and K2V ReadIndex + ReadBatch, as the host sees it) and the home folder gone.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { listSegmentKey } from "../../src/mail/listSegments.ts";
import { openGarageStore } from "../../src/storage/garage/index.ts";
import { dumpBucket, type HeldItem } from "../support/garage.ts";
import { skipUnless } from "../support/peers.ts";
import { RawImap } from "../support/rawImap.ts";
import { runCli, startServer, tempHome } from "./cliHarness.ts";
import { garageBinary, garageInitFlags, startGarage, type GaragePeer } from "./garagePeer.ts";

const PASSWORD = "a garage home that will be reset";
const skip = skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage");

async function append(c: RawImap, mailbox: string, subject: string): Promise<string> {
  const raw = Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`);
  const tag = c.nextTag();
  c.write(`${tag} APPEND ${mailbox} {${raw.length}}\r\n`);
  assert.match(await c.readLine(), /^\+/);
  c.write(Buffer.concat([raw, Buffer.from("\r\n")]));
  return (await c.until(tag)).at(-1)!;
}

const live = (held: HeldItem[]) => held.filter((h) => h.where === "s3" || h.bytes.length > 0);

describe("reset --delete-remote-data against a real Garage", { skip }, () => {
  let garage: GaragePeer;
  let home: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    garage = await startGarage();
    home = await tempHome();
  });
  after(async () => {
    await home?.cleanup();
    await garage?.stop();
  });

  test("a wrong password deletes nothing; the right one empties the bucket, then the home", async () => {
    const init = await runCli(
      ["init", "--password-stdin", ...garageInitFlags(garage, garage), "--user", "alice"],
      { home: home.dir, input: `${garage.secretAccessKey}\n${PASSWORD}\n` },
    );
    assert.equal(init.code, 0, init.stderr);

    const server = await startServer(["--imap-port", "0"], { home: home.dir });
    try {
      const c = await RawImap.connect(server.port);
      await c.readLine();
      assert.match((await c.command(`LOGIN alice "${PASSWORD}"`)).at(-1)!, /OK/);
      for (const cmd of ["CREATE Projects", "CREATE Old", "DELETE Old"])
        assert.match((await c.command(cmd)).at(-1)!, /OK/, cmd);
      for (let i = 0; i < 3; i++) assert.match(await append(c, "Projects", `p${i}`), /OK/);
      assert.match(await append(c, "INBOX", "i0"), /OK/);
      assert.match((await c.command("SELECT Projects")).at(-1)!, /OK/);
      assert.match((await c.command("STORE 1:2 +FLAGS (\\Flagged)")).at(-1)!, /OK/);
      assert.match((await c.command("LOGOUT")).at(-1)!, /OK/);
      c.close();
      const delivered = await runCli(["deliver"], { home: home.dir, input: "Subject: d\n\nd\n" });
      assert.equal(delivered.code, 0, delivered.stderr);
    } finally {
      await server.stop();
    }
    // One delivery after the server stopped stays in the queue: the incoming queue is listed too.
    const queued = await runCli(["deliver"], { home: home.dir, input: "Subject: q\n\nq\n" });
    assert.equal(queued.code, 0, queued.stderr);

    // A shared list segment (written by a 1,000-UID range, too many for this test): one object
    // under the mailbox's name, which the removal must count as the account's and delete.
    const mbx = live(await dumpBucket(garage, { expectPartitions: 4 }))
      .map((h) => /^index\/(\w+) \/ /.exec(h.name)?.[1])
      .find((id) => id !== undefined)!;
    const blobs = openGarageStore(garage, {
      accessKeyId: garage.accessKeyId,
      secretAccessKey: garage.secretAccessKey,
    });
    await blobs.blobs.put(listSegmentKey(mbx, 0), randomBytes(512));
    await blobs.close();

    const before = live(await dumpBucket(garage, { expectPartitions: 4 }));
    const names = before.map((h) => h.name);
    // A body is blob mail/<id>, or, small, row body/<id> (messageLayout.ts): either proves mail is there.
    for (const want of [
      /^keys\/root$/,
      /^(mail\/|body \/ )/,
      /^incoming\/\d/,
      /^meta \/ /,
      /^index\/\w+ \/ /,
    ])
      assert.ok(
        names.some((n) => want.test(n)),
        `${want} in ${names.join(", ")}`,
      );

    const wrong = await runCli(["reset", "--yes", "--delete-remote-data", "--password-stdin"], {
      home: home.dir,
      input: "not the password\n",
    });
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.equal(existsSync(home.dir), true);
    assert.deepEqual(
      live(await dumpBucket(garage))
        .map((h) => h.name)
        .sort(),
      names.sort(),
    );

    const done = await runCli(["reset", "--yes", "--delete-remote-data", "--password-stdin"], {
      home: home.dir,
      input: `${PASSWORD}\n`,
    });
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /This deletes, from the bucket "mail":/);
    for (const kind of [
      /\d+ (bodies|body rows)/, // small bodies are rows on Garage
      /\d+ meta rows/,
      /\d+ op rows/,
      /1 mailbox list rows/,
      /\d+ incoming rows/,
      /1 incoming queue/,
      /1 key root/,
      /1 list segments/,
    ])
      assert.match(done.stdout, kind);
    assert.match(done.stderr, /deleting from the bucket: (\d+)\/\1/);
    assert.equal(existsSync(home.dir), false);
    assert.deepEqual(live(await dumpBucket(garage)), []);
  });
});
