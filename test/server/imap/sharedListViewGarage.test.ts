/**
 * The list view shared through the bucket on a real Garage (mail/sharedListView.ts), through the
 * IMAP server: a client's header list on one computer leaves sealed segments in the bucket; a
 * second computer (no list view, no cache) lists the same answers from them with few meta row
 * reads, and one the host tampered with costs only its range's meta reads, and is written again.
 * Ranges of 10 UIDs (SHARED_SPAN is 1,000).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { openGarageStore } from "../../../src/storage/garage/index.ts";
import type { Store } from "../../../src/storage/types.ts";
import { garageBinary, startGarage, type GaragePeer } from "../../support/garage.ts";
import { skipUnless } from "../../support/peers.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { appendRaw, loggedIn, message, tagged } from "./scenarioHelpers.ts";
import { metaRowsCounted } from "../../support/metaRowsCounted.ts";

const skip = skipUnless(Boolean(garageBinary()), "Garage (S3 + K2V)", "cargo install garage");
const COUNT = 35; // three full ranges of 10 UIDs, five messages past them
// No FLAGS: the first session to select sees \Recent, the next ones do not.
const LIST = "UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (From Subject Date)])";

describe("the list view shared through a Garage bucket", { skip }, () => {
  let peer: GaragePeer;
  let store: Store;
  let dir: string;
  const servers: TestServer[] = [];

  before(async () => {
    peer = await startGarage();
    store = openGarageStore(peer, { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey });
    dir = await mkdtemp(join(tmpdir(), "agl-shared-list-garage-"));
  });
  after(async () => {
    for (const s of servers) await s.close();
    await store?.close();
    await peer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const segments = async () => (await store.blobs.list("index/")).keys.filter((k) => k.includes("/list/"));

  /** The header list's answer lines (without the tag line), as a client sees them. */
  async function listed(server: TestServer): Promise<string[]> {
    const c = await loggedIn(server);
    assert.match(tagged(await c.command("SELECT INBOX")), /^OK/);
    const lines = await c.command(LIST);
    assert.match(tagged(lines), /^OK/);
    await c.command("LOGOUT");
    c.close();
    return lines.slice(0, -1);
  }

  test(
    "a second computer lists from the segments; a tampered one costs its range's meta reads and is written again",
    { timeout: 120_000 },
    async () => {
      const first = await startTestServer({ store, listView: { dir: join(dir, "a"), listSegmentSpan: 10 } });
      servers.push(first);
      const c = await loggedIn(first);
      for (let i = 0; i < COUNT; i++)
        assert.match(await appendRaw(c, "INBOX", message(`note ${i}`, `body ${i}`)), /OK/);
      await c.command("LOGOUT");
      c.close();
      const expected = await listed(first);
      assert.equal(expected.filter((l) => l.startsWith("* ")).length, COUNT);
      for (let i = 0; i < 100 && (await segments()).length < 3; i++) await delay(50);
      assert.equal((await segments()).length, 3, "the listing computer shared its three full ranges");

      const [, tamperedKey] = (await segments()).sort();
      const sealed = Buffer.from((await store.blobs.get(tamperedKey!))!);
      sealed[sealed.length - 9]! ^= 1;
      await store.blobs.put(tamperedKey!, sealed);

      const counted = metaRowsCounted(store);
      const second = await startTestServer({
        store: counted.store,
        joinExisting: true,
        listView: { dir: join(dir, "b"), listSegmentSpan: 10 },
      });
      servers.push(second);
      assert.deepEqual(await listed(second), expected);
      const reads = counted.metaRowsRead();
      assert.ok(reads <= 5 + 10, `${reads} meta rows read for ${COUNT} messages`);
      assert.ok(
        second.logs.some((l) => l.startsWith("warn") && l.includes("does not open")),
        "the tampered segment was refused with a warning",
      );
      let rewritten = false;
      for (let i = 0; i < 100 && !rewritten; i++) {
        rewritten = !Buffer.from((await store.blobs.get(tamperedKey!))!).equals(sealed);
        if (!rewritten) await delay(50);
      }
      assert.ok(rewritten, "the computer that listed wrote the tampered segment again");
    },
  );
});
