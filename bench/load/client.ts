/**
 * One load client: logs in, selects its mailbox (shared with the other clients given the same one)
 * and runs random commands on it until told to stop, checking every answer against what it was told before (its view: the UID of each
 * sequence number, the MODSEQs and announced flags) and against what every client was told
 * (truth.ts). Only a message's owner changes its flags or expunges it.
 */
import { ImapWire, type Response, type Tagged } from "../imapWire.ts";
import type { Prng } from "../prng.ts";
import { parseFetch, type FetchItems } from "./fetchItems.ts";
import { composeMessage } from "./message.ts";
import type { LoadStats } from "./stats.ts";
import { flagKey, type KnownMessage, type MailboxTruth, type Truth } from "./truth.ts";

export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface ClientOptions {
  /** The mailbox this client selects and appends to. */
  mailbox: string;
  /** Messages each client keeps in the mailbox, about (it appends below, expunges above). */
  ownTarget: number;
  commandTimeoutMs: number;
}

/** What a client is waiting for right now (the watchdog reads it). */
export interface InFlight {
  name: string;
  text: string;
  since: number;
}

/** The second mailbox COPY and MOVE fill (loadRun.ts creates it). */
export const ARCHIVE = "LoadArchive";

const FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "$LoadA", "$LoadB"];

export class LoadClient {
  inFlight: InFlight | undefined;
  private wire: ImapWire | undefined;
  /** UID of each sequence number as this session knows it; undefined until a FETCH names it. */
  private view: (number | undefined)[] = [];
  private announced = new Set<string>();
  private modseqs = new Map<number, number>();
  private highestModseq = 0;
  /** UIDs this client appended and has not expunged. */
  private readonly own = new Set<number>();
  private appendedCount = 0;
  private stopping = false;
  /** Sequence numbers FETCH 1:* left unanswered (see fullCheck). */
  unanswered = 0;
  /** The message whose flags a command in flight changes (a crash leaves them uncertain). */
  private changing: KnownMessage | undefined;
  private mailbox: string;
  /** What every client was told about this client's mailbox. */
  private messages: MailboxTruth;

  constructor(
    readonly id: number,
    private readonly endpoint: Endpoint,
    private readonly truth: Truth,
    private readonly rng: Prng,
    private readonly stats: LoadStats,
    private readonly options: ClientOptions,
  ) {
    this.mailbox = options.mailbox;
    this.messages = truth.mailbox(options.mailbox);
  }

  stop(): void {
    this.stopping = true;
  }

