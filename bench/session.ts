/**
 * One Thunderbird-shaped client session, phase by phase, each timed with performance.now(). The
 * commands are the ones Thunderbird sends (see ../shared/TOOLING.md): flags for the whole mailbox,
 * then header fields in chunks of 200 UIDs, then full bodies. Every phase checks what came back
 * against the corpus (counts, byte totals), so a fast wrong answer cannot pass as a result.
 */
import type { Corpus } from "./corpus.ts";
import { readCorpusMessage } from "./corpus.ts";
import { headerHits } from "./headerHits.ts";
import { ImapWire, quoted, type Tagged } from "./imapWire.ts";
import { imapDateTime } from "./mimeEncode.ts";

export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** What crossed the storage proxies (Garage targets): counted per phase. */
export interface StorageCounters {
  requests: number;
  connections: number;
  bytesUp: number;
  bytesDown: number;
}

export interface PhaseResult {
  key: string;
  label: string;
  ms?: number;
  detail?: string;
  error?: string;
  /** Storage requests, new connections and bytes during the phase (targets that count them). */
  storage?: StorageCounters;
  /** The server's RSS (process tree) when the phase ended, and the highest sampled up to then. */
  rss?: { after: number; peak: number };
}

export interface SessionOptions {
  chunk?: number;
  bodies?: number;
  appends?: number;
  stores?: number;
  idleRounds?: number;
  loginRounds?: number;
  /** Messages of the append.seq and append.pipe phases (500) and of the MOVE phase (1,000). */
  writes?: number;
  moves?: number;
  /** Only these phase keys (the connection, LOGIN and SELECT INBOX still happen). */
  only?: ReadonlySet<string>;
  /** The target's storage counters now, when it counts them. */
  storageCounters?: () => StorageCounters;
  /** The server's RSS now and its sampled peak so far (issue 11's 10,000 target is after a first sync). */
  rssNow?: () => { after: number; peak: number };
  log?: (line: string) => void;
}

/** The header fields Thunderbird asks for in its message list fetch. */
const TB_HEADERS =
  "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

class Check extends Error {}
function expect(what: string, got: number, want: number) {
  if (got !== want) throw new Check(`${what}: got ${got}, expected ${want}`);
}

function fetches(t: Tagged): string[] {
  return t.untagged.filter((r) => /^\* \d+ FETCH /.test(r.text)).map((r) => r.text);
}

function searchCount(t: Tagged): number {
  const line = t.untagged.find((r) => r.text.startsWith("* SEARCH"));
  if (!line) throw new Check("no * SEARCH response");
  return line.text.slice("* SEARCH".length).trim().split(/\s+/).filter(Boolean).length;
}

function highestModseq(t: Tagged): number {
  for (const r of t.untagged) {
    const m = /\[HIGHESTMODSEQ (\d+)\]/.exec(r.text);
    if (m) return Number(m[1]);
  }
  throw new Check("SELECT (CONDSTORE) gave no HIGHESTMODSEQ");
}

/** UID ranges "a:b" covering `uids` (sorted) in chunks of `size`, as Thunderbird walks its list. */
function chunks(uids: number[], size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < uids.length; i += size) {
    const part = uids.slice(i, i + size);
    out.push(`${part[0]}:${part[part.length - 1]}`);
  }
  return out;
}

