/**
 * A TCP proxy on 127.0.0.1 that holds every chunk for a fixed delay in each direction, standing in
 * for a remote storage host (20 ms each way is a 40 ms round trip, a nearby data centre). It also
 * counts what crosses it: bytes each way, connections, and HTTP/1.1 requests (request lines seen
 * going upstream), which is how the bench reports what a target sent to its storage.
 */
import { appendFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";

export interface ProxyCounters {
  connections: number;
  requests: number;
  bytesUp: number;
  bytesDown: number;
}

export interface DelayProxy {
  port: number;
  url: string;
  counters: ProxyCounters;
  resetCounters(): void;
  /** Changes the delay for chunks from now on (the bench loads its corpus at 0 ms). */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

const REQUEST_LINE_END = Buffer.from(" HTTP/1.1\r\n");

/** Counts request-line endings in a stream, including one split across two chunks. */
function requestCounter(onRequest: () => void) {
  let tail = Buffer.alloc(0);
  return (chunk: Buffer) => {
    const data = tail.length ? Buffer.concat([tail, chunk]) : chunk;
    for (let at = data.indexOf(REQUEST_LINE_END); at >= 0; at = data.indexOf(REQUEST_LINE_END, at + 1))
      onRequest();
    tail = Buffer.from(data.subarray(Math.max(0, data.length - (REQUEST_LINE_END.length - 1))));
  };
}

/**
 * BENCH_PROXY_TRACE=FILE: one line per storage request, as it is answered: the time (ms since the
 * epoch), how long the answer took from the request line (ms, on the proxy's side), the HTTP
 * status, the method and the path with its query (partition and sort keys are opaque ids), and
 * "[new connection]" on the first request of a connection; and a line "close" as a connection
 * closes, with who closed it first (client or host), its requests and how long it was open: which
 * calls open new connections, and whether a kept-alive one was closed while idle. What `npm run
 * load` on Garage showed of the full syncs of issue 18 came from it.
 */
function requestTrace(): ((line: string) => void) | undefined {
  const file = process.env.BENCH_PROXY_TRACE;
  return file ? (line) => appendFileSync(file, `${line}\n`) : undefined;
}

export async function startDelayProxy(
  upstream: { host: string; port: number },
  initialDelayMs: number,
): Promise<DelayProxy> {
  let delayMs = initialDelayMs;
  const trace = requestTrace();
  const counters: ProxyCounters = { connections: 0, requests: 0, bytesUp: 0, bytesDown: 0 };
  const sockets = new Set<Socket>();

  // Each direction is a FIFO of chunks with the time each may leave: order holds even when the
  // delay changes mid-stream. An end (FIN) queues behind the data like a chunk.
  const pipeDelayed = (from: Socket, to: Socket, count: (chunk: Buffer) => void) => {
    const queue: { due: number; chunk: Buffer | "end" }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length && queue[0]!.due <= now) {
        const { chunk } = queue.shift()!;
        if (to.destroyed) continue;
        if (chunk === "end") to.end();
        else to.write(chunk);
      }
      if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0]!.due - now));
    };
    const push = (chunk: Buffer | "end") => {
      if (delayMs === 0 && queue.length === 0) {
        if (to.destroyed) return;
        if (chunk === "end") to.end();
        else to.write(chunk);
        return;
      }
      queue.push({ due: performance.now() + delayMs, chunk });
      if (!timer) timer = setTimeout(flush, delayMs);
    };
    from.on("data", (chunk: Buffer) => {
      count(chunk);
      push(chunk);
    });
    from.on("end", () => push("end"));
    from.on("error", () => to.destroy());
    from.on("close", () => {
      // An abrupt close (no FIN) reaches the other side once the queued bytes have left.
      const last = queue.length ? queue[queue.length - 1]!.due - performance.now() : 0;
      setTimeout(() => to.destroy(), Math.max(0, last) + 5);
    });
  };

  const server: Server = createServer((client) => {
    counters.connections++;
    const host = connect({ host: upstream.host, port: upstream.port });
    client.setNoDelay(true);
    host.setNoDelay(true);
    for (const s of [client, host]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    }
    const countRequests = requestCounter(() => counters.requests++);
    // HTTP/1.1 answers in order on a connection: the n-th status line answers the n-th request.
    const asked: { at: number; line: string }[] = [];
    const opened = performance.now();
    let requests = 0;
    let closedBy: string | undefined;
    pipeDelayed(client, host, (chunk) => {
      counters.bytesUp += chunk.length;
      countRequests(chunk);
      if (trace)
        for (const m of chunk.toString("latin1").matchAll(/^(GET|PUT|POST|DELETE|HEAD) (\S+) HTTP/gm)) {
          const line = `${m[1]} ${m[2]!.slice(0, 160)}${requests++ === 0 ? " [new connection]" : ""}`;
          asked.push({ at: performance.now(), line });
        }
    });
    pipeDelayed(host, client, (chunk) => {
      counters.bytesDown += chunk.length;
      if (trace)
        for (const m of chunk.toString("latin1").matchAll(/^HTTP\/1\.1 (\d+)/gm)) {
          const req = asked.shift();
          if (req) trace(`${Date.now()} ${(performance.now() - req.at).toFixed(1)} ${m[1]} ${req.line}`);
        }
    });
    if (trace) {
      client.once("end", () => (closedBy ??= "client"));
      host.once("end", () => (closedBy ??= "host"));
      client.once("close", () =>
        trace(
          `${Date.now()} - close by ${closedBy ?? "?"} after ${requests} requests, ` +
            `open ${((performance.now() - opened) / 1000).toFixed(1)} s`,
        ),
      );
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    counters,
    setDelay(ms: number) {
      delayMs = ms;
    },
    resetCounters() {
      Object.assign(counters, { connections: 0, requests: 0, bytesUp: 0, bytesDown: 0 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Self-check: an echo server behind the proxy answers a request line in no less than two delays
 * (one each way) and not much more; bytes and the request are counted. Returns the measured round
 * trip in ms, or throws.
 */
export async function checkDelayProxy(delayMs = 20): Promise<number> {
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", () => resolve()));
  const address = echo.address();
  const proxy = await startDelayProxy(
    { host: "127.0.0.1", port: typeof address === "object" && address ? address.port : 0 },
    delayMs,
  );
  try {
    const socket = connect({ host: "127.0.0.1", port: proxy.port, noDelay: true });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const request = "GET /bucket/key HTTP/1.1\r\nHost: x\r\n\r\n";
    const t0 = performance.now();
    const echoed = await new Promise<string>((resolve, reject) => {
      let got = "";
      socket.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.length >= request.length) resolve(got);
      });
      socket.once("error", reject);
      // Split inside the request line's end: the counter must still see one request.
      socket.write(request.slice(0, 20));
      setTimeout(() => socket.write(request.slice(20)), 5);
    });
    const rtt = performance.now() - t0;
    socket.destroy();
    if (echoed !== request) throw new Error("delay proxy changed the bytes");
    if (rtt < 2 * delayMs)
      throw new Error(`delay proxy round trip ${rtt.toFixed(1)} ms is below ${2 * delayMs} ms`);
    if (rtt > 2 * delayMs + 60)
      throw new Error(`delay proxy round trip ${rtt.toFixed(1)} ms is far above ${2 * delayMs} ms`);
    const c = proxy.counters;
    if (
      c.requests !== 1 ||
      c.bytesUp !== request.length ||
      c.bytesDown !== request.length ||
      c.connections !== 1
    )
      throw new Error(`delay proxy counted ${JSON.stringify(c)} for one ${request.length}-byte request`);
    return rtt;
  } finally {
    await proxy.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  }
}
