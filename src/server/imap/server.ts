/**
 * The IMAP server: a TCP listener (loopback by default; the CLI refuses anything else unless asked
 * in so many words) that gives each connection its own session. `close` stops listening, tells
 * connected clients BYE and waits for commands in flight to finish writing.
 */
import { createServer, type Server, type Socket } from "node:net";
import { createSecureContext } from "node:tls";
import type { AccountDirectory } from "../../mail/accountDirectory.ts";
import type { Log } from "../../log.ts";
import { Connection } from "./session/connection.ts";
import type { ServerContext } from "./session/session.ts";

/** RFC 7889 APPENDLIMIT default: 50 MiB, enough for any attachment mail hosts accept. */
export const DEFAULT_APPEND_LIMIT = 50 * 1024 * 1024;

export interface ImapServerOptions {
  host: string;
  port: number;
  directory: AccountDirectory;
  tls?: { key: string | Buffer; cert: string | Buffer };
  appendLimit?: number | undefined;
  log: Log;
}

export interface ImapServer {
  port: number;
  address: { host: string; port: number };
  /** Open connections right now. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startImapServer(opts: ImapServerOptions): Promise<ImapServer> {
  const secureContext = opts.tls
    ? createSecureContext({ key: opts.tls.key, cert: opts.tls.cert })
    : undefined;
  const context: ServerContext = {
    directory: opts.directory,
    tlsAvailable: secureContext !== undefined,
    appendLimit: opts.appendLimit ?? DEFAULT_APPEND_LIMIT,
    log: opts.log,
  };
  const sockets = new Set<Socket>();
  const connections = new Set<Connection>();
  const serving = new Set<Promise<void>>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const conn = new Connection(socket, { server: context, ...(secureContext ? { secureContext } : {}) });
    connections.add(conn);
    socket.once("close", () => connections.delete(conn));
    const done = conn
      .serve()
      .catch((err: Error) => opts.log("error", `connection failed: ${err.stack ?? err.message}`));
    serving.add(done);
    void done.finally(() => serving.delete(done));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => opts.log("error", `listener error: ${err.message}`));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    port,
    address: { host: opts.host, port },
    get connections() {
      return sockets.size;
    },
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of connections) c.shutdown();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
      await Promise.race([Promise.all([...serving]), grace]);
      for (const s of sockets) s.destroy();
      await stopped;
    },
  };
}
