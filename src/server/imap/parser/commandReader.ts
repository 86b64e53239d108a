/**
 * Frames the client's byte stream into commands: lines, synchronizing literals ({n}, after a "+"
 * continuation), LITERAL+ ({n+}, RFC 7888) and, in APPEND only, literal8 (~{n}, RFC 3516), then
 * hands each framed command to the grammar.
 *
 * Memory is bounded. Unread input is held up to about maxLineBytes (the socket is paused beyond
 * that and resumed once the command in front has been read); a line longer than maxLineBytes is
 * skipped to its end without being kept; literal bytes are moved into a buffer of their own that
 * grows as they arrive (an announced size is only a claim), at most appendLimit for one APPEND
 * message (twice that for all the messages of a MULTIAPPEND) and maxLiteralBytes in all for any
 * other command. A literal over its limit is refused: a
 * synchronizing one before the client sends it (no "+"), a LITERAL+ one by reading and dropping
 * its bytes, or, past an absolute cap, by closing the connection.
 *
 * Before login every command gets only maxLiteralBytesBeforeLogin (LOGIN's user name and password
 * fit; nothing else needs more), whatever its name: a client that has not logged in cannot make
 * the server read or keep an APPEND-sized literal. A non-synchronizing literal over the limit gets
 * a tagged BAD [TOOBIG] (RFC 7888 §4, LITERAL-, which is what the server announces before login);
 * its bytes are read and dropped only when they are within the limit themselves, otherwise the
 * connection ends: reading them to stay in step would be the very cost refused.
 *
 * Line ends: CRLF, and a bare LF is accepted too (some scripts and test tools send it; nothing
 * in a command line can be confused by it, since a CR or LF never belongs inside a line).
 */
import { ByteQueue } from "./byteQueue.ts";
import { parseCommand, tagOf } from "./commands.ts";
import type { FramePart } from "./cursor.ts";
import type { ParseFailure, TaggedCommand } from "./types.ts";

export interface CommandReaderOptions {
  /** Longest command line (excluding literals); default 64 KiB. */
  maxLineBytes?: number;
  /** Most literal bytes in one command other than APPEND; default 64 KiB. */
  maxLiteralBytes?: number;
  /** Largest APPEND literal (APPENDLIMIT, RFC 7889). */
  appendLimit: number;
  /** Most literals in one command. */
  maxLiterals?: number;
  /** Most literal bytes in one command before login; default 4096 (RFC 7888 LITERAL-). */
  maxLiteralBytesBeforeLogin?: number;
  /** Whether the session has logged in (asked before each command is read). */
  loggedIn: () => boolean;
  /** Whether mailbox names are UTF-8 rather than modified UTF-7 (asked before each command). */
  utf8Names?: () => boolean;
  /** Sends "+ text" to the client (the go-ahead for a synchronizing literal). */
  continuation: (text: string) => void;
}

/** RFC 7888 §4: the largest non-synchronizing literal a LITERAL- server must take. */
export const LITERAL_MINUS_MAX = 4096;

/** Most literals in one APPEND: a MULTIAPPEND (RFC 3502) of up to this many messages, less the name. */
const MAX_APPEND_LITERALS = 1000;

/** A literal's buffer starts this large (or at its size, when smaller) and doubles as bytes come. */
const FIRST_LITERAL_BUFFER = 64 * 1024;

/** A literal announcement at the end of a line: "{n}", "{n+}", or literal8 "~{n}" (RFC 3516). */
const LITERAL_AT_END = /(~?)\{(\d{1,20})(\+?)\}$/;

/** A whole command (all its lines) may be this many times maxLineBytes. */
const LINES_PER_COMMAND = 4;

type Input = NodeJS.ReadableStream & {
  pause(): unknown;
  resume(): unknown;
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
};

type LineResult = { line: string } | { tooLong: { head: string; tail: string } } | null;

interface Refusal {
  status: "BAD" | "NO";
  text: string;
  code?: string;
}