export async function runSession(
  endpoint: Endpoint,
  corpus: Corpus,
  options: SessionOptions = {},
): Promise<PhaseResult[]> {
  const chunk = options.chunk ?? 200;
  const bodyCount = Math.min(options.bodies ?? 200, corpus.count);
  const appendCount = Math.min(options.appends ?? 100, corpus.count);
  const storeCount = Math.min(options.stores ?? 1000, corpus.count);
  const log = options.log ?? (() => {});
  const results: PhaseResult[] = [];
  const login = `LOGIN ${quoted(endpoint.user)} ${quoted(endpoint.password)}`;
  const open = async () => {
    const wire = await ImapWire.open(endpoint.host, endpoint.port);
    await wire.command(login);
    return wire;
  };
  let a: ImapWire | undefined;
  let uids: number[] = [];
  const flagsByUid = new Map<number, string[]>();
  const sizeByUid = new Map<number, number>();
  let modseq: number | undefined;

  const phase = async (
    key: string,
    label: string,
    body: () => Promise<{ ms: number; detail?: string } | number>,
  ) => {
    if (options.only && !options.only.has(key)) return;
    if (!a && key !== "sync.open") {
      a = await open();
      await a.command("SELECT INBOX");
    }
    const before = options.storageCounters?.();
    try {
      const out = await body();
      const r = typeof out === "number" ? { ms: out } : out;
      const after = options.storageCounters?.();
      const storage =
        before && after
          ? {
              requests: after.requests - before.requests,
              connections: after.connections - before.connections,
              bytesUp: after.bytesUp - before.bytesUp,
              bytesDown: after.bytesDown - before.bytesDown,
            }
          : undefined;
      const rss = options.rssNow?.();
      results.push({ key, label, ...r, ...(storage ? { storage } : {}), ...(rss ? { rss } : {}) });
      const counted = storage
        ? `; storage: ${storage.requests} requests, ${storage.connections} new connections`
        : "";
      const rssText = rss ? `; RSS ${mb(rss.after)}, peak ${mb(rss.peak)}` : "";
      log(`  ${label}: ${r.ms.toFixed(1)} ms${r.detail ? ` (${r.detail})` : ""}${counted}${rssText}`);
    } catch (err) {
      const message = (err as Error).message;
      results.push({ key, label, error: message });
      log(`  ${label}: FAILED ${message}`);
      // A broken connection must not fail every later phase too.
      await a?.close().catch(() => undefined);
      a = await open().catch(() => undefined);
      await a?.command("SELECT INBOX").catch(() => undefined);
    }
  };
  const need = () => {
    if (!a) throw new Error("no connection (an earlier phase broke it and reconnecting failed)");
    return a;
  };

  // First sync: what Thunderbird does on a new account, the first connection of the server's life.
  let firstSync = 0;
  await phase("sync.open", "first sync: connect, LOGIN, CAPABILITY, LIST, SELECT", async () => {
    const t0 = performance.now();
    a = await ImapWire.open(endpoint.host, endpoint.port);
    await a.command(login);
    await a.command("CAPABILITY");
    await a.command('LIST "" "*"');
    const select = await a.command("SELECT INBOX");
    const exists = select.untagged.find((r) => / EXISTS$/.test(r.text));
    expect("EXISTS", Number(exists?.text.split(" ")[1]), corpus.count);
    const ms = performance.now() - t0;
    firstSync += ms;
    return ms;
  });
  await phase("sync.flags", "first sync: UID FETCH 1:* (FLAGS)", async () => {
    const t = await need().command("UID FETCH 1:* (FLAGS)");
    for (const line of fetches(t)) {
      const uid = Number(/UID (\d+)/.exec(line)?.[1]);
      flagsByUid.set(uid, /FLAGS \(([^)]*)\)/.exec(line)?.[1]?.split(" ").filter(Boolean) ?? []);
    }
    uids = [...flagsByUid.keys()].sort((x, y) => x - y);
    expect("FETCH responses", uids.length, corpus.count);
    // The load may not keep corpus order in UIDs (parallel APPEND), so flags are checked as totals.
    for (const flag of ["\\Seen", "\\Flagged", "\\Answered"]) {
      const got = [...flagsByUid.values()].filter((f) => f.includes(flag)).length;
      expect(`messages with ${flag}`, got, corpus.messages.filter((m) => m.flags.includes(flag)).length);
    }
    firstSync += t.ms;
    return t.ms;
  });
  await phase("sync.headers", `first sync: headers, UID FETCH in chunks of ${chunk}`, async () => {
    const t0 = performance.now();
    let got = 0;
    let bytes = 0;
    const ranges = chunks(uids, chunk);
    for (const range of ranges) {
      const t = await need().command(
        `UID FETCH ${range} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (${TB_HEADERS})])`,
      );
      for (const r of t.untagged)
        if (/^\* \d+ FETCH /.test(r.text)) {
          got++;
          bytes += r.literalSizes.reduce((x, y) => x + y, 0);
          const m = /UID (\d+).*RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+).*UID (\d+)/.exec(r.text);
          if (m) sizeByUid.set(Number(m[1] ?? m[4]), Number(m[2] ?? m[3]));
        }
    }
    expect("header FETCH responses", got, corpus.count);
    expect(
      "sum of RFC822.SIZE",
      [...sizeByUid.values()].reduce((x, y) => x + y, 0),
      corpus.totalBytes,
    );
    const ms = performance.now() - t0;
    firstSync += ms;
    return { ms, detail: `${ranges.length} commands, ${mb(bytes)} of headers` };
  });
  await phase(
    "sync.bodies",
    `first sync: ${bodyCount} newest bodies, UID FETCH (UID RFC822.SIZE BODY.PEEK[])`,
    async () => {
      const newest = uids.slice(-bodyCount);
      const t = await need().command(
        `UID FETCH ${newest[0]}:${newest[newest.length - 1]} (UID RFC822.SIZE BODY.PEEK[])`,
      );
      const bytes = t.untagged.reduce((x, r) => x + r.literalSizes.reduce((p, q) => p + q, 0), 0);
      const want = newest.reduce((x, uid) => x + (sizeByUid.get(uid) ?? NaN), 0);
      expect("body bytes", bytes, want);
      firstSync += t.ms;
      return { ms: t.ms, detail: `${mb(bytes)}, ${(bytes / 1e6 / (t.ms / 1000)).toFixed(0)} MB/s` };
    },
  );
  if (results.every((r) => r.key.startsWith("sync.") && r.ms !== undefined))
    results.push({ key: "sync.total", label: "first sync: total of the four steps above", ms: firstSync });

  // Resyncs with nothing changed, on the same connection: Thunderbird reselects and asks again.
  await phase("resync.plain", "resync, nothing changed: SELECT + UID FETCH 1:* (FLAGS)", async () => {
    const t0 = performance.now();
    await need().command("SELECT INBOX");
    const t = await need().command("UID FETCH 1:* (FLAGS)");
    expect("FETCH responses", fetches(t).length, corpus.count);
    return performance.now() - t0;
  });
  await phase(
    "resync.condstore",
    "resync, nothing changed: SELECT (CONDSTORE) + UID FETCH 1:* (FLAGS) (CHANGEDSINCE m)",
    async () => {
      const t0 = performance.now();
      const select = await need().command("SELECT INBOX (CONDSTORE)");
      // A client would bring m from its last session; with nothing changed it equals this one.
      modseq = highestModseq(select);
      const t = await need().command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq})`);
      expect("changed messages", fetches(t).length, 0);
      return performance.now() - t0;
    },
  );

  const unseenBefore = uids.slice(0, storeCount).filter((u) => !flagsByUid.get(u)?.includes("\\Seen")).length;
  await phase("store", `UID STORE 1:${storeCount} +FLAGS (\\Seen)`, async () => {
    const t = await need().command(`UID STORE ${uids[0]}:${uids[storeCount - 1]} +FLAGS (\\Seen)`);
    return {
      ms: t.ms,
      detail: `${unseenBefore} of ${storeCount} were unseen, ${fetches(t).length} FETCH replies`,
    };
  });
  await phase(
    "resync.changed",
    `resync after that STORE: SELECT (CONDSTORE) + UID FETCH 1:* (FLAGS) (CHANGEDSINCE m)`,
    async () => {
      if (modseq === undefined) throw new Error("no HIGHESTMODSEQ from the CONDSTORE resync");
      const t0 = performance.now();
      await need().command("SELECT INBOX (CONDSTORE)");
      const t = await need().command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq})`);
      expect("changed messages", fetches(t).length, unseenBefore);
      return { ms: performance.now() - t0, detail: `${unseenBefore} changed` };
    },
  );

  await phase("search.subject", `UID SEARCH SUBJECT ${corpus.subjectMarker}`, async () => {
    const t = await need().command(`UID SEARCH SUBJECT ${corpus.subjectMarker}`);
    expect("hits", searchCount(t), corpus.subjectHits);
    return { ms: t.ms, detail: `${corpus.subjectHits} hits` };
  });
  for (const { search, hits } of await headerHits(corpus)) {
    await phase(search.key, `UID SEARCH ${search.criterion}`, async () => {
      const t = await need().command(`UID SEARCH ${search.criterion}`);
      expect("hits", searchCount(t), hits);
      return { ms: t.ms, detail: `${hits} hits` };
    });
  }
  await phase("search.body", `UID SEARCH BODY ${corpus.bodyMarker}`, async () => {
    const t = await need().command(`UID SEARCH BODY ${corpus.bodyMarker}`, { timeoutMs: 600_000 });
    expect("hits", searchCount(t), corpus.bodyHits);
    return { ms: t.ms, detail: `${corpus.bodyHits} hits` };
  });

  await phase("append", `APPEND ${appendCount} messages to a new mailbox, one connection`, async () => {
    const messages = await Promise.all(
      Array.from({ length: appendCount }, (_, i) => readCorpusMessage(corpus, i)),
    );
    await need().command('CREATE "Bench-Append"');
    const bytes = messages.reduce((x, m) => x + m.length, 0);
    const t0 = performance.now();
    for (let i = 0; i < appendCount; i++) {
      const m = corpus.messages[i]!;
      await need().command(`APPEND "Bench-Append" (${m.flags.join(" ")}) "${imapDateTime(m.date)}"`, {
        literal: messages[i]!,
      });
    }
    const ms = performance.now() - t0;
    return { ms, detail: `${mb(bytes)}, ${(appendCount / (ms / 1000)).toFixed(0)} msg/s` };
  });

  await phase(
    "idle",
    `IDLE wake-up: APPEND on another connection until EXISTS, median of ${options.idleRounds ?? 5}`,
    async () => {
      const b = await open();
      try {
        const select = await b.command("SELECT INBOX");
        let exists = Number(select.untagged.find((r) => / EXISTS$/.test(r.text))?.text.split(" ")[1]);
        const idle = await b.idle();
        const small = await readCorpusMessage(
          corpus,
          corpus.messages.findIndex((m) => m.size < 8_000),
        );
        const latencies: number[] = [];
        for (let round = 0; round < (options.idleRounds ?? 5); round++) {
          const woke = new Promise<number>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Check("no EXISTS within 30 s")), 30_000);
            b.onUntagged = (r) => {
              const m = /^\* (\d+) EXISTS$/.exec(r.text);
              if (m && Number(m[1]) > exists) {
                exists = Number(m[1]);
                clearTimeout(timer);
                resolve(performance.now());
              }
            };
          });
          const t0 = performance.now();
          await need().command("APPEND INBOX ()", { literal: small });
          latencies.push((await woke) - t0);
          await new Promise((r) => setTimeout(r, 100));
        }
        b.onUntagged = undefined;
        await idle.done();
        return { ms: median(latencies), detail: `max ${Math.max(...latencies).toFixed(0)} ms` };
      } finally {
        await b.close();
      }
    },
  );

  const writeCount = Math.min(options.writes ?? 500, corpus.count);
  const writeSet = () =>
    Promise.all(Array.from({ length: writeCount }, (_, i) => readCorpusMessage(corpus, i)));
  const statusMessages = async (mailbox: string) => {
    const t = await need().command(`STATUS "${mailbox}" (MESSAGES)`);
    const m = /MESSAGES (\d+)/.exec(t.untagged.map((r) => r.text).join(" "));
    return Number(m?.[1] ?? -1);
  };

  await phase(
    "append.seq",
    `APPEND ${writeCount} messages one at a time, as Thunderbird files a sent message`,
    async () => {
      const messages = await writeSet();
      await need().command('CREATE "Bench-Seq"');
      const t0 = performance.now();
      for (let i = 0; i < writeCount; i++) {
        await need().command(`APPEND "Bench-Seq" (\\Seen) "${imapDateTime(corpus.messages[i]!.date)}"`, {
          literal: messages[i]!,
        });
      }
      const ms = performance.now() - t0;
      expect("messages in Bench-Seq", await statusMessages("Bench-Seq"), writeCount);
      return { ms, detail: `${(ms / writeCount).toFixed(1)} ms per message` };
    },
  );

  await phase(
    "append.pipe",
    `APPEND ${writeCount} messages pipelined (LITERAL+), one connection`,
    async () => {
      const messages = await writeSet();
      await need().command('CREATE "Bench-Pipe"');
      const t0 = performance.now();
      await need().pipeline(
        messages.map((literal, i) => ({
          text: `APPEND "Bench-Pipe" (\\Seen) "${imapDateTime(corpus.messages[i]!.date)}"`,
          literal,
        })),
      );
      const ms = performance.now() - t0;
      expect("messages in Bench-Pipe", await statusMessages("Bench-Pipe"), writeCount);
      return { ms, detail: `${(writeCount / (ms / 1000)).toFixed(0)} msg/s` };
    },
  );

  const moveCount = Math.min(options.moves ?? 1000, corpus.count);
  await phase("move", `UID MOVE of ${moveCount} messages from INBOX to another mailbox`, async () => {
    await need().command('CREATE "Bench-Move"');
    await need().command("SELECT INBOX");
    const all = await need().command("UID SEARCH ALL");
    const line = all.untagged.find((r) => r.text.startsWith("* SEARCH"))?.text ?? "";
    const moving = line.slice("* SEARCH".length).trim().split(/\s+/).filter(Boolean).slice(0, moveCount);
    expect("INBOX messages to move", moving.length, moveCount);
    const t = await need().command(`UID MOVE ${moving.join(",")} "Bench-Move"`);
    expect("messages in Bench-Move", await statusMessages("Bench-Move"), moveCount);
    return t.ms;
  });

  await phase(
    "login",
    `login: connect + greeting + LOGIN, median of ${options.loginRounds ?? 5}`,
    async () => {
      const times: number[] = [];
      for (let i = 0; i < (options.loginRounds ?? 5); i++) {
        const t0 = performance.now();
        const wire = await open();
        times.push(performance.now() - t0);
        await wire.close();
      }
      return { ms: median(times), detail: `max ${Math.max(...times).toFixed(0)} ms` };
    },
  );

  await a?.close();
  return results;
}
