/** Talks to a running `start` through its control socket (see protocol.ts). */
import { connect } from "node:net";
import { AppError, type ErrorCode } from "../../errors.ts";
import type { ControlRequest, ControlResponse } from "../../daemon/control/protocol.ts";

/**
 * The server's answer, or null when no server listens on `path`. An error the server reports comes
 * back as an AppError with the server's code, so the exit code is the same as when run directly.
 */
export async function callControl(
  path: string,
  request: ControlRequest,
  timeoutMs = 30_000,
): Promise<unknown> {
  const response = await new Promise<ControlResponse | null>((resolve, reject) => {
    const socket = connect(path);
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new AppError("UNAVAILABLE", `the running server did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${JSON.stringify(request)}\n`));
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