export class CommandReader {
  private readonly queue = new ByteQueue();
  private ended = false;
  private wake: (() => void) | undefined;
  private input: Input;
  private readonly maxLine: number;
  private readonly maxLiteral: number;
  private readonly maxLiteralBeforeLogin: number;
  private readonly maxLiterals: number;
  /** Past this, a LITERAL+ literal is not worth reading to stay in sync: the connection closes. */
  private readonly discardCap: number;
  /** Pause the socket when this much unread input waits. */
  private readonly highWater: number;

  private readonly onData = (chunk: Buffer | string) => {
    this.queue.push(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk);
    if (this.queue.length >= this.highWater) this.input.pause();
    this.poke();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.poke();
  };

  constructor(
    input: NodeJS.ReadableStream,
    private readonly opts: CommandReaderOptions,
  ) {
    this.maxLine = opts.maxLineBytes ?? 64 * 1024;
    this.maxLiteral = opts.maxLiteralBytes ?? 64 * 1024;
    this.maxLiteralBeforeLogin = opts.maxLiteralBytesBeforeLogin ?? LITERAL_MINUS_MAX;
    this.maxLiterals = opts.maxLiterals ?? 64;
    this.discardCap = Math.max(opts.appendLimit * 2, 64 * 1024 * 1024);
    // Room for a longest line with its CRLF, so that a line at the limit is never cut.
    this.highWater = this.maxLine + 2;
    this.input = input as Input;
    this.attach();
  }

  private attach(): void {
    this.input.on("data", this.onData);
    this.input.on("end", this.onEnd);
    this.input.on("close", this.onEnd);
    this.input.on("error", this.onEnd);
  }

  private detach(): void {
    this.input.off("data", this.onData);
    this.input.off("end", this.onEnd);
    this.input.off("close", this.onEnd);
    this.input.off("error", this.onEnd);
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Whether bytes were received and not yet consumed (STARTTLS refuses to upgrade then). */
  get hasBufferedInput(): boolean {
    return this.queue.length > 0;
  }

  /** Unread input held now, in bytes (tests check it stays bounded). */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  /** STARTTLS: read from the TLS socket from now on. */
  replaceInput(next: NodeJS.ReadableStream): void {
    this.detach();
    this.input = next as Input;
    this.ended = false;
    this.attach();
    this.input.resume();
  }

  /** Waits for more input; false at its end. */
  private async more(): Promise<boolean> {
    if (this.ended) return false;
    // The reader needs bytes now: read on even past highWater (its caller bounds what it keeps).
    this.input.resume();
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    return true;
  }

  /**
   * One line without its line end. A line longer than `max` is skipped to its end; only its first
   * and last bytes are kept (for the tag, and to see whether a LITERAL+ literal follows it).
   */
  private async readLine(max: number): Promise<LineResult> {
    let head: string | undefined;
    let tail = "";
    for (;;) {
      const lf = this.queue.indexOfLf();
      if (lf >= 0) {
        const raw = this.queue.take(lf + 1);
        const end = lf > 0 && raw[lf - 1] === 13 ? lf - 1 : lf;
        if (head === undefined && end <= max) return { line: raw.toString("latin1", 0, end) };
        head ??= raw.toString("latin1", 0, Math.min(end, 64));
        tail = (tail + raw.toString("latin1", Math.max(0, end - 64), end)).slice(-64);
        return { tooLong: { head, tail } };
      }
      if (this.queue.length > max + 1) {
        const n = this.queue.length;
        const dropped = this.queue.take(n);
        head ??= dropped.toString("latin1", 0, 64);
        tail = (tail + dropped.toString("latin1", Math.max(0, n - 64))).slice(-64);
      }
      if (!(await this.more())) return null;
    }
  }

  /**
   * n bytes in a buffer of their own; null when the input ended first. The buffer grows (doubling)
   * as bytes arrive: a client that announces 50 MiB and sends nothing costs nothing.
   */
  private async readBytes(n: number): Promise<Buffer | null> {
    let out = Buffer.allocUnsafe(Math.min(n, FIRST_LITERAL_BUFFER));
    let got = 0;
    while (got < n) {
      const k = Math.min(this.queue.length, n - got);
      if (got + k > out.length) {
        const grown = Buffer.allocUnsafe(Math.min(n, Math.max(got + k, out.length * 2)));
        out.copy(grown, 0, 0, got);
        out = grown;
      }
      this.queue.copyInto(out, got, k);
      got += k;
      if (got < n && !(await this.more())) return null;
    }
    return out;
  }

  private async discardBytes(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      const k = Math.min(left, this.queue.length);
      this.queue.drop(k);
      left -= k;
      if (left > 0 && !(await this.more())) return false;
    }
    return true;
  }

