/**
 * RowStore over Garage's K2V API (doc/drafts/k2v-spec.md). Siblings, causality tokens and
 * tombstones are Garage's own; this class maps the calls and their answers:
 * read = ReadItem (JSON form), insert = InsertItem, delete = DeleteItem, readBatch and readRange =
 * ReadBatch, insertBatch = InsertBatch, deleteRange = DeleteBatch, poll = PollItem (long poll).
 *
 * Every call is retried on failure: K2V deduplicates equal concurrent values, so repeating an
 * insert or a delete leaves the row as one call would (a repeated DeleteBatch may under-count).
 */
import { Invalid } from "../../errors.ts";
import type { CausalityToken, RangeQuery, RangeResult, RowEntry, RowStore, RowWrite } from "../types.ts";
import { checkToken, EMPTY_TOKEN } from "./causalityToken.ts";
import type { K2vAnswer, K2vClient } from "./k2vClient.ts";
import { entryFromWire, garageRange, type WireItem, type WireValues } from "./k2vWire.ts";
import { isNetworkFailure } from "../net/networkFailure.ts";
import { backoffDelay, sleep } from "../net/retry.ts";
import { timed } from "../net/timed.ts";

const TOKEN_HEADER = "x-garage-causality-token";
/** Items per InsertBatch/ReadBatch call, and body bytes per InsertBatch call. */
const BATCH_ITEMS = 200;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Longest single PollItem request; a longer poll is several in a row. */
const POLL_SLICE_S = 60;
/**
 * How long after the caller's deadline a poll waits for the host's "nothing changed" (304): it
 * comes a round trip after the slice ends, and a request aborted before it destroys its kept-alive
 * connection (the incoming mover's 5 s polls did so every 5 s at 50 ms each way, a new K2V
 * connection each time). Only a poll that ends with null is ever late, by at most this.
 */
const POLL_GRACE_MS = 500;

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const parse = <T>(body: Uint8Array): T => JSON.parse(new TextDecoder().decode(body)) as T;

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
    throw new Invalid(`range limit must be a non-negative integer, got ${limit}`);
}

export class K2vRowStore implements RowStore {
  /** Polls in progress: close() aborts them so they end at once with null. */
  private readonly polls = new Set<AbortController>();
  private closed = false;

  constructor(private readonly k2v: K2vClient) {}

  private entryOf(sk: string, answer: K2vAnswer): RowEntry {
    const token = answer.headers.get(TOKEN_HEADER) ?? "";
    return entryFromWire(sk, token, parse<WireValues>(answer.body));
  }

  async read(pk: string, sk: string): Promise<RowEntry | null> {
    const answer = await this.k2v.call({
      method: "GET",
      pk,
      query: { sort_key: sk },
      headers: { accept: "application/json" },
      absentOk: true,
    });
    return answer.status === 404 ? null : this.entryOf(sk, answer);
  }

  async insert(pk: string, sk: string, value: Uint8Array, token?: CausalityToken): Promise<void> {
    checkToken(token);
    await this.k2v.call({
      method: "PUT",
      pk,
      query: { sort_key: sk },
      headers: {
        "content-type": "application/octet-stream",
        ...(token ? { [TOKEN_HEADER]: token } : {}),
      },
      body: Uint8Array.from(value),
    });
  }

  async delete(pk: string, sk: string, token: CausalityToken): Promise<void> {
    checkToken(token);
    await this.k2v.call({
      method: "DELETE",
      pk,
      query: { sort_key: sk },
      headers: { [TOKEN_HEADER]: token },
    });
  }

  async insertBatch(writes: RowWrite[]): Promise<void> {
    for (const w of writes) checkToken(w.token);
    const chunks: object[][] = [];
    let chunk: object[] = [];
    let bytes = 0;
    for (const w of writes) {
      const v = w.value === null ? null : Buffer.from(w.value).toString("base64");
      const size = (v?.length ?? 0) + w.pk.length + w.sk.length + 100;
      if (chunk.length > 0 && (chunk.length >= BATCH_ITEMS || bytes + size > BATCH_BYTES)) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push({ pk: w.pk, sk: w.sk, ct: w.token ?? null, v });
      bytes += size;
    }
    if (chunk.length > 0) chunks.push(chunk);
    await Promise.all(
      chunks.map((items) =>
        this.k2v.call({
          method: "POST",
          headers: { "content-type": "application/json" },
          body: json(items),
        }),
      ),
    );
  }

