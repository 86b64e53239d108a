/**
 * The first decode of a UidIndex in a fresh process, as a server's first SELECT pays it (not a
 * test: run it by hand and read the numbers). The encoding (4, uidIndexCodec.ts) is written here
 * byte by byte, so that no codec or column code has run before the decode timed.
 *
 *   node --import tsx bench/coldDecode.ts TREE [N]
 *
 * TREE is a source tree (its src/mail/uidIndexCodec.ts is loaded: two trees, before and after a
 * change, can be compared turn about); N messages (10,000) with 32-hex-digit ids, a few flag
 * lists and save dates, seeded. Prints the first decode's wall and CPU time (process.cpuUsage,
 * all threads: V8's compiler threads too) and the median wall time of the next 20 (WARM=N: N;
 * WARM=0 for a CPU profile of the first alone), in ms.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Prng } from "./prng.ts";

const [tree, count] = process.argv.slice(2);
if (!tree) throw new Error("usage: node --import tsx bench/coldDecode.ts TREE [N]");
const n = Number(count ?? 10_000);
const codec = (await import(pathToFileURL(resolve(tree, "src/mail/uidIndexCodec.ts")).href)) as {
  decodeUidIndex(bytes: Uint8Array): { shown: { size: number } };
};

const lists = [[], ["\\Seen"], ["\\Answered", "\\Seen"], ["$Label1", "\\Seen"], ["\\Flagged"]];
const prng = new Prng(11);
const parts: Buffer[] = [];
const u = (value: number, bytes: number) => {
  const b = Buffer.alloc(bytes);
  // 7-byte MODSEQs: a high byte, then 6 (all below 2^48 here).
  b.writeUIntBE(value, bytes - Math.min(bytes, 6), Math.min(bytes, 6));
  parts.push(b);
};
u(4, 1);
u(1_700_000_000, 6); // uidvalidity
u(n + 1, 6); // uidnext
u(5 * n, 7); // highestModseq
u(lists.length, 2);
for (const list of lists) {
  u(list.length, 2);
  for (const f of list) {
    u(Buffer.byteLength(f), 2);
    parts.push(Buffer.from(f));
  }
}
u(n, 4);
for (let i = 0; i < n; i++) {
  const id = Buffer.alloc(16);
  for (let k = 0; k < 16; k += 4) id.writeUInt32BE(prng.nextU32(), k);
  u(32, 2);
  parts.push(Buffer.from(id.toString("hex")));
  u(i + 1, 4);
  u(2 + i * 3, 7);
  u(prng.nextU32() % lists.length, 2);
  u(1_700_000_000_000 + i * 1000, 6);
}
u(0, 4); // unplaced
u(0, 4); // vanished
const bytes = Buffer.concat(parts);

const c0 = process.cpuUsage();
const t0 = performance.now();
const first = codec.decodeUidIndex(bytes);
const firstMs = performance.now() - t0;
const cpu = process.cpuUsage(c0);
if (first.shown.size !== n) throw new Error(`decoded ${first.shown.size} messages, not ${n}`);
const warm: number[] = [];
for (let i = 0; i < Number(process.env.WARM ?? 20); i++) {
  const t = performance.now();
  codec.decodeUidIndex(bytes);
  warm.push(performance.now() - t);
}
warm.sort((a, b) => a - b);
console.log(
  `first ${firstMs.toFixed(1)} ms (CPU ${((cpu.user + cpu.system) / 1000).toFixed(1)})  warm median ${(warm[warm.length >> 1] ?? 0).toFixed(2)} ms`,
);
