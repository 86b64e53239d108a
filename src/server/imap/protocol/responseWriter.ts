/**
 * Writes responses to one client socket, honouring backpressure so a slow client never makes the
 * server buffer a whole mailbox. Streamed literals are written chunk by chunk.
 *
 * Writes are coalesced: the socket is corked at the first write and uncorked on the next tick, so
 * the many small parts of a FETCH reply (and the replies of one batch) leave in one writev instead
 * of one system call and one TCP segment each. A write that fills the socket's buffer waits for
 * "drain", which lets the tick run and the bytes go, so at most a buffer's worth is ever held.
 */
import type { Socket } from "node:net";
import type { WirePart } from "./wire.ts";

export class ResponseWriter {
  private closed = false;
  private corked = false;

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
  async line(parts: WirePart[] | string): Promise<void> {
    if (typeof parts === "string") return this.raw(parts + "\r\n");
    let text = "";
    for (const part of parts) {
      if (typeof part === "string") {
        text += part;
        continue;
      }
      if (part instanceof Uint8Array) {
        if (text) await this.raw(text);
        text = "";
        await this.raw(part);
        continue;
      }
      if (part.kind === "bytesLiteral") {
        await this.raw(`${text}${part.literal8 ? "~" : ""}{${part.bytes.length}}\r\n`);
        await this.raw(part.bytes);
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

  untagged(text: string): Promise<void> {
    return this.line(`* ${text}`);
  }

  /** Sends what is held now (before the socket changes hands, as at STARTTLS). */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private raw(data: string | Uint8Array): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => this.flush());
    }
    if (this.socket.write(data)) return Promise.resolve();
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
