/**
 * Resilience on a three-node Garage with replication factor 3 (issue 5): one node stops during 500
 * APPENDs and flag changes, and every acknowledged write is there afterwards, read through the
 * restarted node too; with every node down clients get NO [UNAVAILABLE] within seconds and the
 * server keeps running; when the nodes return, service resumes by itself.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openGarageStore } from "../../../src/storage/garage/index.ts";
import type { Store } from "../../../src/storage/types.ts";
import { garageBinary, startGarage, type GaragePeer } from "../../support/garage.ts";
import { skipUnless } from "../../support/peers.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { appendRaw, loggedIn, message, tagged } from "./scenarioHelpers.ts";

const skip = skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage");
const TOTAL = 500;

describe("IMAP on a three-node Garage", { skip }, () => {
  let peer: GaragePeer;
  let store: Store;
  let server: TestServer;

  before(async () => {
    peer = await startGarage({ nodes: 3 });
    const creds = { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey };
    // Short timeouts: an outage must turn into an answer within seconds.
    store = openGarageStore(peer, creds, { net: { timeoutMs: 2000, attempts: 2, maxDelayMs: 300 } });
    server = await startTestServer({ store });
  });
  after(async () => {
    await server?.close();
    await store?.close();
    await peer?.stop();
  });

  test(
    "a node stopped during 500 APPENDs and flag changes loses no acknowledged write",
    { timeout: 600_000 },
    async () => {
      const c = await loggedIn(server);
      await c.command("CREATE Load");
      await c.command("SELECT Load");
      const acked = new Map<number, string>();
      const flagged = new Set<number>();
      for (let i = 1; i <= TOTAL; i++) {
        if (i === 100) await peer.stopNode(2);
        if (i === 400) await peer.startNode(2);
        const subject = `load ${i}`;
        const answer = await appendRaw(c, "Load", message(subject, `body ${i}`));
        const uid = /APPENDUID \d+ (\d+)/.exec(answer);
        if (uid) acked.set(Number(uid[1]), subject);
        if (i % 10 === 0 && uid) {
          const r = await c.command(`UID STORE ${uid[1]} +FLAGS.SILENT (\\Flagged)`);
          if (tagged(r).startsWith("OK")) flagged.add(Number(uid[1]));
        }
      }
      assert.ok(acked.size >= TOTAL * 0.9, `only ${acked.size} of ${TOTAL} APPENDs were acknowledged`);
      await c.command("NOOP");
      const subjects = new Map<number, string>();
      const flags = new Map<number, string>();
      for (const line of await c.command(
        "UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])",
        120_000,
      )) {
        const m =
          /UID (\d+) FLAGS \(([^)]*)\) BODY\[HEADER\.FIELDS \(Subject\)\] \{\d+\}\r\nSubject: ([^\r]*)/.exec(
            line,
          );
        if (m) {
          subjects.set(Number(m[1]), m[3]!);
          flags.set(Number(m[1]), m[2]!);
        }
      }
      for (const [uid, subject] of acked) assert.equal(subjects.get(uid), subject, `UID ${uid} lost`);
      for (const uid of flagged) assert.match(flags.get(uid) ?? "", /\\Flagged/, `flag of UID ${uid} lost`);
      c.close();

      // The restarted node answers with the same data (its own endpoint, quorum reads included).
      const creds = { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey };
      const node2 = openGarageStore(
        { ...peer, s3Endpoint: peer.nodes[2]!.s3Endpoint, k2vEndpoint: peer.nodes[2]!.k2vEndpoint },
        creds,
      );
      try {
        const a = await store.blobs.list("mail/", undefined, 10_000);
        const b = await node2.blobs.list("mail/", undefined, 10_000);
        assert.deepEqual(b.keys, a.keys);
      } finally {
        await node2.close();
      }
    },
  );

  test(
    "with every node down: NO [UNAVAILABLE] within seconds, no crash; service resumes when they return",
    { timeout: 300_000 },
    async () => {
      const c = await loggedIn(server);
      await c.command("SELECT Load");
      // All three at once: each stop waits up to 10 s for the server's open connections to drain.
      await Promise.all([0, 1, 2].map((i) => peer.stopNode(i)));
      try {
        const started = Date.now();
        const r = await c.command("UID FETCH 1:3 (BODY.PEEK[TEXT])", 30_000);
        assert.match(tagged(r), /^NO \[UNAVAILABLE\]/);
        const answer = await appendRaw(c, "Load", message("while down", "refused"));
        assert.match(answer, /NO \[UNAVAILABLE\]/);
        assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
      } finally {
        for (let i = 0; i < 3; i++) await peer.startNode(i);
      }
      let resumed = false;
      for (let attempt = 0; attempt < 30 && !resumed; attempt++) {
        const answer = await appendRaw(c, "Load", message("after", "back"));
        resumed = /OK \[APPENDUID/.test(answer);
        if (!resumed) await new Promise((r) => setTimeout(r, 1000));
      }
      assert.ok(resumed, "service did not resume after the nodes came back");
      assert.match(tagged(await c.command("UID FETCH 1 (BODY.PEEK[TEXT])")), /^OK /);
      c.close();
    },
  );
});