  private async search<T>(searches: object[]): Promise<T[]> {
    const answer = await this.k2v.call({
      method: "POST",
      query: { search: "" },
      headers: { "content-type": "application/json" },
      body: json(searches),
    });
    return parse<T[]>(answer.body);
  }

  async readBatch(keys: { pk: string; sk: string }[]): Promise<(RowEntry | null)[]> {
    const results: (RowEntry | null)[] = [];
    const chunks: { pk: string; sk: string }[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_ITEMS) chunks.push(keys.slice(i, i + BATCH_ITEMS));
    const answers = await Promise.all(
      chunks.map((chunk) =>
        this.search<{ items: WireItem[] }>(
          // Tombstones too: a deleted row reads as values [] with its token, as read() gives it.
          chunk.map((k) => ({ partitionKey: k.pk, start: k.sk, singleItem: true, tombstones: true })),
        ),
      ),
    );
    for (const answer of answers)
      for (const result of answer) {
        const item = result.items[0];
        results.push(item ? entryFromWire(item.sk, item.ct, item.v) : null);
      }
    return results;
  }

  async readRange(pk: string, query: RangeQuery = {}): Promise<RangeResult> {
    checkLimit(query.limit);
    const range = garageRange(query);
    if (!range) return { items: [] };
    const [result] = await this.search<{ items: WireItem[]; more: boolean; nextStart: string | null }>([
      {
        partitionKey: pk,
        ...range,
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
        reverse: Boolean(query.reverse),
      },
    ]);
    const items = result!.items.map((item) => entryFromWire(item.sk, item.ct, item.v));
    return result!.more && result!.nextStart !== null ? { items, nextStart: result!.nextStart } : { items };
  }

  async deleteRange(pk: string, query: Omit<RangeQuery, "limit" | "reverse"> = {}): Promise<number> {
    const range = garageRange(query);
    if (!range) return 0;
    const answer = await this.k2v.call({
      method: "POST",
      query: { delete: "" },
      headers: { "content-type": "application/json" },
      body: json([{ partitionKey: pk, ...range }]),
    });
    return parse<{ deletedItems: number }[]>(answer.body)[0]?.deletedItems ?? 0;
  }

  /**
   * PollItem, sliced into requests of at most a minute. A poll without a token polls with the
   * empty context, which every write to the row supersedes. Network failures are retried until
   * the poll's own deadline; what still fails after the retries is thrown.
   */
  async poll(
    pk: string,
    sk: string,
    token: CausalityToken | undefined,
    timeoutMs: number,
  ): Promise<RowEntry | null> {
    checkToken(token);
    if (this.closed) return null;
    const deadline = Date.now() + timeoutMs;
    const stop = new AbortController();
    this.polls.add(stop);
    let failures = 0;
    try {
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0 || stop.signal.aborted) return null;
        // Whole seconds, ending at most 250 ms after the deadline, so that the host's 304 comes
        // within the grace; a slice that cannot (under 750 ms left) is cut off as before.
        const slice = Math.min(POLL_SLICE_S, Math.max(1, Math.floor(left / 1000 + 0.25)));
        try {
          const limit = Math.min(left + POLL_GRACE_MS, slice * 1000 + this.k2v.net.timeoutMs);
          const answer = await timed(limit, (signal) =>
            this.k2v.once(
              {
                method: "GET",
                pk,
                query: { sort_key: sk, causality_token: token ?? EMPTY_TOKEN, timeout: String(slice) },
                headers: { accept: "application/json" },
              },
              AbortSignal.any([signal, stop.signal]),
            ),
          );
          failures = 0;
          if (answer.status === 304) continue;
          return this.entryOf(sk, answer);
        } catch (err) {
          if (stop.signal.aborted || Date.now() >= deadline) return null;
          if (!isNetworkFailure(err) || ++failures >= this.k2v.net.attempts) throw this.k2v.failure(err);
          await sleep(Math.min(backoffDelay(this.k2v.net, failures - 1), deadline - Date.now()));
        }
      }
    } finally {
      this.polls.delete(stop);
    }
  }

  close(): void {
    this.closed = true;
    for (const poll of this.polls) poll.abort();
  }
}
