/**
 * The few error classes of the project. Each is thrown where the fault is found and mapped once,
 * at the edge: to an IMAP response code in server/, to a message and exit code in cli/.
 */
export type ErrorCode =
  | "AUTH_FAILED"
  | "UNAVAILABLE"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "TAMPERED"
  | "WRONG_CONTEXT"
  | "TRUNCATED"
  | "CONFLICT"
  | "LOCKED"
  | "INVALID"
  | "TOO_BIG";

export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The password does not open any entry of the key root. */
export class AuthFailed extends AppError {
  constructor(message = "wrong password: it opens no entry of this account's key root") {
    super("AUTH_FAILED", message);
  }
}

/** Storage could not be reached or kept failing after retries. */
export class Unavailable extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("UNAVAILABLE", message, options);
  }
}

/**
 * The account moved to a newer key epoch on another computer (`passwd rekey`): this process holds
 * only older keys, and writes nothing more until the account is unlocked again.
 */
export class Rekeyed extends Unavailable {}

export class NotFound extends AppError {
  constructor(message: string) {
    super("NOT_FOUND", message);
  }
}

export class AlreadyExists extends AppError {
  constructor(message: string) {
    super("ALREADY_EXISTS", message);
  }
}

/** Ciphertext failed authentication: changed bytes, or not made by our keys. */
export class Tampered extends AppError {
  constructor(message: string) {
    super("TAMPERED", message);
  }
}

/**
 * Sealed under a key epoch older than the account's current one and no longer held: a copy made
 * before a rekey finished (a local cache keeps them), or one a host put back. Never opened; a
 * caller that read it from a local copy may drop that copy and read storage again, whose answer is
 * then opened and checked as usual.
 */
export class StaleEpoch extends Tampered {}

/**
 * Storage went back behind what this computer already saw (a dropped op row, a hidden checkpoint,
 * an older row or a restored copy of the bucket): authentic objects, but not the newest ones.
 */
export class RolledBack extends Tampered {}

/** Ciphertext is authentic but was sealed for another place or purpose (a swapped blob). */
export class WrongContext extends AppError {
  constructor(message: string) {
    super("WRONG_CONTEXT", message);
  }
}

/** A stream ended before its final chunk. */
export class Truncated extends AppError {
  constructor(message: string) {
    super("TRUNCATED", message);
  }
}

export class Conflict extends AppError {
  constructor(message: string) {
    super("CONFLICT", message);
  }
}

/** Another process holds the store. */
export class Locked extends AppError {
  constructor(message: string) {
    super("LOCKED", message);
  }
}

export class Invalid extends AppError {
  constructor(message: string) {
    super("INVALID", message);
  }
}

export class TooBig extends AppError {
  constructor(message: string) {
    super("TOO_BIG", message);
  }
}
