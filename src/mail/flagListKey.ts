/**
 * The key that tells one flag list from another in the tables that share lists (uidIndex.ts
 * internFlags, ShownMessages' list table, the UidIndex codec). Each flag goes in with its length
 * first: joined with a space, ["a b"] and ["a", "b"] made one key and so one list. IMAP flags are
 * atoms (RFC 3501 §9) with no space, but a list comes from op rows any computer of the account
 * writes, and a faulty one must not turn one message's flags into another list.
 */
export function flagListKey(flags: readonly string[]): string {
  let key = "";
  for (const flag of flags) key += `${flag.length}:${flag}`;
  return key;
}

/** Whether two flag lists hold the same flags in the same order. */
export function sameFlagList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
