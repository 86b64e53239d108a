/** Flag lists on the wire, and what a client may set (RFC 3501 §2.3.2). */

/**
 * Wire forms of the interned (frozen) flag lists a mailbox's messages share (mail/uidIndex.ts
 * internFlags): a FETCH of 10,000 messages formats a handful of lists, not 10,000.
 */
const wireForms = new WeakMap<readonly string[], string>();

export function flagList(flags: readonly string[]): string {
  const known = wireForms.get(flags);
  if (known !== undefined) return known;
  const wire = `(${flags.join(" ")})`;
  if (Object.isFrozen(flags)) wireForms.set(flags, wire);
  return wire;
}

/** \Recent cannot be set by a client (RFC 3501 §2.3.2); it is dropped from STORE and APPEND. */
export function settableFlags(flags: readonly string[]): string[] {
  return flags.filter((f) => f.toLowerCase() !== "\\recent");
}
