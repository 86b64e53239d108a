/**
 * Nothing readable on the storage host (issue 5): a scripted IMAP session with distinctive mailbox
 * names, subjects, bodies and addresses on a real Garage, then every S3 object and every K2V row is
 * downloaded and searched for those words in every encoding. The scan is first shown to find the
 * words when they are there.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { openGarageStore } from "../../../src/storage/garage/index.ts";
import { dumpBucket, garageBinary, startGarage, type GaragePeer } from "../../support/garage.ts";
import { imapflowClient } from "../../support/imapflowClient.ts";
import { skipUnless } from "../../support/peers.ts";
import { scanBytes, type Finding } from "../../support/plaintextScan.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import type { Store } from "../../../src/storage/types.ts";

const WORDS = ["Zanzibarquux", "Xylophonequartz", "wobblefrump", "Quokkalantern", "Mistelzweig"];

const skip = skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage");

describe("nothing readable on a Garage host", { skip }, () => {
  let peer: GaragePeer;
  let store: Store;
  let server: TestServer;
  let listViewDir: string | undefined;

  before(async () => {
    peer = await startGarage();
    store = openGarageStore(peer, { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey });
    listViewDir = await mkdtemp(join(tmpdir(), "agl-garage-at-rest-"));
    // The list view shared through the bucket, in segments of 4 UIDs: written at the MOVE's expunge.
    server = await startTestServer({ store, listView: { dir: listViewDir, listSegmentSpan: 4 } });
  });
  after(async () => {
    await server?.close();
    await store?.close();
    await peer?.stop();
    if (listViewDir) await rm(listViewDir, { recursive: true, force: true });
  });

  test("the scanner finds the words when they are stored in the clear", () => {
    const plain = Buffer.from(`x ${WORDS[0]} y`);
    assert.equal(scanBytes("plain", plain, WORDS).length, 1);
    const b64 = Buffer.from(Buffer.from(`..${WORDS[1]}..`).toString("base64"));
    assert.ok(scanBytes("b64", b64, WORDS).some((f) => f.encoding.startsWith("base64")));
    assert.ok(scanBytes("u16", Buffer.from(WORDS[2]!, "utf16le"), WORDS).length > 0);
    const packed = Buffer.concat([
      Buffer.from([1]),
      deflateRawSync(Buffer.from(`a ${WORDS[3]} b`.repeat(9))),
    ]);
    assert.ok(scanBytes("deflate", packed, WORDS).some((f) => f.encoding.startsWith("deflate@1")));
  });

  test(
    "after a full IMAP session no object and no row holds a distinctive word",
    { timeout: 180_000 },
    async () => {
      const client = await imapflowClient(server);
      await client.mailboxCreate(`Projects/${WORDS[0]}`);
      for (let i = 0; i < 30; i++) {
        const raw =
          `From: ${WORDS[2]} <${WORDS[2]}@example.org>\r\nTo: ${WORDS[3]}@example.net\r\n` +
          `Subject: ${WORDS[1]} number ${i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
          `Dear ${WORDS[3]}, the ${WORDS[4]} is ready (${i}).\r\n`;
        await client.append(i % 2 ? "INBOX" : `Projects/${WORDS[0]}`, raw, i % 3 ? ["\\Seen"] : []);
      }
      const lock = await client.getMailboxLock("INBOX");
      try {
        await client.messageFlagsAdd("1:*", ["\\Flagged", `$${WORDS[4]}`]);
        await client.messageCopy("1:5", "Archive");
        await client.messageMove("6:7", `Projects/${WORDS[0]}`);
      } finally {
        lock.release();
      }
      await client.logout();

      // The MOVE's segment rewrite is not awaited by the command: wait for it (bounded).
      const segmentsPut = async () =>
        (await store.blobs.list("index/")).keys.some((k) => k.includes("/list/"));
      for (let i = 0; i < 100 && !(await segmentsPut()); i++) await new Promise((r) => setTimeout(r, 50));
      // Every S3 object and every K2V row, as the host holds them.
      const held = await dumpBucket(peer);
      const findings: Finding[] = [];
      for (const item of held) {
        findings.push(...scanBytes(`${item.where} key ${item.name}`, Buffer.from(item.name), WORDS));
        findings.push(...scanBytes(`${item.where} ${item.name}`, item.bytes, WORDS));
      }
      // Bodies are objects `mail/<id>`, or rows `body`/<id> when small (all of these are).
      const bodies = held.filter(
        (h) =>
          (h.where === "s3" && h.name.startsWith("mail/")) ||
          (h.where === "k2v" && h.name.startsWith("body / ")),
      ).length;
      const rows = held.filter((h) => h.where === "k2v").length;
      assert.ok(bodies >= 30, `only ${bodies} bodies stored`);
      assert.ok(rows >= 30, `only ${rows} rows stored`);
      const segments = held.filter((h) => h.where === "s3" && /\/list\//.test(h.name)).length;
      assert.ok(segments > 0, "no shared list segment stored");
      assert.deepEqual(findings, []);
    },
  );
});
