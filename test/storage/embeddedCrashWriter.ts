/**
 * Child process for the crash tests in embedded.test.ts: writes rows and blobs to the embedded store
 * in DIR as fast as it can and prints one line per acknowledged write, until it is killed.
 *
 *   node --import tsx test/storage/embeddedCrashWriter.ts DIR FIRST [compact]
 *
 * Lines: "row N", "blob N", "counter N" (the row crash/counter was set to "counter:N" with the token
 * of the value before). Other values are derived from N (crashValue), so every byte can be checked.
 */
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";
import { crashValue } from "./embeddedCrashValues.ts";

const [dir, firstArg, mode] = process.argv.slice(2);
const first = Number(firstArg);
const store = await openEmbeddedStore(dir!, mode === "compact" ? { compactMinDeadBytes: 64 * 1024 } : {});
const say = (line: string) => process.stdout.write(`${line}\n`);

let next = first;
async function rowWriter(): Promise<void> {
  for (;;) {
    const n = next++;
    await store.rows.insert("crash", `row-${String(n).padStart(8, "0")}`, crashValue(n));
    say(`row ${n}`);
  }
}
async function blobWriter(): Promise<void> {
  for (;;) {
    const n = next++;
    await store.blobs.put(`crash/blob-${n}`, crashValue(n));
    say(`blob ${n}`);
  }
}
async function counterWriter(): Promise<void> {
  for (let round = 1; ; round++) {
    const before = await store.rows.read("crash", "counter");
    const n = next++;
    await store.rows.insert("crash", "counter", new TextEncoder().encode(`counter:${n}`), before?.token);
    say(`counter ${n}`);
    if (mode === "compact" && round % 5 === 0) void store.rows.compact(); // runs beside the writes
  }
}
say("ready");
await Promise.all([rowWriter(), rowWriter(), rowWriter(), rowWriter(), blobWriter(), counterWriter()]);
