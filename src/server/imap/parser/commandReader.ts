/**
 * Frames the client's byte stream into commands: lines, synchronizing literals ({n}, after a "+"
 * continuation) and LITERAL+ ({n+}), then hands each framed command to the grammar. Memory is
 * bounded: a line longer than maxLineBytes is skipped to its CRLF without being kept, a literal
 * larger than its limit is refused (a synchronizing one before its bytes are sent; a
 * non-synchronizing one is read and dropped), and the socket is paused while unread input piles up.
 */
import { parseCommand, tagOf } from "./commands.ts";
import type { FramePart } from "./cursor.ts";
import type { ParseFailure, TaggedCommand } from "./types.ts";

export interface CommandReaderOptions {
  /** Longest command line (excluding literals). */
  maxLineBytes?: number;
  /** Largest literal outside APPEND. */
  maxLiteralBytes?: number;
  /** Largest APPEND literal (APPENDLIMIT). */
  appendLimit: number;
  /** Most literals in one command. */
  maxLiterals?: number;
  /** Sends "+ text" to the client (the go-ahead for a synchronizing literal). */
  continuation: (text: string) => void;
}

const LITERAL_AT_END = /\{(\d{1,20})(\+?)\}$/;

type Input = NodeJS.ReadableStream & {
  pause(): unknown;
  resume(): unknown;
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
};

