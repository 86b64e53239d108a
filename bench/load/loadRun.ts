/**
 * One load run against one server: N clients for a duration on one or several mailboxes, a
 * watchdog, a window of throughput (and the server's RSS, when a sampler is given) every
 * `windowMs`.
 */
import { ImapWire } from "../imapWire.ts";
import { Prng } from "../prng.ts";
import { ARCHIVE, LoadClient, type Endpoint } from "./client.ts";
import { LoadStats, type Wait, type Window } from "./stats.ts";
import { Truth } from "./truth.ts";
import { Watchdog } from "./watchdog.ts";

export interface LoadOptions {
  clients: number;
  durationMs: number;
  seed: number;
  watchdogMs: number;
  /**
   * How many mailboxes the clients share (default 1, INBOX): client i works on mailbox i mod n,
   * INBOX then LoadBox2, LoadBox3...
   */
  mailboxes?: number;
  windowMs?: number;
  ownTarget?: number;
  /**
   * The soak: at `crashAtMs`, `crash` kills the server with -9 and starts it again (updating the
   * endpoint the clients log in to). Clients log in again; everything acknowledged must be there.
   */
  crashAtMs?: number;
  crash?: () => Promise<void>;
  /** The server's RSS in bytes, sampled at the end of every window. */
  rss?: () => number;
  log?: (line: string) => void;
}

export interface LoadResult {
  clients: number;
  mailboxes: number;
  seconds: number;
  commands: number;
  logins: number;
  windows: Window[];
  latency: ReturnType<LoadStats["percentiles"]>;
  maxWaitMs: number;
  waits: Wait[];
  checkerErrors: number;
  errorKinds: Record<string, number>;
  errorSamples: string[];
  unannouncedKeywords: number;
  unannouncedSamples: string[];
  /** Clients whose loop ended on an error (a timeout, a dropped connection). */
  clientFailures: string[];
  /** The soak's kill -9: when (s into the run) and how long until the new process listened. */
  crash?: { atS: number; restartMs: number } | { atS: number; failed: string };
}

export async function runLoad(endpoint: Endpoint, opts: LoadOptions): Promise<LoadResult> {
  const log = opts.log ?? (() => {});
  const mailboxes = loadMailboxes(opts.mailboxes ?? 1);
  await warmUp(endpoint, mailboxes);
  const stats = new LoadStats();
  const truth = new Truth();
  const clients = Array.from(
    { length: opts.clients },
    (_, i) =>
      new LoadClient(i, endpoint, truth, new Prng(opts.seed * 1000 + i), stats, {
        mailbox: mailboxes[i % mailboxes.length]!,
        ownTarget: opts.ownTarget ?? 20,
        commandTimeoutMs: Math.max(120_000, opts.watchdogMs * 4),
      }),
  );
  const watchdog = new Watchdog(clients, opts.watchdogMs, stats, log, () => truth.restarting);
  let crash: LoadResult["crash"];
  let crashing: Promise<void> | undefined;
  const crashTimer =
    opts.crash && opts.crashAtMs !== undefined
      ? setTimeout(() => {
          const atS = (performance.now() - stats.started) / 1000;
          log(`  ${atS.toFixed(0)} s: kill -9 of the server, then start again`);
          truth.restarting = true;
          const t0 = performance.now();
          crashing = opts.crash!().then(
            () => {
              crash = { atS: Math.round(atS), restartMs: Math.round(performance.now() - t0) };
              log(`  the server listens again after ${crash.restartMs} ms`);
            },
            (err: Error) => {
              crash = { atS: Math.round(atS), failed: err.message };
              log(`  the server did not start again: ${err.message}`);
              clients.forEach((c) => c.stop());
            },
          );
          void crashing.finally(() => {
            truth.restarts++;
            truth.restarting = false;
          });
        }, opts.crashAtMs)
      : undefined;
  const windowMs = opts.windowMs ?? 10_000;
  const ticker = setInterval(() => {
    const w = stats.closeWindow(opts.rss?.());
    const rss = w.rssBytes !== undefined ? `, RSS ${(w.rssBytes / 2 ** 20).toFixed(0)} MB` : "";
    log(`  ${w.end} s: ${(w.commands / (windowMs / 1000)).toFixed(0)} commands/s, ${w.logins} logins${rss}`);
  }, windowMs);
  const failures: string[] = [];
  const stopAt = setTimeout(() => clients.forEach((c) => c.stop()), opts.durationMs);
  await Promise.all(
    clients.map((c) =>
      c.run().catch((err: Error) => {
        failures.push(`client ${c.id}: ${err.message}`);
        log(`  client ${c.id} stopped: ${err.message}`);
      }),
    ),
  );
  clearTimeout(stopAt);
  clearTimeout(crashTimer);
  await crashing;
  // One more session after the run: every message acknowledged and not expunged is there.
  const verifier = new LoadClient(-1, endpoint, truth, new Prng(opts.seed), stats, {
    mailbox: mailboxes[0]!,
    ownTarget: 0,
    commandTimeoutMs: 120_000,
  });
  await verifier.verify(mailboxes).catch((err: Error) => failures.push(`final check: ${err.message}`));
  clearInterval(ticker);
  watchdog.stop();
  // Waits still followed by the watchdog end with the clients; give its 50 ms follow-up a turn.
  await new Promise((r) => setTimeout(r, 100));
  const seconds = (performance.now() - stats.started) / 1000;
  let commands = 0;
  let logins = 0;
  for (const [name, list] of stats.latencies) {
    commands += list.length;
    if (name === "LOGIN") logins += list.length;
  }
  return {
    clients: opts.clients,
    mailboxes: mailboxes.length,
    seconds,
    commands,
    logins,
    windows: stats.windows,
    latency: stats.percentiles(),
    maxWaitMs: Math.round(stats.maxWaitMs),
    waits: stats.waits.map((w) => ({ ...w, ms: Math.round(w.ms) })),
    checkerErrors: truth.errors.length,
    errorKinds: truth.errorCounts(),
    errorSamples: truth.errors.slice(0, 10).map((e) => `client ${e.client} ${e.kind}: ${e.detail}`),
    unannouncedKeywords: truth.unannouncedKeywords,
    unannouncedSamples: truth.unannouncedSamples,
    clientFailures: failures,
    ...(crash ? { crash } : {}),
  };
}

/**
 * One untimed LOGIN and SELECT before the clock starts, on every target alike: the first unlocks
 * the account and opens the mailbox (and, through tsx, compiles what it loads), which is start-up,
 * not load.
 */
async function warmUp(endpoint: Endpoint, mailboxes: readonly string[]): Promise<void> {
  const wire = await ImapWire.open(endpoint.host, endpoint.port);
  try {
    await wire.command(`LOGIN ${endpoint.user} "${endpoint.password}"`, { timeoutMs: 120_000 });
    await wire.command("SELECT INBOX", { timeoutMs: 120_000 });
    // COPY and MOVE go to the archive; NO when a mailbox is there already.
    for (const name of [...mailboxes.filter((m) => m !== "INBOX"), ARCHIVE])
      await wire.command(`CREATE ${name}`, { timeoutMs: 120_000, allowNo: true });
  } finally {
    await wire.close();
  }
}

/** The mailboxes of a run: INBOX, then LoadBox2, LoadBox3... */
export function loadMailboxes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? "INBOX" : `LoadBox${i + 1}`));
}
