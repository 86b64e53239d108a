/**
 * The child of cacheFillCrash.test.ts: a second computer filling its local cache from a slow
 * remote (an embedded store whose body reads take 30 ms), printing "bodies N" as the fill goes,
 * until the parent kills it with SIGKILL.
 *
 *   node --import tsx cacheFillChild.ts REMOTE_DIR CACHE_DIR PASSWORD
 */
import { openAccount } from "../../src/mail/account.ts";
import { CacheFill } from "../../src/mail/cacheFill.ts";
import { CACHEABLE } from "../../src/mail/messageLayout.ts";
import { withLocalCache } from "../../src/storage/cache/index.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/index.ts";
import type { Store } from "../../src/storage/types.ts";

const [remoteDir, cacheDir, password] = process.argv.slice(2) as [string, string, string];
const remote = await openEmbeddedStore(remoteDir);
const get = remote.blobs.get.bind(remote.blobs);
const slow: Store = {
  rows: remote.rows,
  blobs: Object.assign(Object.create(remote.blobs) as typeof remote.blobs, {
    get: async (...args: Parameters<typeof get>) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return get(...args);
    },
  }),
  close: () => remote.close(),
};
const store = await withLocalCache(slow, await openEmbeddedStore(cacheDir), CACHEABLE);
const account = await openAccount(store, password);
// No client here: the start needs no wait for one (500 ms, then as long quiet, by default).
const fill = new CacheFill(account, store.localCache, { concurrency: 2, startQuietMs: 20 });
setInterval(() => process.stdout.write(`bodies ${fill.status().bodiesCached}\n`), 10);
await fill.start();
process.stdout.write("done\n");
