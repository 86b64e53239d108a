/**
 * The search index's background pass (IndexFiller) meets a message whose body vanished under it:
 * another session expunged it between the listing and the read (issue 18's load run crashed the
 * server here with an unhandled rejection of the read-ahead).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { randomKey } from "../../src/crypto/aead.ts";
import { loadSodium } from "../../src/crypto/sodium.ts";
import { MessageStore } from "../../src/mail/messageStore.ts";
import { IndexFiller } from "../../src/mail/search/indexFiller.ts";
import { SearchIndex } from "../../src/mail/search/searchIndex.ts";
import { memoryStore } from "../../src/storage/memoryStore.ts";
import type { MessageColumns } from "../../src/mail/search/unindexed.ts";
import { sampleMessage } from "./mailFixtures.ts";

/** A mailbox holding `ids` at UIDs 1, 2, ... */
function columns(ids: string[]): MessageColumns {
  return {
    size: ids.length,
    uids: ids.map((_, i) => i + 1),
    indexOfId: (id) => ids.indexOf(id),
    idAt: (i) => ids[i]!,
  };
}

let dir: string;
before(async () => {
  await loadSodium();
  dir = await mkdtemp(join(tmpdir(), "agl-search-fill-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a body deleted under the index's pass is skipped, the rest indexed, and the process lives", async () => {
  const store = memoryStore();
  const messages = new MessageStore(store, randomKey());
  const ids: string[] = [];
  for (let i = 0; i < 12; i++)
    ids.push((await messages.add(sampleMessage(i, { bodyLines: 40 }), 1e12)).mailId);
  // The second message's body is gone (expunged by another session), its meta still read.
  const gone = ids[1]!;
  const meta = (await messages.getMeta([gone])).get(gone)!;
  await store.blobs.delete(meta.blob);

  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => void unhandled.push(err);
  process.on("unhandledRejection", onUnhandled);
  const logs: string[] = [];
  const index = new SearchIndex(
    join(dir, "index"),
    randomKey(),
    (level, m) => void logs.push(`${level} ${m}`),
  );
  const filler = new IndexFiller(
    index,
    { mailboxMessages: () => Promise.resolve([columns(ids)]), messages },
    () => {},
    { firstPassDelayMs: 0 },
  );
  try {
    filler.start(); // the first call only arms the first pass, after 0 ms
    const deadline = Date.now() + 10_000;
    while (index.progress.state !== "ready" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50)); // a rejection left unhandled is reported by now
    assert.equal(index.progress.state, "ready");
    assert.deepEqual(unhandled, []);
    const indexed = await index.indexedIds();
    assert.deepEqual(
      ids.filter((id) => !indexed.has(id)),
      [gone],
      "every message but the vanished one is indexed",
    );
  } finally {
    process.off("unhandledRejection", onUnhandled);
    await filler.close();
  }
});
