/**
 * A V8 CPU profile cut into the steps of bench/firstSyncSteps.ts (not a test: read the numbers).
 *
 *   node bench/profileSteps.mjs PROFILE MARKS [TOP]
 *
 * MARKS holds `step start end` lines (µs on the monotonic clock, as MARKS=1 prints them). For each
 * step: how much of its window the main thread was busy, then the TOP (25) functions by self time
 * and by inclusive time; STEPS=a,b keeps those steps, NOINCL=1 leaves out the inclusive list.
 * Under load the process is descheduled between samples and the gap is charged to whatever was on
 * the stack: read self times as shares, and compare profiles taken at the same load.
 */
import { readFileSync } from "node:fs";
const p = JSON.parse(readFileSync(process.argv[2], "utf8"));
const marks = readFileSync(process.argv[3], "utf8")
  .trim()
  .split("\n")
  .map((l) => l.split(" "))
  .filter((a) => a.length === 3)
  .map(([n, a, b]) => [n, Number(a), Number(b)]);
const TOP = Number(process.argv[4] ?? 25);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) =>
  `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace(/.*\/(src|dist|node_modules)\//, "$1/")}:${n.callFrame.lineNumber + 1}`;
for (const [step, from, to] of marks) {
  if (process.env.STEPS && !process.env.STEPS.split(",").includes(step)) continue;
  const self = new Map(),
    incl = new Map();
  let t = p.startTime,
    total = 0,
    busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < from || t > to) continue;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    total += dt;
    const n = byId.get(p.samples[i]);
    if (n.callFrame.functionName === "(idle)") continue;
    busy += dt;
    self.set(name(n), (self.get(name(n)) ?? 0) + dt);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const k = name(byId.get(id));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  }
  const top = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([n, v]) => `${v.toFixed(1).padStart(8)} ${n}`)
      .join("\n");
  console.log(
    `===== ${step}: window ${((to - from) / 1000).toFixed(0)} ms, sampled ${total.toFixed(0)}, busy ${busy.toFixed(0)}`,
  );
  console.log("--- self\n" + top(self));
  if (!process.env.NOINCL) console.log("--- inclusive\n" + top(incl));
}
