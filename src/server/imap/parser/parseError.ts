/** Thrown inside the grammar when input does not parse; the parser turns it into BAD (or NO). */
export class ParseError extends Error {
  constructor(
    message: string,
    readonly status: "BAD" | "NO" = "BAD",
    readonly code?: string,
  ) {
    super(message);
  }
}
