// Loaded (--import) into every test file's process by `run-tests.mjs --durations`: when the file's
// process exits, it writes one line to a file in AGL_TEST_TIMING_DIR: the test file, its wall time
// and the CPU seconds of the process and of the children it waited for (the binary the CLI tests
// start, Garage...), read from /proc (Linux only; elsewhere CPU is left out).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.AGL_TEST_TIMING_DIR;
// A test file (its compiled twin under a run), or the entry of a group of them (run-tests.mjs,
// groupFiles).
const file = process.argv.find((a) => /\.test\.[jt]s$/.test(a) || /\/group-\d+\.mjs$/.test(a));
if (dir && file) {
  process.on("exit", () => {
    let cpu = null;
    let children = null;
    try {
      // Fields 14-17 of /proc/self/stat: utime, stime, cutime, cstime, in clock ticks (100 a second
      // on Linux). The command name (field 2) is in parentheses and may hold spaces.
      const stat = readFileSync("/proc/self/stat", "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = fields.slice(11, 15).map(Number);
      cpu = ticks.reduce((sum, t) => sum + t, 0) / 100;
      children = (ticks[2] + ticks[3]) / 100;
    } catch {
      // Not Linux: the wall time alone is still worth reporting.
    }
    const wall = process.uptime();
    // When the process started (ms since the epoch): the run's table places it in the run.
    const line = JSON.stringify({ file, wall, started: Date.now() - wall * 1000, cpu, children });
    writeFileSync(join(dir, `${process.pid}.json`), line);
  });
}
