/**
 * RowStore (K2V semantics: siblings, causality tokens, tombstones, ranges, polls) emulated on plain
 * objects, for S3 hosts without K2V. It needs only put, get, delete and an ordered, consistent
 * listing: the BlobStore operations.
 *
 * The scheme:
 * - Every write (insert or delete) is a new, never-changed object
 *   `rows/<hex pk>/<hex sk>/<version>`, where the version id is the write time in milliseconds
 *   (12 hex digits) and 64 random bits. Its body is a JSON header line `{"s": [ids], "d": 1}` and
 *   then the value's bytes: `s` lists the versions this write supersedes, `d` marks a tombstone.
 * - A version is alive when no version of the row lists it in `s`. Reading a row lists its prefix
 *   and reads the versions (each object is read once: they never change, so they are cached); the
 *   live values are the siblings, a live tombstone sets `hasTombstone`.
 * - A causality token is the set of version ids a read saw alive. Writing with it supersedes exactly
 *   those. Two writers that saw the same versions both supersede them, and their two new versions
 *   are both alive: siblings, as in K2V. Without a token a write supersedes nothing.
 * - Superseded versions are garbage: the writer deletes the ones its token named once its own
 *   version is stored, and a reader that finds leftovers deletes them. A reader that lists a version
 *   and then finds it gone lists the row again (its successor is then in the listing).
 * - A poll re-reads the row every `pollIntervalMs` until a live version is one the token did not
 *   name. Row listings are forward only on S3, so a reverse range lists its whole span first.
 */
import { Invalid, Unavailable } from "../../errors.ts";
import type {
  BlobStore,
  CausalityToken,
  RangeQuery,
  RangeResult,
  RowEntry,
  RowStore,
  RowWrite,
} from "../types.ts";
import {
  decodeToken,
  decodeVersion,
  encodeVersion,
  fromHex,
  newVersionId,
  parseObjectName,
  partitionPrefix,
  rowPrefix,
  toHex,
  type VersionBody,
} from "./rowObjects.ts";
import { isLiveRow, rowState, type RowState } from "./rowVersions.ts";
import { VersionCache } from "./versionCache.ts";

export interface ObjectRowStoreOptions {
  /** How often a poll looks at its row (ms). */
  pollIntervalMs?: number;
  /** Bytes of version objects kept in memory. */
  cacheBytes?: number;
}

interface RowGroup {
  skHex: string;
  versions: string[];
}

/** Listing page size: S3 returns at most 1,000 names per call. */
const PAGE = 1000;
/** Rows read in parallel while scanning a range. */
const SCAN_WINDOW = 32;
/** How often a read lists a row again when versions vanish under it (concurrent collection). */
const READ_ATTEMPTS = 5;

