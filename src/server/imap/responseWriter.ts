/**
 * Writes responses to one client socket, honouring backpressure so a slow client never makes the
 * server buffer a whole mailbox. Streamed literals are written chunk by chunk.
 */
import type { Socket } from "node:net";
import type { WirePart } from "./wire.ts";

export class ResponseWriter {
  private closed = false;

  constructor(private socket: Socket) {
    socket.once("close", () => {
      this.closed = true;
    });
  }

  /** After STARTTLS: the same connection, now encrypted. */
  replaceSocket(socket: Socket): void {
    this.socket = socket;
    socket.once("close", () => {
      this.closed = true;
    });
  }

  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  /** Writes one response line made of parts, ending with CRLF. */
  async line(parts: WirePart[] | string): Promise<void> {
    if (typeof parts === "string") return this.raw(parts + "\r\n");
    for (const part of parts) {
      if (typeof part === "string" || part instanceof Uint8Array) {
        await this.raw(part);
      } else {
        await this.raw(`{${part.size}}\r\n`);
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
    }
    await this.raw("\r\n");
  }

  untagged(text: string): Promise<void> {
    return this.line(`* ${text}`);
  }

  private raw(data: string | Uint8Array): Promise<void> {
    if (this.isClosed) return Promise.resolve();
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
