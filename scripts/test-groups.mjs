// The entries of run-tests.mjs that hold several test files in one process (groups), and the count
// that makes an entry whose process ended early fail the run.
//
// Node 20's run() fails a file whose process exits with a non-zero status, but not one that exits
// with 0 before its tests are done: a test calling process.exit(0), or forceExit ending a process
// whose tests were registered on a parent that had already finished (bench/notes.md, wt-fast,
// session 15: a group printed five of one file's thirteen tests, then nothing of it or of the next
// file, and the run passed). The tests never run are then never reported, and the summary shows
// fewer tests, none failed. So the runner counts, for every entry, the tests its process
// registered (node:test's `test:enqueue`, sent as each test is created) against those reported
// (`test:pass`, `test:fail`, skips and todos among them), and for a group it also expects the suite
// of every file it holds, which the runner knows without asking the process.
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/**
 * Writes a group's entry at `entry`: a module that imports each member's module inside a
 * `describe` named after the member, one after another, so that a file's top-level hooks stay its
 * own and a failure still names it. `members` are `{ name, path }`.
 */
export function writeGroupEntry(entry, members) {
  const suites = members.map(
    (m) =>
      `describe(${JSON.stringify(m.name)}, async () => {\n  await import(${JSON.stringify(pathToFileURL(m.path).href)});\n});`,
  );
  writeFileSync(entry, `import { describe } from "node:test";\n${suites.join("\n")}\n`);
}

/**
 * Counts the tests registered and the tests reported in `stream` (the stream of node:test's run()),
 * per file that declares them. Listen before the run's first event.
 *
 * An event's `file` is where its test was declared (with source maps, the `.ts` file; for a
 * group's suites, the group's entry), not the process that ran it, so the counts are kept per
 * declaring file: a process that stops early leaves registered tests unreported in one of its
 * files whichever it is. The runner's own test for a whole entry (named after the entry, at the
 * top) reports a pass only when its process reported no test at all.
 */
export function countTests(stream) {
  const counts = new Map();
  const of = (file) => {
    let c = counts.get(file);
    if (!c) counts.set(file, (c = { registered: 0, reported: 0, suites: new Set() }));
    return c;
  };
  const empty = new Set();
  const whole = (d) => d.nesting === 0 && d.name === d.file;
  stream.on("test:enqueue", (d) => {
    if (d.file && !whole(d)) of(d.file).registered++;
  });
  stream.on("test:pass", (d) => {
    if (d.file && whole(d)) empty.add(d.file);
  });
  const reported = (d) => {
    if (!d.file || whole(d)) return;
    const c = of(d.file);
    c.reported++;
    if (d.nesting === 0) c.suites.add(d.name);
  };
  stream.on("test:pass", reported);
  stream.on("test:fail", reported);
  return {
    /**
     * What is missing, one line each. `groups` maps a group's entry to the names of its members'
     * suites (which the runner knows without asking the process); `label(file)` names a file for a
     * person.
     */
    shortfalls(groups, label) {
      const lines = [];
      for (const [file, c] of counts)
        if (c.reported < c.registered)
          lines.push(`${label(file)}: ${c.reported} tests reported of the ${c.registered} registered`);
      for (const [entry, members] of groups) {
        const suites = counts.get(entry)?.suites ?? new Set();
        const missing = members.filter((m) => !suites.has(m));
        if (missing.length > 0)
          lines.push(`${label(entry)}: no result for ${missing.join(", ")} (its process ended before them)`);
      }
      for (const entry of empty) lines.push(`${label(entry)}: its process reported no test`);
      return lines;
    },
  };
}
