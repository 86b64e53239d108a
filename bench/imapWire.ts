/**
 * A thin raw-socket IMAP client for the bench: it sends exactly the command text it is given (so
 * the bench controls what a Thunderbird-shaped session puts on the wire) and frames responses with
 * their literals. Literal bytes are counted, not kept, unless a command asks for them: the bench
 * needs sizes and counts, and keeping 200 bodies of up to 6 MB would only measure our own memory.
 */
import { connect, type Socket } from "node:net";

export interface Response {
  /** The response's lines joined, each literal shown as {N}. */
  text: string;
  literalSizes: number[];
  literals?: Buffer[];
}

export interface Tagged {
  status: "OK" | "NO" | "BAD";
  text: string;
  untagged: Response[];
  ms: number;
}

export class ImapError extends Error {}

const CRLF = Buffer.from("\r\n");

interface Pending {
  tag: string;
  untagged: Response[];
  keepLiterals: boolean;
  started: number;
  resolve: (t: Tagged) => void;
  reject: (e: Error) => void;
}

export class ImapWire {
  bytesIn = 0;
  bytesOut = 0;
  /** Called for every untagged response (IDLE listens here). */
  onUntagged?: (r: Response) => void;
  private nextTag = 1;
  private pending?: Pending;
  /** Commands sent by `pipeline`, answered in any order. */
  private readonly pipelined = new Map<string, Pending>();
  private continuation?: { resolve: () => void; reject: (e: Error) => void };
  private greeting?: (r: Response) => void;
  private lineParts: string[] = [];
  private current: Response = { text: "", literalSizes: [] };
  private literalLeft = 0;
  private literalChunks: Buffer[] = [];
  private failed?: Error;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.feed(chunk));
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new ImapError("connection closed by the server")));
  }

  /** Connects and waits for the greeting. */
  static async open(host: string, port: number, timeoutMs = 10_000): Promise<ImapWire> {
    const socket = connect({ host, port, noDelay: true });
    const wire = new ImapWire(socket);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        wire.greeting = (r) =>
          r.text.startsWith("* OK") || r.text.startsWith("* PREAUTH")
            ? resolve()
            : reject(new ImapError(`greeting: ${r.text}`));
        socket.once("error", reject);
      }),
      timeoutMs,
      `no IMAP greeting from ${host}:${port}`,
    );
    return wire;
  }

  private fail(err: Error) {
    if (this.failed) return;
    this.failed = err;
    this.pending?.reject(err);
    this.pending = undefined;
    this.continuation?.reject(err);
    for (const p of this.pipelined.values()) p.reject(err);
    this.pipelined.clear();
  }

  private feed(chunk: Buffer) {
    this.bytesIn += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, chunk.length - pos);
        if (this.pending?.keepLiterals) this.literalChunks.push(chunk.subarray(pos, pos + take));
        this.literalLeft -= take;
        pos += take;
        if (this.literalLeft === 0 && this.pending?.keepLiterals) {
          (this.current.literals ??= []).push(Buffer.concat(this.literalChunks));
          this.literalChunks = [];
        }
        continue;
      }
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        this.lineParts.push(chunk.toString("latin1", pos));
        break;
      }
      this.lineParts.push(chunk.toString("latin1", pos, nl + 1));
      pos = nl + 1;
      const line = this.lineParts.join("").replace(/\r?\n$/, "");
      this.lineParts = [];
      this.current.text += line;
      const literal = /\{(\d+)\}$/.exec(line);
      if (literal) {
        const n = Number(literal[1]);
        this.current.literalSizes.push(n);
        this.literalLeft = n;
        if (n === 0 && this.pending?.keepLiterals) (this.current.literals ??= []).push(Buffer.alloc(0));
        continue;
      }
      const done = this.current;
      this.current = { text: "", literalSizes: [] };
      this.dispatch(done);
    }
  }

  private dispatch(r: Response) {
    if (this.greeting) {
      const g = this.greeting;
      this.greeting = undefined;
      g(r);
      return;
    }
    if (r.text.startsWith("+")) {
      const c = this.continuation;
      this.continuation = undefined;
      c?.resolve();
      return;
    }
    const m = /^(\S+) (OK|NO|BAD)\b ?(.*)$/i.exec(r.text);
    const inPipeline = m ? this.pipelined.get(m[1]!) : undefined;
    if (inPipeline && m) {
      this.pipelined.delete(m[1]!);
      inPipeline.resolve({
        status: m[2]!.toUpperCase() as Tagged["status"],
        text: m[3] ?? "",
        untagged: [],
        ms: performance.now() - inPipeline.started,
      });
      return;
    }
    if (r.text.startsWith("* ")) {
      this.pending?.untagged.push(r);
      this.onUntagged?.(r);
      return;
    }
    const p = this.pending;
    if (p && m && m[1] === p.tag) {
      this.pending = undefined;
      p.resolve({
        status: m[2]!.toUpperCase() as Tagged["status"],
        text: m[3] ?? "",
        untagged: p.untagged,
        ms: performance.now() - p.started,
      });
    }
  }

  /** A method, not a field read: TypeScript would keep the narrowing from before the await. */
  private runningTag(): string | undefined {
    return this.pending?.tag;
  }

  private write(data: string | Buffer) {
    this.bytesOut += data.length;
    this.socket.write(data);
  }

  /**
   * Sends one command (without tag) and resolves with its tagged response. `literal` is sent as a
   * synchronizing literal after the server's continuation, as Thunderbird sends APPEND.
   */
  async command(
    text: string,
    options: { literal?: Buffer; keepLiterals?: boolean; timeoutMs?: number; allowNo?: boolean } = {},
  ): Promise<Tagged> {
    if (this.failed) throw this.failed;
    if (this.pending) throw new ImapError(`command ${text} sent while ${this.pending.tag} is running`);
    const tag = `b${this.nextTag++}`;
    const result = new Promise<Tagged>((resolve, reject) => {
      this.pending = {
        tag,
        untagged: [],
        keepLiterals: options.keepLiterals ?? false,
        started: performance.now(),
        resolve,
        reject,
      };
    });
    if (options.literal) {
      const go = new Promise<void>((resolve, reject) => (this.continuation = { resolve, reject }));
      this.write(`${tag} ${text} {${options.literal.length}}\r\n`);
      await withTimeout(
        Promise.race([go, result.then(() => undefined)]),
        options.timeoutMs ?? 60_000,
        `${text}: no continuation`,
      );
      if (this.runningTag() === tag) {
        // One write: a separate CRLF segment could wait on the peer's delayed ACK.
        this.write(Buffer.concat([options.literal, Buffer.from("\r\n")]));
      }
    } else this.write(`${tag} ${text}\r\n`);
    const tagged = await withTimeout(result, options.timeoutMs ?? 120_000, `${text.slice(0, 80)}: no answer`);
    if (tagged.status !== "OK" && !(options.allowNo && tagged.status === "NO"))
      throw new ImapError(`${text.slice(0, 80)} -> ${tagged.status} ${tagged.text}`);
    return tagged;
  }

  /**
   * Sends every command at once, each with its literal as a non-synchronizing one (LITERAL+, RFC
   * 7888), as a client with several APPENDs in flight does; resolves when all are answered. Any
   * answer but OK fails it.
   */
  async pipeline(commands: { text: string; literal: Buffer }[], timeoutMs = 300_000): Promise<Tagged[]> {
    if (this.failed) throw this.failed;
    if (this.pending) throw new ImapError(`pipeline sent while ${this.pending.tag} is running`);
    const answers = commands.map(({ text, literal }) => {
      const tag = `b${this.nextTag++}`;
      const answer = new Promise<Tagged>((resolve, reject) => {
        this.pipelined.set(tag, {
          tag,
          untagged: [],
          keepLiterals: false,
          started: performance.now(),
          resolve,
          reject,
        });
      });
      this.write(Buffer.concat([Buffer.from(`${tag} ${text} {${literal.length}+}\r\n`), literal, CRLF]));
      return answer.then((t) => {
        if (t.status !== "OK") throw new ImapError(`${text.slice(0, 80)} -> ${t.status} ${t.text}`);
        return t;
      });
    });
    return withTimeout(Promise.all(answers), timeoutMs, `${commands.length} pipelined commands: no answer`);
  }

  /** Starts IDLE; resolves once the server accepted it. `done()` ends it. */
  async idle(): Promise<{ done: () => Promise<Tagged> }> {
    if (this.pending) throw new ImapError("IDLE while a command runs");
    const tag = `b${this.nextTag++}`;
    const go = new Promise<void>((resolve, reject) => (this.continuation = { resolve, reject }));
    const result = new Promise<Tagged>((resolve, reject) => {
      this.pending = { tag, untagged: [], keepLiterals: false, started: performance.now(), resolve, reject };
    });
    // Until done() is called nobody awaits the answer: a connection closed meanwhile (the load
    // tool's soak kills the server) must reach done(), not end the process as unhandled.
    result.catch(() => undefined);
    this.write(`${tag} IDLE\r\n`);
    await withTimeout(go, 10_000, "IDLE: no continuation");
    return {
      done: () => {
        this.write("DONE\r\n");
        return withTimeout(result, 10_000, "IDLE DONE: no answer");
      },
    };
  }

  /** LOGOUT when possible, then the socket is closed either way. */
  async close(): Promise<void> {
    if (!this.failed && !this.pending)
      await this.command("LOGOUT", { timeoutMs: 5_000 }).catch(() => undefined);
    this.socket.destroy();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new ImapError(`${what} (after ${ms} ms)`)), ms);
    }),
  ]);
}

/** An IMAP quoted string. */
export function quoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => "\\" + c)}"`;
}