  async run(): Promise<void> {
    try {
      while (!this.stopping) {
        try {
          await this.login();
          while (!this.stopping && !this.rng.chance(0.02)) await this.randomCommand();
          await this.logout();
        } catch (err) {
          // The soak kills the server: what was in flight may or may not be stored; log in again.
          if (!this.truth.restarting) throw err;
          if (this.changing) this.changing.flagsUncertain = true;
          this.changing = undefined;
          this.wire?.close().catch(() => undefined);
          this.wire = undefined;
          while (this.truth.restarting && !this.stopping) await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      this.wire?.close().catch(() => undefined);
    }
  }

  /**
   * After the run: one more session per mailbox checks that everything acknowledged is there
   * (fullCheck).
   */
  async verify(mailboxes: readonly string[]): Promise<void> {
    for (const mailbox of mailboxes) {
      this.mailbox = mailbox;
      this.messages = this.truth.mailbox(mailbox);
      await this.login();
      await this.logout();
    }
  }

  private async login(): Promise<void> {
    this.wire = await ImapWire.open(this.endpoint.host, this.endpoint.port);
    this.view = [];
    this.modseqs.clear();
    this.highestModseq = 0;
    await this.command("LOGIN", `LOGIN ${this.endpoint.user} "${this.endpoint.password}"`);
    await this.command("SELECT", `SELECT ${this.mailbox} (CONDSTORE)`);
    await this.fullCheck();
  }

  private async logout(): Promise<void> {
    const wire = this.wire;
    this.wire = undefined;
    if (wire) await this.timed("LOGOUT", "LOGOUT", () => wire.close());
  }

  private async randomCommand(): Promise<void> {
    const crowded = this.own.size >= this.options.ownTarget;
    const roll = this.rng.next();
    if (roll < (crowded ? 0.05 : 0.22)) return this.append();
    if (roll < 0.35) return this.expunge(crowded);
    if (roll < 0.5) return this.store();
    if (roll < 0.62) return this.fetchFlags();
    if (roll < 0.76) return this.fetchBody();
    if (roll < 0.78) return this.copy();
    if (roll < 0.8) return this.move();
    if (roll < 0.84) return this.idle();
    if (roll < 0.9) return this.search();
    if (roll < 0.97) await this.command("NOOP", "NOOP");
    else await this.fullCheck();
  }

  /** Runs one command, timing it and feeding every untagged answer to the checks. */
  private async command(
    name: string,
    text: string,
    opts: { literal?: Buffer; keepLiterals?: boolean; allowNo?: boolean } = {},
  ): Promise<Tagged> {
    const wire = this.wire!;
    const tagged = await this.timed(name, text, () =>
      wire.command(text, { ...opts, timeoutMs: this.options.commandTimeoutMs }),
    );
    for (const r of tagged.untagged) this.untagged(r);
    return tagged;
  }

  private async timed<T>(name: string, text: string, run: () => Promise<T>): Promise<T> {
    const since = performance.now();
    this.inFlight = { name, text: text.slice(0, 100), since };
    try {
      return await run();
    } finally {
      this.inFlight = undefined;
      this.stats.record(name, performance.now() - since);
    }
  }

  private fail(kind: Parameters<Truth["fail"]>[0], detail: string): void {
    this.truth.fail(kind, this.id, detail);
  }

  private untagged(r: Response): void {
    const text = r.text;
    let m: RegExpExecArray | null;
    if ((m = /^\* FLAGS \(([^)]*)\)/i.exec(text))) {
      this.announced = new Set(
        m[1]!
          .split(" ")
          .filter(Boolean)
          .map((f) => f.toLowerCase()),
      );
    } else if ((m = /^\* OK \[HIGHESTMODSEQ (\d+)\]/i.exec(text))) {
      const h = Number(m[1]);
      if (h < this.highestModseq) this.fail("modseq-back", `HIGHESTMODSEQ ${h} after ${this.highestModseq}`);
      this.highestModseq = Math.max(h, this.highestModseq);
    } else if ((m = /^\* (\d+) EXISTS/i.exec(text))) {
      const n = Number(m[1]);
      if (n < this.view.length) this.fail("exists-shrank", `${n} EXISTS after ${this.view.length}`);
      while (this.view.length < n) this.view.push(undefined);
    } else if ((m = /^\* (\d+) EXPUNGE/i.exec(text))) {
      const n = Number(m[1]);
      if (n < 1 || n > this.view.length) {
        this.fail("seq-map", `${n} EXPUNGE with ${this.view.length} messages`);
        return;
      }
      const [uid] = this.view.splice(n - 1, 1);
      const known = uid === undefined ? undefined : this.messages.get(uid);
      // After a crash, an APPEND cut off before its answer may be withdrawn (an EXPUNGE of a UID
      // nobody was given).
      if (uid !== undefined && (known ?? this.truth.restarts === 0) && known?.expungeSentAt === undefined)
        this.fail("expunge-unasked", `UID ${uid} expunged, its owner never asked`);
    } else if (/^\* \d+ FETCH /i.test(text)) {
      const items = parseFetch(r);
      if (items) this.fetched(items);
    }
  }

  private fetched(items: FetchItems): void {
    const { seq, uid } = items;
    if (seq < 1 || seq > this.view.length) {
      this.fail("seq-map", `FETCH for ${seq} with ${this.view.length} messages`);
      return;
    }
    if (uid === undefined) return;
    const had = this.view[seq - 1];
    if (had !== undefined && had !== uid) {
      this.fail("seq-map", `${seq} was UID ${had}, now FETCH says UID ${uid}`);
      return;
    }
    this.view[seq - 1] = uid;
    for (let i = seq - 2; i >= 0; i--) {
      const before = this.view[i];
      if (before === undefined) continue;
      if (before >= uid) this.fail("uid-order", `UID ${uid} at ${seq} after UID ${before} at ${i + 1}`);
      break;
    }
    for (let i = seq; i < this.view.length; i++) {
      const after = this.view[i];
      if (after === undefined) continue;
      if (after <= uid) this.fail("uid-order", `UID ${uid} at ${seq} before UID ${after} at ${i + 1}`);
      break;
    }
    if (items.modseq !== undefined) {
      const before = this.modseqs.get(uid) ?? 0;
      if (items.modseq < before)
        this.fail("modseq-back", `UID ${uid}: MODSEQ ${items.modseq} after ${before}`);
      this.modseqs.set(uid, Math.max(before, items.modseq));
    }
    const known = this.messages.get(uid);
    if (items.flags) {
      for (const f of items.flags)
        if (!f.startsWith("\\") && !this.announced.has(f.toLowerCase())) this.truth.unannounced(this.id, f);
      if (known) {
        const key = flagKey(items.flags);
        const exact = known.owner === this.id && !known.flagsUncertain;
        if (exact ? key !== flagKey(known.flags) : !known.history.has(key))
          this.fail(
            "flags",
            `UID ${uid}: FLAGS (${key}), ${exact ? `set to (${flagKey(known.flags)})` : "never set so"}`,
          );
      }
    }
    // RFC 2180 §4.1: a message being expunged may come back empty (Dovecot does).
    if (!known || known.expungeSentAt !== undefined) return;
    for (const { name, bytes } of items.sections)
      this.checkSection(uid, name, bytes, known.body, known.messageId);
  }

  private checkSection(uid: number, name: string, got: Buffer, body: Buffer, messageId: string): void {
    let want: Buffer | undefined;
    const partial = /^BODY\[\]<(\d+)>$/.exec(name);
    if (name === "BODY[]") want = body;
    else if (name === "BODY[TEXT]") want = body.subarray(body.indexOf("\r\n\r\n") + 4);
    else if (partial) want = body.subarray(Number(partial[1]), Number(partial[1]) + got.length);
    else if (name.startsWith("BODY[HEADER.FIELDS")) {
      if (!got.toString("latin1").includes(messageId))
        this.fail("header", `UID ${uid}: ${name} lacks ${messageId}`);
      return;
    }
    if (want && !want.equals(got))
      this.fail("body", `UID ${uid}: ${name} differs (${got.length} bytes, expected ${want.length})`);
  }

  /** A UID of this session's view that the truth knows and nobody is expunging. */
  private pickLive(ownOnly: boolean): number | undefined {
    const candidates = ownOnly
      ? [...this.own].filter((u) => this.view.includes(u))
      : this.view.filter((u): u is number => {
          const m = u === undefined ? undefined : this.messages.get(u);
          return m !== undefined && m.expungeSentAt === undefined;
        });
    return candidates.length === 0 ? undefined : this.rng.pick(candidates);
  }

  private async append(): Promise<void> {
    const n = ++this.appendedCount;
    const { raw, messageId } = composeMessage(this.rng, this.id, n);
    const flags = FLAGS.filter(() => this.rng.chance(0.2));
    const tagged = await this.command("APPEND", `APPEND ${this.mailbox} (${flags.join(" ")})`, {
      literal: raw,
    });
    const m = /\[APPENDUID \d+ (\d+)\]/i.exec(tagged.text);
    if (!m) {
      this.fail("protocol", `APPEND answered without APPENDUID: ${tagged.text}`);
      return;
    }
    const uid = Number(m[1]);
    this.truth.appended(this.mailbox, this.id, uid, raw, messageId, flags);
    this.own.add(uid);
  }

  private async store(): Promise<void> {
    const uid = this.pickLive(true);
    if (uid === undefined) return this.append();
    const m = this.messages.get(uid)!;
    const before = m.flags;
    const flag = this.rng.pick(FLAGS);
    // After a crash cut a change off, only a whole new set makes the flags known again.
    const mode = m.flagsUncertain ? "" : this.rng.pick(["+", "-", ""] as const);
    const set =
      mode === "+"
        ? [...new Set([...m.flags, flag])]
        : mode === "-"
          ? m.flags.filter((f) => f !== flag)
          : FLAGS.filter(() => this.rng.chance(0.3));
    const sent = mode === "" ? set : [flag];
    // Known before it is sent: another session may see it at once.
    m.flags = flagKey(set) ? flagKey(set).split(" ") : [];
    m.history.add(flagKey(set));
    const changed = flagKey(set) !== flagKey(before);
    this.changing = m;
    const tagged = await this.command("STORE", `UID STORE ${uid} ${mode}FLAGS (${sent.join(" ")})`);
    this.changing = undefined;
    m.flagsUncertain = false;
    // RFC 3501 §6.4.6: the new flags come back; Dovecot sends nothing for a STORE that changed none.
    if (changed && !tagged.untagged.some((r) => parseFetch(r)?.uid === uid))
      this.fail("protocol", `UID STORE ${uid}: no FETCH for it`);
  }

  private async expunge(crowded: boolean): Promise<void> {
    const uid = this.pickLive(true);
    if (uid === undefined) return crowded ? undefined : this.append();
    const m = this.messages.get(uid)!;
    this.messages.expungeSent(m);
    const set = [...new Set([...m.flags, "\\Deleted"])];
    m.flags = flagKey(set).split(" ");
    m.history.add(flagKey(set));
    this.own.delete(uid);
    this.changing = m;
    await this.command("STORE", `UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
    await this.command("EXPUNGE", `UID EXPUNGE ${uid}`);
    this.changing = undefined;
    this.messages.expungeAcked(m);
    if (this.view.includes(uid))
      this.fail("resurrected", `UID EXPUNGE ${uid} answered, UID still in the view`);
  }

  private async fetchFlags(): Promise<void> {
    const a = this.pickLive(false);
    const b = this.pickLive(false);
    if (a === undefined || b === undefined) return this.append();
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    const tagged = await this.command("FETCH", `UID FETCH ${lo}:${hi} (UID FLAGS MODSEQ)`, { allowNo: true });
    this.checkAnswered([lo, hi], tagged);
  }

  private async fetchBody(): Promise<void> {
    const uid = this.pickLive(false);
    if (uid === undefined) return this.append();
    const size = this.messages.get(uid)!.body.length;
    const start = this.rng.int(0, size - 1);
    const item = this.rng.pick([
      "BODY.PEEK[]",
      "BODY.PEEK[TEXT]",
      `BODY.PEEK[]<${start}.${this.rng.int(1, 4096)}>`,
      "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT)]",
    ]);
    const tagged = await this.command("FETCH-BODY", `UID FETCH ${uid} (UID ${item})`, {
      keepLiterals: true,
      allowNo: true,
    });
    this.checkAnswered([uid], tagged);
  }

  /** A UID asked for, in the view, that nobody is expunging must be answered. */
  private checkAnswered(uids: number[], tagged: Tagged): void {
    const answered = new Set(tagged.untagged.map((r) => parseFetch(r)?.uid));
    for (const uid of uids) {
      if (answered.has(uid)) continue;
      if (this.messages.get(uid)?.expungeSentAt === undefined)
        this.fail(
          "lost",
          `UID ${uid} (never expunged) missing from a UID FETCH: ${tagged.status} ${tagged.text}`,
        );
    }
  }

  /** COPY of an own message to the archive: a COPYUID whose new UID was never given before. */
  private async copy(): Promise<void> {
    const uid = this.pickLive(true);
    if (uid === undefined) return this.append();
    const tagged = await this.command("COPY", `UID COPY ${uid} ${ARCHIVE}`);
    this.archived(uid, tagged.text, "COPY");
  }

  /**
   * MOVE of an own message to the archive (RFC 6851): a COPYUID, and the message leaves the mailbox as by
   * an expunge its owner asked for.
   */
  private async move(): Promise<void> {
    const uid = this.pickLive(true);
    if (uid === undefined) return this.append();
    const m = this.messages.get(uid)!;
    this.messages.expungeSent(m);
    this.own.delete(uid);
    const tagged = await this.command("MOVE", `UID MOVE ${uid} ${ARCHIVE}`);
    this.messages.expungeAcked(m);
    const copyUid = tagged.untagged.find((r) => /^\* OK \[COPYUID /i.test(r.text))?.text ?? tagged.text;
    this.archived(uid, copyUid, "MOVE");
    if (this.view.includes(uid)) this.fail("resurrected", `UID MOVE ${uid} answered, UID still in the view`);
  }

  private archived(uid: number, text: string, what: string): void {
    const m = /\[COPYUID \d+ (\d+) (\d+)\]/i.exec(text);
    if (!m || Number(m[1]) !== uid) {
      this.fail("protocol", `UID ${what} ${uid} answered without its COPYUID: ${text}`);
      return;
    }
    const target = Number(m[2]);
    if (this.truth.archiveUids.has(target))
      this.fail("uid-reused", `${what} gave archive UID ${target} a second time`);
    this.truth.archiveUids.add(target);
  }

  /**
   * IDLE for a moment (RFC 2177): whatever other sessions changed meanwhile arrives as untagged
   * answers, checked like any other; DONE ends it.
   */
  private async idle(): Promise<void> {
    const wire = this.wire!;
    const idling = await this.timed("IDLE", "IDLE", () => wire.idle());
    await new Promise((r) => setTimeout(r, this.rng.int(50, 400)));
    const tagged = await this.timed("IDLE-DONE", "DONE", () => idling.done());
    if (tagged.status !== "OK") this.fail("protocol", `IDLE ended with ${tagged.status} ${tagged.text}`);
    for (const r of tagged.untagged) this.untagged(r);
  }

  private async search(): Promise<void> {
    if (this.rng.chance(0.3)) return this.searchMessageId();
    const tagged = await this.command("SEARCH", "UID SEARCH UNDELETED");
    const line = tagged.untagged.find((r) => /^\* SEARCH\b/i.test(r.text));
    const found = new Set((line?.text.slice(8).split(" ") ?? []).filter(Boolean).map(Number));
    for (const uid of this.own)
      if (this.view.includes(uid) && !found.has(uid))
        this.fail("lost", `UID SEARCH UNDELETED lacks own UID ${uid}`);
  }

  /** SEARCH by a header only one message has: that message, and only it, unless being expunged. */
  private async searchMessageId(): Promise<void> {
    const uid = this.pickLive(false);
    if (uid === undefined) return this.append();
    const known = this.messages.get(uid)!;
    const tagged = await this.command("SEARCH", `UID SEARCH HEADER Message-ID "${known.messageId}"`);
    const line = tagged.untagged.find((r) => /^\* SEARCH\b/i.test(r.text));
    const found = (line?.text.slice(8).split(" ") ?? []).filter(Boolean).map(Number);
    if (found.some((u) => u !== uid))
      this.fail("protocol", `SEARCH for ${known.messageId} found UIDs ${found.join(",")}`);
    if (!found.includes(uid) && known.expungeSentAt === undefined)
      this.fail("lost", `UID SEARCH HEADER Message-ID lacks UID ${uid}`);
  }

  /**
   * NOOP, then FETCH 1:*: every sequence number answered with a UID in order; every message
   * acknowledged before the NOOP and not being expunged is there; none whose expunge was
   * acknowledged before the NOOP is.
   */
  private async fullCheck(): Promise<void> {
    const t0 = performance.now();
    await this.command("NOOP", "NOOP");
    const t1 = performance.now();
    // Only a message whose expunge nobody had sent by now can be found lost below: the set now,
    // before the FETCH's answers change it.
    const unexpunged = [...this.messages.unexpunged];
    // Messages that arrive during the FETCH are announced after its answers, beyond this count.
    const asked = this.view.length;
    if (asked > 0) await this.command("FETCH-ALL", "FETCH 1:* (UID FLAGS MODSEQ)");
    const inView = new Set<number>();
    this.view.forEach((uid, i) => {
      if (uid === undefined) {
        // RFC 2180 §4.1.2: a message expunged by another session and not yet reported may be
        // left out; a message nobody expunges left out shows below as lost.
        if (i < asked) this.unanswered++;
      } else inView.add(uid);
    });
    for (const uid of inView) {
      const m = this.messages.get(uid);
      if (m?.expungeAckedAt !== undefined && m.expungeAckedAt < t0)
        this.fail("resurrected", `UID ${m.uid} expunged (acknowledged) before a NOOP, still there after it`);
    }
    for (const m of unexpunged) {
      if (m.ackedAt < t0 && (m.expungeSentAt === undefined || m.expungeSentAt > t1) && !inView.has(m.uid))
        this.fail("lost", `UID ${m.uid} acknowledged before a NOOP, missing after it`);
    }
  }
}
