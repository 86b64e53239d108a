/**
 * A tiny IMAP client for scenario tests that need the exact bytes: send a line, collect every line
 * up to the tagged answer. Literals in responses are kept inline in the text.
 */
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";

export class RawImap {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private closed = false;
  private tagCounter = 0;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => undefined);
  }

  /** `localAddress` picks the client's address (any 127.x.y.z works on Linux loopback). */
  static async connect(port: number, host = "127.0.0.1", localAddress?: string): Promise<RawImap> {
    const socket = connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawImap(socket);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Waits until the buffer holds a full line, or the timeout passes. */
  async readLine(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const i = this.buffer.indexOf("\r\n");
      if (i >= 0) {
        let line = this.buffer.subarray(0, i + 2);
        // A line ending in a literal announcement: keep the literal and the rest of the line.
        const m = /\{(\d+)\}\r\n$/.exec(line.toString("latin1"));
        if (m) {
          const need = i + 2 + Number(m[1]);
          if (this.buffer.length < need) {
            await this.waitData(deadline);
            continue;
          }
          const literal = this.buffer.subarray(i + 2, need);
          this.buffer = this.buffer.subarray(need);
          const rest = await this.readLine(Math.max(1, deadline - Date.now()));
          return line.toString("utf8") + literal.toString("utf8") + rest;
        }
        line = this.buffer.subarray(0, i);
        this.buffer = this.buffer.subarray(i + 2);
        return line.toString("utf8");
      }
      if (this.closed)
        throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString())}`);
      await this.waitData(deadline);
    }
  }

  private async waitData(deadline: number): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(`timed out waiting for the server; have: ${JSON.stringify(this.buffer.toString())}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** After a tagged OK to STARTTLS: the same connection under TLS, as a new client (drop this one). */
  async upgradeToTls(options: ConnectionOptions): Promise<RawImap> {
    this.socket.removeAllListeners("data");
    const secure = tlsConnect({ socket: this.socket, ...options });
    await once(secure, "secureConnect");
    return new RawImap(secure);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  nextTag(): string {
    return `A${++this.tagCounter}`;
  }

  /** Sends `TAG command` and returns every line up to and including the tagged one. */
  async command(command: string, timeoutMs = 10_000): Promise<string[]> {
    const tag = this.nextTag();
    this.write(`${tag} ${command}\r\n`);
    return this.until(tag, timeoutMs);
  }

  /** Lines until the one tagged `tag`. */
  async until(tag: string, timeoutMs = 10_000): Promise<string[]> {
    const lines: string[] = [];
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const line = await this.readLine(Math.max(1, deadline - Date.now()));
      lines.push(line);
      if (line.startsWith(`${tag} `)) return lines;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
