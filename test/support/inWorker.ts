/**
 * Runs a CPU-heavy check (a long property run) on a worker thread of the test's process, away from
 * node:test's async hook. The harness enables that hook in the test file's thread, with a `destroy`
 * callback, so every promise created there is registered for tracking at its birth and reported at
 * its death: ~25-30% of the CPU of a file that runs Bayou or a server in-process for seconds
 * (`node --cpu-prof`: `registerDestroyHook`, the harness's `init` and `destroy`). A worker has no
 * hook; it is in the same process, so the file's CPU seconds still count it.
 *
 * The worker module calls `workerTask` with its check; the test awaits `runInWorker` on it, which
 * resolves with what the check returned or rejects with the error it threw (an assertion's message
 * and stack included). Under scripts/run-tests.mjs the worker loads the module's compiled twin.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { childFlagsFor, runnableFile } from "./tsChild.ts";

/** Runs the worker module `path` (a `.ts` file that calls workerTask) with `data`. */
export function runInWorker<T>(path: string, data?: unknown): Promise<T> {
  const file = runnableFile(path);
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(file, { workerData: data, execArgv: childFlagsFor([file]) });
    let result: { value: T } | undefined;
    worker.on("message", (value: T) => (result = { value }));
    worker.on("error", reject);
    worker.on("exit", (code) => {
      if (result) resolve(result.value);
      else reject(new Error(`the worker ${path} exited with code ${code} before its result`));
    });
  });
}

/** In a worker module: runs `check` on the data runInWorker was given and sends back its result. */
export function workerTask<T>(check: (data: unknown) => Promise<T>): void {
  if (isMainThread || !parentPort) throw new Error("workerTask runs in a worker (runInWorker)");
  const port = parentPort;
  // A rejection is left unhandled on purpose: it ends the worker with its error, which the
  // Worker's "error" event hands to runInWorker.
  void check(workerData).then((value) => port.postMessage(value));
}