export class CommandReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private wake: (() => void) | undefined;
  private input: Input;
  private readonly maxLine: number;
  private readonly maxLiteral: number;
  private readonly maxLiterals: number;
  /** Pause the socket when this much unread input waits. */
  private readonly highWater: number;

  private readonly onData = (chunk: Buffer) => {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered > this.highWater) this.input.pause();
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
    this.maxLiterals = opts.maxLiterals ?? 64;
    this.highWater = Math.max(this.maxLine * 2, 256 * 1024);
    this.input = input as Input;
    this.attach();
  }

  private attach(): void {
    this.input.on("data", this.onData);
    this.input.on("end", this.onEnd);
    this.input.on("close", this.onEnd);
    this.input.on("error", this.onEnd);
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Bytes received and not yet consumed. */
  get hasBufferedInput(): boolean {
    return this.buffered > 0;
  }

  /** STARTTLS: read from the TLS socket from now on. */
  replaceInput(next: NodeJS.ReadableStream): void {
    this.input.off("data", this.onData);
    this.input.off("end", this.onEnd);
    this.input.off("close", this.onEnd);
    this.input.off("error", this.onEnd);
    this.input = next as Input;
    this.ended = false;
    this.attach();
    this.input.resume();
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    if (this.buffered <= this.highWater) this.input.resume();
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    return true;
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  private indexOfLf(): number {
    let offset = 0;
    for (const chunk of this.chunks) {
      const i = chunk.indexOf(10);
      if (i >= 0) return offset + i;
      offset += chunk.length;
    }
    return -1;
  }

  /**
   * One line without its line end (CRLF, or a bare LF, accepted as clients sometimes send it);
   * "tooLong" when it passed `max` (it is then skipped to its end, keeping only its start).
   */
  private async readLine(max: number): Promise<{ line: string } | { tooLong: string } | null> {
    let skipping: string | undefined;
    for (;;) {
      const lf = this.indexOfLf();
      if (lf >= 0) {
        const raw = this.take(lf + 1);
        if (skipping !== undefined) return { tooLong: skipping };
        if (lf > max) return { tooLong: raw.subarray(0, 64).toString("latin1") };
        const end = lf > 0 && raw[lf - 1] === 13 ? lf - 1 : lf;
        return { line: raw.subarray(0, end).toString("latin1") };
      }
      if (this.buffered > max) {
        // Keep nothing of an overlong line but its start (for the tag).
        const dropped = this.take(this.buffered);
        skipping ??= dropped.subarray(0, 64).toString("latin1");
      }
      if (!(await this.more())) return null;
    }
  }

  private async readBytes(n: number): Promise<Buffer | null> {
    while (this.buffered < n) if (!(await this.more())) return null;
    return Buffer.from(this.take(n));
  }

  private async discardBytes(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.more())) return false;
      left -= this.take(Math.min(left, this.buffered)).length;
    }
    return true;
  }

  /** A raw line for IDLE's DONE or an AUTHENTICATE response; null when the client left. */
  async nextLine(maxBytes = this.maxLine): Promise<string | null> {
    const r = await this.readLine(maxBytes);
    if (r === null) return null;
    if ("tooLong" in r) return "";
    return Buffer.from(r.line, "latin1").toString("utf8");
  }

  /** The next command, a failure to answer, or null at the end of input. */
  async next(): Promise<TaggedCommand | ParseFailure | null> {
    const parts: FramePart[] = [];
    let total = 0;
    let isAppend: boolean | undefined;
    for (;;) {
      const r = await this.readLine(this.maxLine);
      if (r === null) return null;
      if ("tooLong" in r) {
        return failure(
          partsHead(parts, r.tooLong),
          "BAD",
          `command line too long (the limit is ${this.maxLine} bytes)`,
        );
      }
      const line = r.line;
      total += line.length;
      if (total > this.maxLine * 4) {
        return failure(partsHead(parts, line), "BAD", "command too long");
      }
      if (parts.length === 0 && line.trim() === "") continue;
      const m = LITERAL_AT_END.exec(line);
      if (!m) {
        parts.push({ kind: "text", text: line });
        return parseCommand(parts);
      }
      parts.push({ kind: "text", text: line.slice(0, m.index) });
      isAppend ??= /^\S+ APPEND /i.test(partsHead(parts, ""));
      const size = Number(m[1]);
      const sync = m[2] !== "+";
      const limit = isAppend ? this.opts.appendLimit : this.maxLiteral;
      const count = parts.filter((p) => p.kind === "literal").length;
      if (size > limit || count >= this.maxLiterals) {
        const text =
          count >= this.maxLiterals
            ? `too many literals in one command (at most ${this.maxLiterals})`
            : isAppend
              ? `the message is larger than the limit of ${limit} bytes`
              : `literal too large (at most ${limit} bytes here)`;
        const code = isAppend && size > limit ? "TOOBIG" : undefined;
        if (sync) {
          // The client waits for "+" and sends nothing more of this command.
          return failure(partsHead(parts, ""), isAppend ? "NO" : "BAD", text, code);
        }
        // LITERAL+: the bytes are coming anyway. Drop them (bounded memory), then the line's rest.
        const cap = Math.max(this.opts.appendLimit * 2, 64 * 1024 * 1024);
        if (size > cap) {
          return { ...failure(partsHead(parts, ""), "BAD", `${text}; closing`, code), fatal: true };
        }
        if (!(await this.discardBytes(size))) return null;
        const rest = await this.skipRestOfCommand();
        if (rest === null) return null;
        return failure(partsHead(parts, ""), isAppend ? "NO" : "BAD", text, code);
      }
      if (sync) this.opts.continuation("Ready for literal data");
      const bytes = await this.readBytes(size);
      if (bytes === null) return null;
      parts.push({ kind: "literal", bytes });
    }
  }

  /** After a dropped LITERAL+ literal: the rest of the command, with any further literals, is skipped. */
  private async skipRestOfCommand(): Promise<true | null> {
    for (;;) {
      const r = await this.readLine(this.maxLine);
      if (r === null) return null;
      if ("tooLong" in r) return true;
      const m = LITERAL_AT_END.exec(r.line);
      if (!m || m[2] !== "+") return true;
      if (!(await this.discardBytes(Number(m[1])))) return null;
    }
  }
}

function partsHead(parts: FramePart[], fallback: string): string {
  const first = parts[0];
  return first?.kind === "text" ? first.text : fallback;
}

function failure(head: string, status: "BAD" | "NO", text: string, code?: string): ParseFailure {
  const tag = tagOf(head);
  return { ...(tag ? { tag } : {}), status, text, ...(code ? { code } : {}) };
}
