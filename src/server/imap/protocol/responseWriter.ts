/**
 * Writes responses to one client socket, honouring backpressure so a slow client never makes the
 * server buffer a whole mailbox. Streamed literals are written chunk by chunk.
 *
 * Writes are coalesced: small parts (a FETCH reply's text, a header block, a short body) are
 * copied into one chunk of CHUNK_BYTES, which goes to the socket when it is full or on the next
 * tick; larger parts go as they are, after the chunk. The socket is also corked until that tick,
 * so the replies of one batch leave in one writev instead of one system call and one TCP segment
 * each. (Handing the socket each small part instead cost 3 parts per message of a header list:
 * 30,000 at 10,000 messages, ~0.15 s of the server's CPU in writev and its string encoding.) A
 * write that fills the socket's buffer waits for "drain", which lets the tick run and the bytes
 * go, so at most a buffer's worth and a chunk are ever held.
 */
import type { Socket } from "node:net";
import type { BytesLiteral, Latin1Literal, WirePart } from "./wire.ts";

/** A part of a line whose bytes are at hand (not a streamed literal). */
type InMemoryPart = Uint8Array | BytesLiteral | Latin1Literal;

const DONE = Promise.resolve();

/** Parts up to this size are copied into the chunk; larger ones go to the socket as they are. */
const SMALL_PART = 4096;
/** The chunk small parts are gathered in: the socket's default high-water mark. */
const CHUNK_BYTES = 16 * 1024;

export class ResponseWriter {
  private closed = false;
  private corked = false;
  /** Small parts not handed to the socket yet: `pendingBytes` of `pending`. */
  private pending: Buffer | undefined;
  private pendingBytes = 0;

  constructor(private socket: Socket) {
    socket.once("close", () => {
      this.closed = true;
    });
  }

  /** After STARTTLS: the same connection, now encrypted. */
  replaceSocket(socket: Socket): void {
    this.flush();
    this.socket = socket;
    socket.once("close", () => {
      this.closed = true;
    });
  }

  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  /** Writes one response line made of parts, ending with CRLF. Neighbouring text goes as one write. */
  line(parts: WirePart[] | string): Promise<void> {
    return this.lineNow(parts) ?? DONE;
  }

  /**
   * As line(), without a promise when none is needed: a line without a streamed literal is
   * written at once, and only a full socket buffer gives something to wait for ("drain"). A header
   * list writes 10,000 lines in a row; a promise and an await for each cost ~10 ms of its CPU. Such
   * a line is written whole before the wait, so at most one in-memory line goes past a full buffer.
   */
  lineNow(parts: WirePart[] | string): Promise<void> | undefined {
    if (typeof parts === "string") return this.raw(parts + "\r\n");
    for (const part of parts)
      if (typeof part !== "string" && !(part instanceof Uint8Array) && part.kind === "literal")
        return this.streamedLine(parts);
    let text = "";
    let roomy = true;
    for (const part of parts) {
      if (typeof part === "string") text += part;
      else {
        roomy = this.putPart(text, part as InMemoryPart) && roomy;
        text = "";
      }
    }
    roomy = this.put(text + "\r\n") && roomy;
    return roomy ? undefined : this.drained();
  }

  /** A line with a streamed literal (a body): written part by part, each chunk after the last. */
  private async streamedLine(parts: WirePart[]): Promise<void> {
    let text = "";
    for (const part of parts) {
      if (typeof part === "string") {
        text += part;
        continue;
      }
      if (part instanceof Uint8Array || part.kind !== "literal") {
        if (!this.putPart(text, part)) await this.drained();
        text = "";
        continue;
      }
      await this.raw(`${text}{${part.size}}\r\n`);
      text = "";
      let sent = 0;
      for await (const chunk of part.chunks()) {
        sent += chunk.length;
        await this.raw(chunk);
      }
      if (sent !== part.size) {
        // The literal's size was promised; a short body would desynchronise the client.
        this.socket.destroy(new Error(`literal promised ${part.size} bytes, sent ${sent}`));
        throw new Error(`literal size mismatch: promised ${part.size}, had ${sent}`);
      }
    }
    await this.raw(text + "\r\n");
  }

  /** Writes `text`, then a part already in memory; false when the socket's buffer is full. */
  private putPart(text: string, part: InMemoryPart): boolean {
    let roomy: boolean;
    if (part instanceof Uint8Array) {
      roomy = text ? this.put(text) : true;
      return this.put(part) && roomy;
    }
    if (part.kind === "bytesLiteral") {
      roomy = this.put(`${text}${part.literal8 ? "~" : ""}{${part.bytes.length}}\r\n`);
      return this.put(part.bytes) && roomy;
    }
    roomy = this.put(`${text}{${part.text.length}}\r\n`);
    return this.put(part.text, "latin1") && roomy;
  }

  untagged(text: string): Promise<void> {
    return this.line(`* ${text}`);
  }

  /** Sends what is held now (before the socket changes hands or ends, as at STARTTLS or BYE). */
  flush(): void {
    this.spill();
    // The chunk lives for one burst of writes: an idle connection (thousands may wait before
    // login) holds none.
    this.pending = undefined;
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private raw(data: string | Uint8Array): Promise<void> | undefined {
    return this.put(data) ? undefined : this.drained();
  }

  /**
   * Gathers `data` into the chunk, or hands it to the socket after the chunk when it is large;
   * false when the socket's buffer is full (then wait for "drain" before writing more). Strings
   * are UTF-8, or one byte per character with "latin1".
   */
  private put(data: string | Uint8Array, encoding: "utf8" | "latin1" = "utf8"): boolean {
    if (this.isClosed) return true;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => this.flush());
    }
    const size = typeof data === "string" ? data.length : data.byteLength;
    if (size > SMALL_PART) {
      const roomy = this.spill(); // what came before goes first
      const taken = typeof data === "string" ? this.socket.write(data, encoding) : this.socket.write(data);
      return taken && roomy;
    }
    let roomy = true;
    const room = CHUNK_BYTES - this.pendingBytes;
    // A UTF-8 string takes at most 3 bytes per UTF-16 unit; only a long one is measured.
    if (
      size > room ||
      (typeof data === "string" && encoding === "utf8" && size * 3 > room && Buffer.byteLength(data) > room)
    )
      roomy = this.spill();
    this.pending ??= Buffer.allocUnsafe(CHUNK_BYTES);
    if (typeof data === "string") this.pendingBytes += this.pending.write(data, this.pendingBytes, encoding);
    else {
      this.pending.set(data, this.pendingBytes);
      this.pendingBytes += data.byteLength;
    }
    return roomy;
  }

  /**
   * Hands the gathered small parts to the socket; false when its buffer is full. A mostly empty
   * chunk is copied out (the socket then holds only those bytes) and kept for the next parts, a
   * fuller one handed over whole.
   */
  private spill(): boolean {
    const pending = this.pending;
    if (!pending || this.pendingBytes === 0) return true;
    const used = pending.subarray(0, this.pendingBytes);
    this.pendingBytes = 0;
    if (this.isClosed) return true;
    if (used.length >= CHUNK_BYTES / 4) {
      this.pending = undefined;
      return this.socket.write(used);
    }
    return this.socket.write(Buffer.from(used));
  }

  private drained(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }
}
