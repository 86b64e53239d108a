/**
 * A bare LMTP conversation for tests (RFC 2033): send a line, read the replies it causes, so that
 * each per-recipient reply code can be checked exactly. Bounded in time.
 */
import { connect, type Socket } from "node:net";

export interface Reply {
  code: number;
  text: string;
}

export class LmtpWire {
  private buffer = "";
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.buffer += d;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(port: number, host = "127.0.0.1"): Promise<{ wire: LmtpWire; greeting: Reply }> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const wire = new LmtpWire(socket);
    const [greeting] = await wire.replies(1);
    return { wire, greeting: greeting! };
  }

  /** The next `count` complete replies (a multi-line reply counts once). */
  async replies(count: number, timeoutMs = 30_000): Promise<Reply[]> {
    const deadline = Date.now() + timeoutMs;
    const out: Reply[] = [];
    while (out.length < count) {
      const m = /^(\d{3})-.*\r\n/.exec(this.buffer) ?? /^(\d{3}) (.*)\r\n/.exec(this.buffer);
      if (m && m[0].charAt(3) === "-") {
        this.buffer = this.buffer.slice(m[0].length);
        continue;
      }
      if (m) {
        out.push({ code: Number(m[1]), text: m[2] ?? "" });
        this.buffer = this.buffer.slice(m[0].length);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no LMTP reply within ${timeoutMs} ms; buffer: ${this.buffer}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return out;
  }

  async command(line: string, replies = 1): Promise<Reply[]> {
    this.socket.write(`${line}\r\n`);
    return this.replies(replies);
  }

  /** DATA, the message (dot-stuffed here), and one reply per accepted recipient. */
  async data(message: string, recipients: number): Promise<Reply[]> {
    const [go] = await this.command("DATA");
    if (go!.code !== 354) return [go!];
    const body = message.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
    this.socket.write(`${body}${body.endsWith("\r\n") ? "" : "\r\n"}.\r\n`);
    return this.replies(recipients);
  }

  close(): void {
    this.socket.destroy();
  }
}
