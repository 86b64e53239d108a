/**
 * The control socket of a running `start`: how `status` and `passwd` reach it while it holds the
 * store (DESIGN.md §8: no command fails merely because the server is running).
 *
 * Who may talk to it (issue 12). Node cannot read a Unix socket peer's credentials (no
 * SO_PEERCRED or getpeereid binding in the standard library, and no maintained package for it), so
 * the peer is vouched for by the file system instead: the socket (mode 0600, created so under a
 * umask) sits in a folder that is ours and 0700 (made or tightened here, refused when anybody else
 * owns it or it is a link where none may be). To connect to a Unix socket a process needs search
 * permission on its folder and write permission on the socket itself: with both ours and closed to
 * group and others, only our uid and root can connect, and root can read our memory anyway. Each
 * connection re-checks the folder and the socket before a byte is read: if either was opened up
 * since (a careless `chmod -R`), the peer may be anyone, and the connection is closed unanswered.
 */
import { chmod, lstat, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { ensurePrivateFolder, isPrivateFolder, ourUid } from "../../config/privateFolder.ts";
import type { HomePaths } from "../../config/homePaths.ts";
import { AppError } from "../../errors.ts";
import type { Log } from "../../log.ts";
import { socketAnswers } from "./socketProbe.ts";
import {
  MAX_REQUEST_BYTES,
  requestBodyBytes,
  type ControlRequest,
  type ControlResponse,
} from "./protocol.ts";

/** Answers a request; `body` holds the bytes that followed its line (empty for most requests). */
export type ControlHandler = (request: ControlRequest, body: Buffer) => Promise<unknown>;

export interface ControlServer {
  close(): Promise<void>;
}

export async function startControlServer(
  paths: Pick<HomePaths, "controlSocket" | "controlSocketFolder">,
  handle: ControlHandler,
  log: Log,
): Promise<ControlServer> {
  const path = paths.controlSocket;
  const folder = { what: "the control socket's folder", ...paths.controlSocketFolder };
  await ensurePrivateFolder(folder.path, folder);
  // A socket file left by a crashed server answers nobody: remove it. One that answers is a live
  // server, which the caller has already ruled out, so this only ever removes stale files.
  if (!(await socketAnswers(path, 2_000))) await rm(path, { force: true });
  const sockets = new Set<Socket>();
  let warned = false;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.pause();
    void stillPrivate(folder, path).then((ok) => {
      if (ok) {
        warned = false;
        return serve(socket, handle, log);
      }
      socket.destroy();
      if (!warned)
        log(
          "warn",
          `control socket: ${path} or its folder can now be reached by other users; requests are refused until \`chmod 700 ${folder.path}\` and \`chmod 600 ${path}\` (or a restart)`,
        );
      warned = true;
    });
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

/** The folder is still 0700 and ours, and the socket still ours and closed to others. */
async function stillPrivate(
  folder: { path: string; followLinks: boolean; what: string },
  path: string,
): Promise<boolean> {
  if (!(await isPrivateFolder(folder.path, folder))) return false;
  try {
    const info = await lstat(path);
    const uid = ourUid();
    return info.isSocket() && (uid === undefined || info.uid === uid) && (info.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

function serve(socket: Socket, handle: ControlHandler, log: Log): void {
  const chunks: Buffer[] = [];
  let received = 0;
  let request: ControlRequest | undefined;
  // Where the body starts in what was received, and how long it is (known once the line is read).
  let bodyStart = 0;
  let bodyBytes = 0;
  let answered = false;
  socket.setTimeout(60_000, () => socket.destroy());
  const reply = (response: ControlResponse) => {
    answered = true;
    socket.end(`${JSON.stringify(response)}\n`);
  };
  socket.on("data", (chunk: Buffer) => {
    if (answered) return;
    chunks.push(chunk);
    received += chunk.length;
    if (!request) {
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(0x0a);
      if (nl < 0 ? all.length > MAX_REQUEST_BYTES : nl > MAX_REQUEST_BYTES)
        return reply({ ok: false, code: "INVALID", message: "request too long" });
      if (nl < 0) return;
      try {
        request = JSON.parse(all.subarray(0, nl).toString("utf8")) as ControlRequest;
      } catch {
        return reply({ ok: false, code: "INVALID", message: "the request is not JSON" });
      }
      const bytes = requestBodyBytes(request);
      if (bytes === undefined)
        return reply({
          ok: false,
          code: "INVALID",
          message: "the request announces a body it may not carry",
        });
      bodyStart = nl + 1;
      bodyBytes = bytes;
      chunks.splice(0, chunks.length, all);
    }
    if (received > bodyStart + bodyBytes)
      return reply({ ok: false, code: "INVALID", message: "more bytes than the request announced" });
    if (received < bodyStart + bodyBytes) return;
    answered = true;
    const body = Buffer.concat(chunks).subarray(bodyStart);
    chunks.length = 0;
    // Any JSON may have come: the handler refuses what is no request, and this names it safely.
    const op = String((request as { op?: unknown } | null)?.op);
    handle(request, body).then(
      (result) => socket.end(`${JSON.stringify({ ok: true, result })}\n`),
      (err: unknown) => {
        const code = err instanceof AppError ? err.code : "ERROR";
        const message = err instanceof Error ? err.message : String(err);
        if (!(err instanceof AppError)) log("error", `control request "${op}" failed: ${message}`);
        socket.end(`${JSON.stringify({ ok: false, code, message })}\n`);
      },
    );
  });
  socket.resume(); // paused while the folder was checked; a "data" listener alone does not resume it
}
