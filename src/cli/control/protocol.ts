/**
 * The control socket's protocol: one JSON request line, one JSON response line, then the server
 * closes. The socket is a Unix socket of mode 0600 in the home's folder, so only its owner can
 * talk to it; passwords sent here never touch argv, the environment or a file.
 */

export type PasswdAction = "add" | "change" | "remove";

export type ControlRequest =
  | { op: "status"; password?: string }
  | { op: "passwd"; action: PasswdAction; current: string; next?: string };

export interface ServerStatus {
  pid: number;
  startedAt: string;
  imap: { host: string; port: number; starttls: boolean };
  lmtp?: { host: string; port: number };
  backend: string;
  storage: { reachable: boolean; detail: string };
  mailboxes?: { name: string; messages: number }[];
}

export type ControlResponse = { ok: true; result: unknown } | { ok: false; code: string; message: string };

/** A request line longer than this is refused (nothing legitimate comes close). */
export const MAX_REQUEST_BYTES = 64 * 1024;
