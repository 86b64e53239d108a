/**
 * The control socket of a running `start`: how `status` and `passwd` reach it while it holds the
 * store (DESIGN.md §8: no command fails merely because the server is running).
 */
import { chmod, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { AppError } from "../../errors.ts";
import type { Log } from "../../log.ts";
import { socketAnswers } from "./socketProbe.ts";
import { MAX_REQUEST_BYTES, type ControlRequest, type ControlResponse } from "./protocol.ts";

export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

export interface ControlServer {
  close(): Promise<void>;
}

export async function startControlServer(
  path: string,
  handle: ControlHandler,
  log: Log,
): Promise<ControlServer> {
  // A socket file left by a crashed server answers nobody: remove it. One that answers is a live
  // server, which the caller has already ruled out, so this only ever removes stale files.
  if (!(await socketAnswers(path, 2_000))) await rm(path, { force: true });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serve(socket, handle, log);
  });
  // The mode is set by umask at bind time, so the socket is never reachable by others, not even briefly.
  const oldMask = process.umask(0o177);
  try {
    await listen(server, path);
  } finally {
    process.umask(oldMask);
  }
  await chmod(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.end();
        void rm(path, { force: true });
      }),
  };
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function serve(socket: Socket, handle: ControlHandler, log: Log): void {
  let buffered = "";
  let answered = false;
  socket.setEncoding("utf8");
  socket.setTimeout(60_000, () => socket.destroy());
  const reply = (response: ControlResponse) => {
    answered = true;
    socket.end(`${JSON.stringify(response)}\n`);
  };
  socket.on("error", () => {});
  socket.on("data", (chunk: string) => {
    if (answered) return;
    buffered += chunk;
    if (buffered.length > MAX_REQUEST_BYTES)
      return reply({ ok: false, code: "INVALID", message: "request too long" });
    const nl = buffered.indexOf("\n");
    if (nl < 0) return;
    let request: ControlRequest;
    try {
      request = JSON.parse(buffered.slice(0, nl)) as ControlRequest;
    } catch {
      return reply({ ok: false, code: "INVALID", message: "the request is not JSON" });
    }
    answered = true;
    handle(request).then(
      (result) => socket.end(`${JSON.stringify({ ok: true, result })}\n`),
      (err: unknown) => {
        const code = err instanceof AppError ? err.code : "ERROR";
        const message = err instanceof Error ? err.message : String(err);
        if (!(err instanceof AppError)) log("error", `control request "${request.op}" failed: ${message}`);
        socket.end(`${JSON.stringify({ ok: false, code, message })}\n`);
      },
    );
  });
}
