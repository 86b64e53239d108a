/**
 * From a CPU profile of bench/firstSyncSteps.ts (`--cpu-prof`, MARKS=1), how long the main thread
 * took from Argon2id's end to LOGIN's, LIST's and SELECT's answers: the fixed cost that follows
 * the key derivation, which nothing can overlap with it unless it needs no key (not a test: read
 * the numbers).
 *
 *   node bench/afterArgon2id.mjs PROFILE MARKS
 *
 * Argon2id runs on libuv's pool and leaves the main thread idle: its end is taken as the end of the
 * longest run of idle samples inside LOGIN. Under load the first samples after it may come late;
 * compare trees in alternated runs.
 */
import { readFileSync } from "node:fs";
const [pf, mf] = process.argv.slice(2);
const p = JSON.parse(readFileSync(pf, "utf8"));
const marks = Object.fromEntries(
  readFileSync(mf, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" "))
    .filter((x) => x.length === 3)
    .map(([n, a, b]) => [n, [Number(a), Number(b)]]),
);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
let t = p.startTime;
let end;
let runStart;
let best = 0;
// Argon2id's end: the end of the longest run of idle samples within LOGIN (the main thread waits).
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i];
  if (t < marks.login[0] || t > marks.login[1]) continue;
  const fn = byId.get(p.samples[i]).callFrame.functionName;
  if (fn === "(idle)" || fn === "(program)") {
    runStart ??= t;
    if (t - runStart > best) {
      best = t - runStart;
      end = t;
    }
  } else runStart = undefined;
}
const f = (x) => (x / 1000).toFixed(0);
console.log(
  `argon2id ~${f(end - marks.login[0])} ms into LOGIN; after it: LOGIN ${f(marks.login[1] - end)}, to LIST's end ${f(marks.list[1] - end)}, to SELECT's end ${f(marks.select[1] - end)} ms`,
);
