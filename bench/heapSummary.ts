/**
 * What a V8 heap snapshot holds, by kind and constructor (not a test: run it by hand).
 *
 *   node --import tsx bench/heapSummary.ts FILE.heapsnapshot [ROWS]
 *
 * Sums the self size and count of the snapshot's nodes by "type:name" (objects by constructor,
 * strings, arrays, hidden system objects) and prints the largest ROWS groups (default 25) and the
 * total. bench/memoryWalk.ts writes a snapshot at the end of its walk with HEAP_SNAPSHOT=1.
 */
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) throw new Error("usage: node --import tsx bench/heapSummary.ts FILE.heapsnapshot [ROWS]");
const rows = Number(process.argv[3] ?? 25);

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}
const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const width = fields.length;
const typeAt = fields.indexOf("type");
const nameAt = fields.indexOf("name");
const sizeAt = fields.indexOf("self_size");
const types = snap.snapshot.meta.node_types[0];
const groups = new Map<string, { size: number; count: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + typeAt]!]!;
  // Strings and numbers are grouped by kind alone: their "name" is their content.
  const name = ["string", "concatenated string", "sliced string", "number"].includes(type)
    ? ""
    : snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 60);
  const key = `${type}:${name}`;
  const size = snap.nodes[i + sizeAt]!;
  total += size;
  const g = groups.get(key) ?? { size: 0, count: 0 };
  g.size += size;
  g.count++;
  groups.set(key, g);
}
const mb = (n: number) => (n / 1024 / 1024).toFixed(2).padStart(7);
for (const [key, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, rows))
  console.log(`${mb(g.size)} MB ${String(g.count).padStart(9)}  ${key}`);
console.log(`${mb(total)} MB total self size`);