export class ObjectRowStore implements RowStore {
  private readonly cache: VersionCache;
  private readonly pollIntervalMs: number;
  /** Deletions of superseded versions in progress, by object name. */
  private readonly collecting = new Map<string, Promise<void>>();
  /** Wakes every waiting poll (at close). */
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly objects: BlobStore,
    options: ObjectRowStoreOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 150;
    this.cache = new VersionCache(options.cacheBytes ?? 32 * 1024 * 1024);
  }

  // ---- versions and rows ----

  private async listAll(prefix: string, startAfter?: string): Promise<string[]> {
    const names: string[] = [];
    let after = startAfter;
    for (;;) {
      const page = await this.objects.list(prefix, after, PAGE);
      names.push(...page.keys);
      if (!page.nextStartAfter) return names;
      after = page.nextStartAfter;
    }
  }

  private async listRow(pk: string, sk: string): Promise<string[]> {
    const prefix = rowPrefix(pk, sk);
    return (await this.listAll(prefix))
      .map((name) => name.slice(prefix.length))
      .filter((id) => /^[0-9a-f]{28}$/.test(id));
  }

  /** The bodies of the named versions, or null if one of them is gone (collected meanwhile). */
  private async loadVersions(prefix: string, ids: string[]): Promise<Map<string, VersionBody> | null> {
    const bodies = await Promise.all(
      ids.map(async (id) => {
        const name = prefix + id;
        const cached = this.cache.get(name);
        if (cached) return cached;
        const bytes = await this.objects.get(name);
        if (!bytes) return null;
        const body = decodeVersion(name, bytes);
        this.cache.set(name, body);
        return body;
      }),
    );
    const out = new Map<string, VersionBody>();
    for (let i = 0; i < ids.length; i++) {
      if (!bodies[i]) return null;
      out.set(ids[i]!, bodies[i]!);
    }
    return out;
  }

  /** The row as it stands, from a listing already made (`ids`) or a fresh one; null if never written. */
  private async rowStateOf(pk: string, sk: string, ids?: string[]): Promise<RowState | null> {
    const prefix = rowPrefix(pk, sk);
    let listed = ids;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      listed ??= await this.listRow(pk, sk);
      if (listed.length === 0) return null;
      const versions = await this.loadVersions(prefix, listed);
      if (versions) {
        const state = rowState(sk, versions);
        this.collect(prefix, state.superseded);
        return state;
      }
      listed = undefined;
    }
    throw new Unavailable(`the row versions under ${prefix} kept vanishing while being read; try again`);
  }

  /** Deletes superseded versions in the background; failures leave harmless garbage for later. */
  private collect(prefix: string, ids: Iterable<string>): void {
    for (const id of ids) {
      const name = prefix + id;
      if (this.collecting.has(name)) continue;
      const done = this.objects
        .delete(name)
        // Superseded versions are garbage; any later reader that finds one deletes it again.
        .catch(() => {})
        .finally(() => {
          this.cache.delete(name);
          this.collecting.delete(name);
        });
      this.collecting.set(name, done);
    }
  }

  private async write(
    pk: string,
    sk: string,
    value: Uint8Array | null,
    token?: CausalityToken,
  ): Promise<void> {
    const seen = [...decodeToken(token)];
    const prefix = rowPrefix(pk, sk);
    const id = newVersionId();
    const body: VersionBody = { supersedes: seen, value: value && Uint8Array.from(value) };
    await this.objects.put(prefix + id, encodeVersion(body));
    this.cache.set(prefix + id, body);
    // Only now is it safe: the new version, which names them, is stored.
    this.collect(prefix, seen);
  }

  // ---- RowStore ----

  async read(pk: string, sk: string): Promise<RowEntry | null> {
    return (await this.rowStateOf(pk, sk))?.entry ?? null;
  }

  async insert(pk: string, sk: string, value: Uint8Array, token?: CausalityToken): Promise<void> {
    decodeToken(token);
    await this.write(pk, sk, value, token);
  }

  async delete(pk: string, sk: string, token: CausalityToken): Promise<void> {
    decodeToken(token);
    await this.write(pk, sk, null, token);
  }

  async insertBatch(writes: RowWrite[]): Promise<void> {
    for (const w of writes) decodeToken(w.token);
    await Promise.all(writes.map((w) => this.write(w.pk, w.sk, w.value, w.token)));
  }

  async readBatch(keys: { pk: string; sk: string }[]): Promise<(RowEntry | null)[]> {
    return Promise.all(keys.map((k) => this.read(k.pk, k.sk)));
  }

  /** The rows of a partition in name order from `startAfter` on, each with its version ids. */
  private async *groups(pk: string, prefix: string, startAfter?: string): AsyncGenerator<RowGroup> {
    const partition = partitionPrefix(pk);
    let current: RowGroup | undefined;
    let after = startAfter;
    for (;;) {
      const page = await this.objects.list(partition + toHex(prefix), after, PAGE);
      for (const name of page.keys) {
        const parsed = parseObjectName(partition, name);
        if (!parsed) continue;
        if (current && current.skHex === parsed.skHex) current.versions.push(parsed.version);
        else {
          if (current) yield current;
          current = { skHex: parsed.skHex, versions: [parsed.version] };
        }
      }
      if (!page.nextStartAfter) break;
      after = page.nextStartAfter;
    }
    if (current) yield current;
  }

  async readRange(pk: string, query: RangeQuery = {}): Promise<RangeResult> {
    const { prefix = "", start, end, limit, reverse } = query;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
      throw new Invalid(`range limit must be a non-negative integer, got ${limit}`);
    const partition = partitionPrefix(pk);
    const startHex = start === undefined ? undefined : toHex(start);
    const endHex = end === undefined ? undefined : toHex(end);
    let candidates: AsyncIterable<RowGroup> | Iterable<RowGroup>;
    if (!reverse) {
      // Names of rows before `start` sort before `partition + hex(start)`; `start`'s own come after.
      const rows = this.groups(pk, prefix, startHex === undefined ? undefined : partition + startHex);
      candidates = (async function* () {
        for await (const row of rows) {
          if (endHex !== undefined && row.skHex >= endHex) return;
          yield row;
        }
      })();
    } else {
      // '~' sorts after '/' and every hex digit: the listing resumes after `end`'s own versions.
      const all: RowGroup[] = [];
      for await (const row of this.groups(
        pk,
        prefix,
        endHex === undefined ? undefined : `${partition}${endHex}/~`,
      )) {
        if (startHex !== undefined && row.skHex > startHex) break;
        if (endHex !== undefined && row.skHex <= endHex) continue;
        all.push(row);
      }
      candidates = all.reverse();
    }
    return this.scan(pk, candidates, limit);
  }

  /** Reads candidate rows in windows, keeps the live ones up to `limit`, and finds the next one. */
  private async scan(
    pk: string,
    candidates: AsyncIterable<RowGroup> | Iterable<RowGroup>,
    limit: number | undefined,
  ): Promise<RangeResult> {
    const want = limit ?? Infinity;
    const items: RowEntry[] = [];
    let window: RowGroup[] = [];
    const flush = async (): Promise<string | undefined> => {
      const states = await Promise.all(window.map((g) => this.rowStateOf(pk, fromHex(g.skHex), g.versions)));
      window = [];
      for (const state of states) {
        if (!state || !isLiveRow(state)) continue;
        if (items.length === want) return state.entry.sk;
        items.push(state.entry);
      }
      return undefined;
    };
    for await (const row of candidates) {
      window.push(row as RowGroup); // for await over a union of iterables loses the element type
      if (window.length >= Math.min(SCAN_WINDOW, Math.max(1, want + 1 - items.length))) {
        const next = await flush();
        if (next !== undefined) return { items, nextStart: next };
      }
    }
    const next = await flush();
    return next !== undefined ? { items, nextStart: next } : { items };
  }

  async deleteRange(pk: string, query: Omit<RangeQuery, "limit" | "reverse"> = {}): Promise<number> {
    const { items } = await this.readRange(pk, query);
    await Promise.all(items.map((item) => this.write(pk, item.sk, null, item.token)));
    return items.length;
  }

  async poll(
    pk: string,
    sk: string,
    token: CausalityToken | undefined,
    timeoutMs: number,
  ): Promise<RowEntry | null> {
    const seen = token === undefined ? undefined : decodeToken(token);
    const deadline = Date.now() + timeoutMs;
    // Ends the poll on time even while a look at the row hangs (a silent host): that look is then
    // abandoned, and the poll returns null.
    const timeUp = this.pause(timeoutMs);
    try {
      while (!this.closed && Date.now() < deadline) {
        const looking = this.rowStateOf(pk, sk);
        const state = await Promise.race([looking, timeUp.then(() => undefined)]);
        if (state === undefined || this.closed) {
          looking.catch(() => {}); // abandoned at the deadline; the next poll reads afresh
          break;
        }
        if (state && (!seen || state.live.some((id) => !seen.has(id)))) return state.entry;
        const nap = this.pause(Math.min(this.pollIntervalMs, deadline - Date.now()));
        await Promise.race([nap, timeUp]);
        nap.cancel();
      }
      return null;
    } finally {
      timeUp.cancel();
    }
  }

  /** A wait that close() cuts short, and that can be cancelled so no timer outlives it. */
  private pause(ms: number): Promise<void> & { cancel: () => void } {
    let wake = () => {};
    const done = new Promise<void>((resolve) => {
      wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      this.wakers.add(wake);
    });
    return Object.assign(done, { cancel: () => wake() });
  }

  /** Ends waiting polls with null and lets started collections finish. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.wakers]) wake();
    await Promise.all([...this.collecting.values()]);
  }
}
