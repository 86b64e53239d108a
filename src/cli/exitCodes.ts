/**
 * Exit codes of every command (documented in docs/cli.md), and the one place where an error becomes
 * a message and an exit code.
 */
import { AppError } from "../errors.ts";
import { KeychainUnavailable } from "../config/keychain.ts";
import { UnsafeCredentialsFile } from "../config/credentialsFile.ts";
import { NotPrivate } from "../config/privateFolder.ts";

export const EXIT = {
  ok: 0,
  /** Any other failure; `doctor` when a check failed. */
  error: 1,
  /** Bad flags, missing flags, a value the schema refuses. */
  usage: 2,
  /** Wrong password. */
  authFailed: 3,
  /** Storage unreachable, credentials refused, bucket missing. */
  storageUnavailable: 4,
  /** A server already runs for this home, or another process holds the data folder. */
  alreadyRunning: 5,
  /** No settings or no account here yet: run init. */
  notSetUp: 6,
  /** No usable keychain, or an unsafe credentials file. */
  keychain: 7,
  /** Stored data failed authentication (tampered, swapped or truncated). */
  damaged: 8,
  /** init on a home that is already set up. */
  alreadySetUp: 9,
  /**
   * A folder or file that other users could read or replace: the control socket or its folder made
   * by someone else, a home folder that belongs to another user (issue 12).
   */
  notPrivate: 11,
  /** The IMAP (or LMTP) port is taken by another program, or needs the administrator. */
  portInUse: 12,
  /** `status`: the server does not run for this home (as `systemctl is-active` answers 3). */
  notRunning: 13,
  /** `deliver`: the input is not a message (sysexits EX_DATAERR: a mail fetcher bounces it). */
  dataErr: 65,
  /** `deliver`: storage unreachable or too slow now (sysexits EX_TEMPFAIL: the fetcher keeps the mail and retries). */
  tempFail: 75,
  /** Interrupted (Ctrl-C at a prompt). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error raised by the command line itself, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

/** What the user sees for `err`, and the exit code. Messages from src/errors.ts already say what to do. */
export function describeError(err: unknown): { message: string; exitCode: ExitCode } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof NotPrivate) return { message: err.message, exitCode: EXIT.notPrivate };
  if (err instanceof KeychainUnavailable || err instanceof UnsafeCredentialsFile)
    return { message: err.message, exitCode: EXIT.keychain };
  if (err instanceof AppError) {
    switch (err.code) {
      case "AUTH_FAILED":
        return { message: `${err.message}. Check the password and try again.`, exitCode: EXIT.authFailed };
      case "UNAVAILABLE":
        return { message: withDoctorHint(err.message), exitCode: EXIT.storageUnavailable };
      case "LOCKED":
        return { message: err.message, exitCode: EXIT.alreadyRunning };
      case "NOT_FOUND":
        return { message: err.message, exitCode: EXIT.notSetUp };
      case "ALREADY_EXISTS":
        return { message: err.message, exitCode: EXIT.alreadySetUp };
      case "TAMPERED":
      case "WRONG_CONTEXT":
      case "TRUNCATED":
        return {
          message: `stored data failed its integrity check: ${err.message}. Someone or something changed it; do not trust this storage until checked.`,
          exitCode: EXIT.damaged,
        };
      case "INVALID":
        return { message: err.message, exitCode: EXIT.usage };
      default:
        return { message: err.message, exitCode: EXIT.error };
    }
  }
  if (isPromptInterrupt(err))
    return { message: "interrupted: nothing was saved", exitCode: EXIT.interrupted };
  const text = err instanceof Error ? err.message : String(err);
  return { message: `unexpected error: ${text}`, exitCode: EXIT.error };
}

function withDoctorHint(message: string): string {
  return /doctor/.test(message) ? message : `${message}. Check with \`aerogramme-local doctor\`.`;
}

/** @inquirer/prompts rejects with ExitPromptError on Ctrl-C. */
export function isPromptInterrupt(err: unknown): boolean {
  return err instanceof Error && (err.name === "ExitPromptError" || err.name === "AbortPromptError");
}
