/**
 * Child process for embeddedLock.test.ts: tries to open the store in DIR, prints "open" or
 * "locked", holds it for HOLD_MS, then closes it.
 *
 *   node --import tsx test/storage/embeddedLockHolder.ts DIR HOLD_MS
 */
import { Locked } from "../../src/errors.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";

const [dir, holdMs] = process.argv.slice(2);
try {
  const store = await openEmbeddedStore(dir!);
  process.stdout.write("open\n");
  await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
  await store.close();
} catch (err) {
  process.stdout.write(err instanceof Locked ? "locked\n" : `error ${String(err)}\n`);
}
