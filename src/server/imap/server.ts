/**
 * The IMAP server: a TCP listener (loopback by default; the CLI refuses anything else unless asked
 * in so many words) that gives each connection its own session, up to the connection limits
 * (connectionLimits.ts: a connection past them gets `* BYE [LIMIT]` as its greeting). `close`
 * stops listening, tells connected clients BYE and waits for commands in flight to finish writing.
 */
import { createServer, type Server, type Socket } from "node:net";
import { createSecureContext } from "node:tls";
import type { AccountDirectory } from "../../mail/accountDirectory.ts";
import type { Log } from "../../log.ts";
import { ConnectionCounter, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from "./connectionLimits.ts";
import { Connection } from "./session/connection.ts";
import type { ServerContext } from "./session/session.ts";

/** RFC 7889 APPENDLIMIT default: 50 MiB, enough for any attachment mail hosts accept. */
export const DEFAULT_APPEND_LIMIT = 50 * 1024 * 1024;

export interface ImapServerOptions extends ConnectionLimits {
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
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...definedOnly(opts) };
  const counter = new ConnectionCounter(limits.maxConnections, limits.maxConnectionsPerAddress);
  const noteRefusal = refusalLog(opts.log);
  const sockets = new Set<Socket>();
  const connections = new Set<Connection>();
  const serving = new Set<Promise<void>>();
  const server: Server = createServer((socket) => {
    const address = socket.remoteAddress ?? "an unknown address";
    const refused = counter.admit(address);
    if (refused) {
      socket.on("error", () => undefined); // a client that left first: nothing to do
      // RFC 3501 §7.1.5: a BYE greeting tells the client the server will not serve it.
      socket.end(`* BYE [LIMIT] ${refused}\r\n`, () => socket.destroy());
      noteRefusal(refused);
      return;
    }
    socket.once("close", () => counter.release(address));
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const conn = new Connection(socket, {
      server: context,
      loginIdleTimeoutMs: limits.loginIdleTimeoutMs,
      ...(secureContext ? { secureContext } : {}),
    });
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

/** The limits given (an undefined one keeps its default). */
function definedOnly(opts: ConnectionLimits): ConnectionLimits {
  const out: ConnectionLimits = {};
  if (opts.maxConnections !== undefined) out.maxConnections = opts.maxConnections;
  if (opts.maxConnectionsPerAddress !== undefined)
    out.maxConnectionsPerAddress = opts.maxConnectionsPerAddress;
  if (opts.loginIdleTimeoutMs !== undefined) out.loginIdleTimeoutMs = opts.loginIdleTimeoutMs;
  return out;
}

/** Logs refused connections at most once a minute, with how many were refused meanwhile. */
function refusalLog(log: Log): (reason: string) => void {
  let lastAt = -Infinity;
  let unlogged = 0;
  return (reason) => {
    unlogged++;
    const now = performance.now();
    if (now - lastAt < 60_000) return;
    const more = unlogged > 1 ? ` (${unlogged} connections refused since the last such line)` : "";
    log("warn", `refused a connection: ${reason}${more}`);
    lastAt = now;
    unlogged = 0;
  };
}
