// The temp folder of a test run: a folder of the run's own in memory (tmpfs) when the machine has
// one with room, so that the stores the tests make and remove by the thousand do not wait on the
// disk. Every embedded write ends in an fsync; on a disk each one waits for the journal, and other
// test processes' fsyncs queue behind it: embeddedTombstones.test.ts (3,000 writes) took 33-80 s
// of wall time and 1.7-1.9 CPU s with its folder on the disk, 16-17 s and 1.1 CPU s in /dev/shm
// (bench/notes.md, wt-fast, session 17). What the tests check does not change: a SIGKILLed process
// loses nothing the kernel holds, whichever file system holds it, and power loss is not tested.
import { chmodSync, existsSync, mkdtempSync, readFileSync, statfsSync } from "node:fs";
import { join } from "node:path";

/** Where Linux keeps a tmpfs for everyone. */
const MEMORY = "/dev/shm";

/**
 * Room the run needs at most: the twins (~20 MB), homes, stores and Garage clusters, mostly
 * removed as each test ends. Below this (a container's 64 MB /dev/shm) the run stays on the disk.
 */
const ROOM = 2 * 1024 ** 3;

/**
 * Makes the run's temp folder in memory and returns it, or returns undefined where there is no
 * tmpfs with ROOM free or it is mounted noexec, or when AGL_TEST_DISK_TMP=1 asks for the disk (to
 * measure a test there).
 * The folder is world-writable and sticky, as /tmp is: the tests that start processes as another
 * user (the local-users tests, Dovecot's unprivileged processes) reach their files through it.
 */
export function memoryTempFolder() {
  if (process.env.AGL_TEST_DISK_TMP === "1" || !existsSync(MEMORY)) return undefined;
  try {
    const fs = statfsSync(MEMORY);
    if (fs.bavail * fs.bsize < ROOM || noExec()) return undefined;
    const dir = mkdtempSync(join(MEMORY, "agl-tests-"));
    chmodSync(dir, 0o1777);
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Whether MEMORY is mounted noexec, as hardened hosts mount it: /tmp, where the tests have always
 * run, lets a file be run, and a test's own tools (or a peer's) may be.
 */
function noExec() {
  try {
    const mount = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" "))
      .findLast((fields) => fields[1] === MEMORY);
    return (mount?.[3] ?? "").split(",").includes("noexec");
  } catch {
    return false;
  }
}
