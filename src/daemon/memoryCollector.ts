/**
 * A full garbage collection once dead memory piles up (issue 11: peak RSS with 100,000 messages).
 *
 * Every Buffer's bytes (a body, a sealed object, a snapshot, an index file) live outside V8's heap,
 * and V8 frees those of a buffer that outlived two young collections only at a full collection. It
 * starts one for such memory when it has grown by 64 MiB since the last (a constant of V8, no
 * flag), and for its old generation when that has doubled (`--heap-growing-percent=100`, the
 * launcher's): with 100,000 messages, 45 MB live in the heap may grow by 45 MB. A burst of APPENDs
 * or the work after it (index builds, snapshots), whose objects and buffers wait on disk writes long
 * enough to be promoted, left tens of MB dead and resident on top of what the server holds (the
 * peak of the 100,000-message bench session, bench/notes.md). This looks at the heap's used bytes
 * plus the ArrayBuffers' every `everyMs` and collects once their sum has grown by `stepBytes`
 * since the lowest it has seen since its last collection.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface MemoryCollectorOptions {
  /** Growth of the heap's used bytes plus ArrayBuffer bytes that starts a collection. */
  stepBytes: number;
  /** How often to look. */
  everyMs: number;
  /** Called after each collection it started (for the tests). */
  onCollect?: (before: number, after: number) => void;
}

export interface MemoryCollector {
  /** Collections started so far. */
  readonly collections: number;
  stop(): void;
}

/** Node's `gc()`: exposed with --expose-gc, else made available here (a new context gets it). */
function fullCollection(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** What a full collection may free: the heap's used bytes and the ArrayBuffers' bytes. */
function heldBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

export function startMemoryCollector(opts: MemoryCollectorOptions): MemoryCollector {
  const gc = fullCollection();
  let floor = heldBytes();
  let collections = 0;
  const timer = setInterval(() => {
    const held = heldBytes();
    // V8's own collections lower it too: grow from the lowest seen, not from our last. V8 sweeps
    // beside, so the figure right after a collection may still count what it frees: the next
    // looks lower it.
    if (held < floor) floor = held;
    if (held - floor < opts.stepBytes) return;
    gc();
    collections++;
    floor = heldBytes();
    opts.onCollect?.(held, floor);
  }, opts.everyMs);
  timer.unref();
  return {
    get collections() {
      return collections;
    },
    stop: () => clearInterval(timer),
  };
}
