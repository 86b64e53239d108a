/** Flag lists on the wire, and what a client may set (RFC 3501 §2.3.2). */
export function flagList(flags: readonly string[]): string {
  return `(${flags.join(" ")})`;
}

/** \Recent cannot be set by a client (RFC 3501 §2.3.2); it is dropped from STORE and APPEND. */
export function settableFlags(flags: readonly string[]): string[] {
  return flags.filter((f) => f.toLowerCase() !== "\\recent");
}
