/** Talks to a running `start` through its control socket (see protocol.ts). */
import { connect } from "node:net";
import type { HomePaths } from "../../config/homePaths.ts";
import { checkNobodyElseWrites, checkOurSocket } from "../../config/privateFolder.ts";
import { AppError, type ErrorCode } from "../../errors.ts";
import type { ControlRequest, ControlResponse } from "../../daemon/control/protocol.ts";

/**
 * The server's answer, or null when no server listens on this home's socket. An error the server
 * reports comes back as an AppError with the server's code, so the exit code is the same as when
 * run directly. `body`, when given, is sent right after the request line (a `deliver` request's
 * message, whose length the request states).
 *
 * Requests carry passwords, so nothing is sent before two checks (issue 12): the socket's folder
 * is one where nobody else can create a file (ours, not writable by group or others), and the
 * socket is ours. Either failing is NotPrivate (exit 11), never "no server": the caller must not
 * go on as if nobody were there. Only we can change that folder, so what was checked is what we
 * connect to.
 */
export async function callControl(
  paths: Pick<HomePaths, "controlSocket" | "controlSocketFolder">,
  request: ControlRequest,
  timeoutMs = 30_000,
  body?: Uint8Array,
): Promise<unknown> {
  const path = paths.controlSocket;
  const folder = paths.controlSocketFolder;
  if (!(await checkNobodyElseWrites(folder.path, { what: "the control socket's folder", ...folder })))
    return null;
  if (!(await checkOurSocket(path))) return null;
  const response = await new Promise<ControlResponse | null>((resolve, reject) => {
    const socket = connect(path);
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new AppError("UNAVAILABLE", `the running server did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      socket.write(`${JSON.stringify(request)}\n`);
      if (body) socket.write(body);
    });
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("end", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(text) as ControlResponse);
      } catch {
        reject(
          new AppError("UNAVAILABLE", "the running server gave an unreadable answer on its control socket"),
        );
      }
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === "ENOENT" || err.code === "ECONNREFUSED" || err.code === "ENOTSOCK") resolve(null);
      else reject(err);
    });
  });
  if (response === null) return null;
  if (response.ok) return response.result;
  if ((CODES as string[]).includes(response.code))
    throw new AppError(response.code as ErrorCode, response.message);
  throw new Error(response.message);
}

const CODES: ErrorCode[] = [
  "AUTH_FAILED",
  "UNAVAILABLE",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "TAMPERED",
  "WRONG_CONTEXT",
  "TRUNCATED",
  "CONFLICT",
  "LOCKED",
  "INVALID",
  "TOO_BIG",
];
