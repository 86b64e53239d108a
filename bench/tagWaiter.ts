/**
 * A bare IMAP client for the in-process measuring scripts (measureBodies.ts, measureHeaders.ts):
 * it sends a tagged command and waits for the line that starts with its tag, without parsing the
 * answer (literals included), so that parsing costs nothing in the figure. `received` counts the
 * bytes that came back.
 */
import { connect, type Socket } from "node:net";

export interface TagWaiter {
  /** Sends `tag text` and resolves when the tagged OK comes; throws on any other tagged answer. */
  command(tag: string, text: string): Promise<void>;
  /** Bytes received since the start or the last reset. */
  received: number;
  /** Resolves with the server's greeting (call once, first). */
  greeting(): Promise<void>;
}

export function tagWaiter(socket: Socket): TagWaiter {
  let tail = "\r\n";
  const waiter: TagWaiter = {
    received: 0,
    greeting: () => new Promise((resolve) => socket.once("data", () => resolve())),
    async command(tag, text) {
      const done = new Promise<string>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          waiter.received += chunk.length;
          tail = (tail + chunk.toString("latin1")).slice(-4096);
          const at = tail.lastIndexOf(`\r\n${tag} `);
          if (at >= 0 && tail.endsWith("\r\n")) {
            socket.off("data", onData);
            socket.off("error", reject);
            resolve(tail.slice(at + 2));
          }
        };
        socket.on("data", onData);
        socket.once("error", reject);
      });
      socket.write(`${tag} ${text}\r\n`);
      const line = await done;
      if (!line.startsWith(`${tag} OK`)) throw new Error(`${text}: ${line}`);
    },
  };
  return waiter;
}

/** A connection to a server on 127.0.0.1, logged in as alice with INBOX selected. */
export async function selectedInbox(
  port: number,
  password: string,
): Promise<{ socket: Socket; imap: TagWaiter }> {
  const socket = connect(port, "127.0.0.1");
  const imap = tagWaiter(socket);
  await imap.greeting();
  await imap.command("a", `LOGIN alice "${password}"`);
  await imap.command("b", "SELECT INBOX");
  return { socket, imap };
}
