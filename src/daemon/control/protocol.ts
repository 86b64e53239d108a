/**
 * The control socket's protocol: one JSON request line, one JSON response line, then the server
 * closes. The socket is a Unix socket of mode 0600 in the home's folder, so only its owner can
 * talk to it; passwords sent here never touch argv, the environment or a file.
 *
 * Long work (import, export) keeps that shape: the request starts a job and answers its id at
 * once; the client then asks `job` every half second for its progress, and the last answer is its
 * summary or its error. A job nobody asks about for 30 s is cancelled (its client went away).
 * A delivered message is bigger than a request line may be: the `deliver` request says how many
 * bytes follow its line, and the message follows it, raw (see `requestBodyBytes`).
 */
import type { CacheFillProgress } from "../../mail/cacheFill.ts";
import type { SearchIndexProgress } from "../../mail/search/index.ts";
import type { RekeyState } from "../rekeyRunner.ts";

export type PasswdAction = "add" | "change" | "remove";

export type TransferFormat = "mbox" | "maildir";

export interface TransferRequest {
  password: string;
  /** Absolute: the server reads or writes it, and its working folder is not the client's. */
  path: string;
  format?: TransferFormat;
  mailbox?: string;
}

export type ControlRequest =
  | { op: "status"; password?: string }
  | { op: "passwd"; action: PasswdAction; current: string; next?: string }
  | DeliverRequest
  | { op: "rekey"; password: string }
  | ({ op: "import" } & TransferRequest)
  | ({ op: "export" } & TransferRequest)
  | { op: "job"; job: string };

/** One message for the account, whose `bytes` bytes follow the request line. */
export interface DeliverRequest {
  op: "deliver";
  mailbox: string;
  /** Milliseconds since the epoch: the INTERNALDATE the message gets. */
  internalDate: number;
  bytes: number;
}

/** What `deliver` learns from the server: whether the message is already in its mailbox. */
export interface DeliverResult {
  queued: string;
  filed: boolean;
  /** The mailbox it was filed into, once filed (the one asked for, or INBOX when that does not exist). */
  filedInto?: string;
  moverRunning: boolean;
}

export interface JobStatus {
  state: "running" | "done";
  progress?: {
    messages: number;
    bytes: number;
    totalMessages?: number;
    totalBytes?: number;
    elapsedMs: number;
  };
  summary?: unknown;
}

export interface ServerStatus {
  pid: number;
  startedAt: string;
  imap: { host: string; port: number; starttls: boolean };
  /** Where LMTP listens, when it does. */
  lmtp?: { host: string; port: number };
  backend: string;
  storage: { reachable: boolean; detail: string; roundTripMs?: number };
  mailboxes?: { name: string; messages: number }[];
  /** The background fill of the local cache, once a login started it. */
  cacheFill?: CacheFillProgress;
  /** The local search index, once a login has opened the account (mail/search/searchIndex.ts). */
  searchIndex?: SearchIndexProgress;
  /** The rekey this server ran or runs since it started (daemon/rekeyRunner.ts). */
  rekey?: RekeyState;
  /** Where the log goes besides standard error: the log file, the journal (run by systemd). */
  logs?: { file?: string; journal: boolean };
  /** The latest warning or error logged, with its time. */
  lastProblem?: { at: string; level: "warn" | "error"; message: string };
}

export type ControlResponse = { ok: true; result: unknown } | { ok: false; code: string; message: string };

/** A request line longer than this is refused (nothing legitimate comes close). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** The largest message a `deliver` request may carry after its line: `deliver`'s own limit. */
export const MAX_DELIVER_BYTES = 64 * 1024 * 1024;

/**
 * How many bytes follow the request line: a `deliver` request's `bytes`, 0 for every other request;
 * undefined when that is not a whole number from 0 to MAX_DELIVER_BYTES (the request is refused).
 */
export function requestBodyBytes(request: ControlRequest): number | undefined {
  // Any JSON may come (null, a number): what is not a deliver request carries nothing.
  if (typeof request !== "object" || request === null || request.op !== "deliver") return 0;
  const bytes: unknown = request.bytes;
  return Number.isInteger(bytes) && (bytes as number) >= 0 && (bytes as number) <= MAX_DELIVER_BYTES
    ? (bytes as number)
    : undefined;
}