  /**
   * A raw line for IDLE's DONE or an AUTHENTICATE response, as UTF-8; "" when it was longer than
   * maxBytes (it is skipped); null when the client left.
   */
  async nextLine(maxBytes = this.maxLine): Promise<string | null> {
    const r = await this.readLine(maxBytes);
    if (r === null) return null;
    if ("tooLong" in r) return "";
    return Buffer.from(r.line, "latin1").toString("utf8");
  }

  /** The next command, a failure to answer, or null at the end of input. Never throws on input. */
  async next(): Promise<TaggedCommand | ParseFailure | null> {
    const parts: FramePart[] = [];
    let lineBytes = 0;
    let literalBytes = 0;
    let isAppend = false;
    const loggedIn = this.opts.loggedIn();
    // The most bytes of refused LITERAL+ literals read and dropped to stay in step; past it, the end.
    const dropCap = loggedIn ? this.discardCap : this.maxLiteralBeforeLogin;
    for (;;) {
      const r = await this.readLine(this.maxLine);
      if (r === null) return null;
      if ("tooLong" in r) {
        const head = partsHead(parts, r.tooLong.head);
        const refusal = {
          status: "BAD" as const,
          text: `command line too long (at most ${this.maxLine} bytes)`,
        };
        return this.refuseAfterLine(head, r.tooLong.tail, refusal, dropCap);
      }
      const line = r.line;
      if (parts.length === 0 && line.trim() === "") continue; // stray blank lines are ignored
      lineBytes += line.length;
      if (lineBytes > this.maxLine * LINES_PER_COMMAND) {
        const refusal = { status: "BAD" as const, text: "command too long" };
        return this.refuseAfterLine(partsHead(parts, line), line, refusal, dropCap);
      }
      const m = LITERAL_AT_END.exec(line);
      if (!m) {
        parts.push({ kind: "text", text: line });
        return parseCommand(parts, this.opts.utf8Names?.() ?? false);
      }
      parts.push({ kind: "text", text: line.slice(0, m.index) });
      if (parts.length === 1) isAppend = /^[^ ]+ APPEND /i.test(partsHead(parts, ""));
      const size = Number(m[2]);
      const sync = m[3] !== "+";
      const head = partsHead(parts, "");
      const literalsSoFar = (parts.length - 1) / 2; // text and literal pieces alternate
      const refusal =
        (loggedIn ? undefined : this.literalRefusalBeforeLogin(size, literalBytes, sync)) ??
        this.literalRefusal(m[1] === "~", size, literalBytes, literalsSoFar, isAppend);
      if (refusal) {
        // A client waiting for "+" sends nothing more of this command; a LITERAL+ one sends it all.
        if (sync) return failure(head, refusal);
        return this.dropLiteralAndRest(head, size, refusal, dropCap);
      }
      if (sync) this.opts.continuation("Ready for literal data");
      const bytes = await this.readBytes(size);
      if (bytes === null) return null;
      literalBytes += size;
      parts.push({ kind: "literal", bytes, ...(m[1] === "~" ? { literal8: true } : {}) });
    }
  }

  /** Before login: only a small literal, whatever the command (it cannot run before login anyway). */
  private literalRefusalBeforeLogin(size: number, soFar: number, sync: boolean): Refusal | undefined {
    if (soFar + size <= this.maxLiteralBeforeLogin) return undefined;
    const text = `before login, a command may carry at most ${this.maxLiteralBeforeLogin} literal bytes`;
    // RFC 7888 §4: a non-synchronizing literal over the LITERAL- limit is a BAD [TOOBIG].
    return { status: sync ? "NO" : "BAD", code: "TOOBIG", text };
  }

