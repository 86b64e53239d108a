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

type Reply = { id: number; value?: unknown; error?: unknown };

/**
 * A worker that holds state across several tests of a file (servers, clients): each test runs one
 * named step of the worker module (which calls `workerStepsServe`) and gets its result or error.
 */
export interface WorkerSteps {
  call<T>(step: string, data?: unknown): Promise<T>;
  /** Ends the worker (after the file's last step). */
  stop(): Promise<void>;
}

/** Starts the worker module `path` (a `.ts` file that calls workerStepsServe). */
export function startWorkerSteps(path: string): WorkerSteps {
  const file = runnableFile(path);
  const worker = new Worker(file, { execArgv: childFlagsFor([file]) });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let ended: Error | undefined;
  const failAll = (err: Error) => {
    ended ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on("message", ({ id, value, error }: Reply) => {
    const w = waiting.get(id);
    waiting.delete(id);
    if (error !== undefined) w?.reject(error);
    else w?.resolve(value);
  });
  worker.on("error", failAll);
  worker.on("exit", (code) => failAll(new Error(`the worker ${path} exited with code ${code}`)));
  let next = 0;
  return {
    call<T>(step: string, data?: unknown): Promise<T> {
      if (ended) return Promise.reject(ended);
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        worker.postMessage({ id, step, data });
      });
    },
    async stop() {
      await worker.terminate();
    },
  };
}

/** In a worker module: answers startWorkerSteps's calls with `steps`, one call at a time. */
export function workerStepsServe(steps: Record<string, (data: unknown) => Promise<unknown>>): void {
  if (isMainThread || !parentPort) throw new Error("workerStepsServe runs in a worker (startWorkerSteps)");
  const port = parentPort;
  let queue = Promise.resolve();
  port.on("message", ({ id, step, data }: { id: number; step: string; data: unknown }) => {
    queue = queue.then(async () => {
      try {
        const run = steps[step];
        if (!run) throw new Error(`no step ${step} in this worker`);
        port.postMessage({ id, value: await run(data) } satisfies Reply);
      } catch (error) {
        try {
          port.postMessage({ id, error } satisfies Reply);
        } catch {
          // Not cloneable (a thrown function, say): its text still fails the call.
          port.postMessage({ id, error: new Error(String(error)) } satisfies Reply);
        }
      }
    });
  });
}