  /** Why a literal announced now cannot be taken, or undefined when it can. */
  private literalRefusal(
    literal8: boolean,
    size: number,
    soFar: number,
    literalsSoFar: number,
    isAppend: boolean,
  ): Refusal | undefined {
    if (literal8 && !isAppend)
      return { status: "BAD", text: "literal8 (~{n}) is allowed only in APPEND (RFC 3516)" };
    const maxLiterals = isAppend ? MAX_APPEND_LITERALS : this.maxLiterals;
    if (literalsSoFar >= maxLiterals) {
      return { status: "BAD", text: `too many literals in one command (at most ${maxLiterals})` };
    }
    if (isAppend) {
      if (size > this.opts.appendLimit) {
        const text = `the message is larger than the limit of ${this.opts.appendLimit} bytes`;
        return { status: "NO", code: "TOOBIG", text };
      }
      // RFC 3502: a MULTIAPPEND's messages are all held until they are stored together. Literals
      // besides the messages (a mailbox name) get the ordinary allowance on top.
      const most = Math.max(2 * this.opts.appendLimit, this.opts.appendLimit + this.maxLiteral);
      if (soFar + size > most) {
        const text = `the messages of one APPEND may take at most ${most} bytes in all`;
        return { status: "NO", code: "TOOBIG", text };
      }
      return undefined;
    }
    if (soFar + size > this.maxLiteral) {
      return { status: "BAD", text: `literal too large (at most ${this.maxLiteral} bytes in a command)` };
    }
    return undefined;
  }

  /**
   * A refused LITERAL+ literal: its bytes come anyway, so they are read and dropped (never
   * parsed as commands), then the rest of the command. Past the cap the stream is given up.
   */
  private async dropLiteralAndRest(
    head: string,
    size: number,
    refusal: Refusal,
    dropCap: number,
  ): Promise<ParseFailure | null> {
    if (size > dropCap) return { ...failure(head, refusal), fatal: true };
    if (!(await this.discardBytes(size))) return null;
    const rest = await this.skipRestOfCommand(dropCap);
    if (rest === null) return null;
    return { ...failure(head, refusal), ...(rest === "lost" ? { fatal: true } : {}) };
  }

  /** A refusal for a line that was skipped: a LITERAL+ literal announced at its end is dropped too. */
  private async refuseAfterLine(
    head: string,
    tail: string,
    refusal: Refusal,
    dropCap: number,
  ): Promise<ParseFailure | null> {
    const m = LITERAL_AT_END.exec(tail);
    if (m && m[3] === "+") return this.dropLiteralAndRest(head, Number(m[2]), refusal, dropCap);
    return failure(head, refusal);
  }

  /**
   * After a dropped literal: the rest of the command, with its further LITERAL+ literals, is
   * skipped; "lost" when one of them is too large to skip.
   */
  private async skipRestOfCommand(dropCap: number): Promise<"skipped" | "lost" | null> {
    for (;;) {
      const r = await this.readLine(this.maxLine);
      if (r === null) return null;
      const tail = "tooLong" in r ? r.tooLong.tail : r.line;
      const m = LITERAL_AT_END.exec(tail);
      // A synchronizing literal here gets no "+", so the client sends nothing more of it.
      if (!m || m[3] !== "+") return "skipped";
      const size = Number(m[2]);
      if (size > dropCap) return "lost";
      if (!(await this.discardBytes(size))) return null;
    }
  }
}

function partsHead(parts: FramePart[], fallback: string): string {
  const first = parts[0];
  return first?.kind === "text" ? first.text : fallback;
}

function failure(head: string, refusal: Refusal): ParseFailure {
  const tag = tagOf(head);
  return {
    ...(tag ? { tag } : {}),
    status: refusal.status,
    text: refusal.text,
    ...(refusal.code ? { code: refusal.code } : {}),
  };
}
