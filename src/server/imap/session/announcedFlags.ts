/**
 * The flags a session has announced for its selected mailbox. RFC 3501 §7.2.6: the FLAGS response
 * lists the flags the mailbox uses, and a client may take a keyword it was never told of for a
 * protocol error. So when a keyword first shows up (set by this session, another one, or another
 * computer), an untagged FLAGS and PERMANENTFLAGS listing it go out before any FETCH that shows it.
 * Keywords compare without case (RFC 3501 §2.3.2 flags are case-insensitive); the first spelling
 * seen is the one listed.
 */
export const SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];

export class AnnouncedFlags {
  /** Lower-cased keyword -> spelling announced. */
  private readonly keywords = new Map<string, string>();
  /** Flag lists already checked: entries share a few interned arrays (mail/uidIndex.ts). */
  private readonly checked = new WeakSet<readonly string[]>();

  /** `flagLists`: the flag lists the mailbox's messages hold (each list once is enough). */
  constructor(flagLists: Iterable<readonly string[]>) {
    for (const flags of flagLists) this.learn(flags);
  }

  /** Adds the keywords of `flags` not announced yet; true when there was one. */
  learn(flags: readonly string[]): boolean {
    if (this.checked.has(flags)) return false;
    let added = false;
    for (const f of flags) {
      if (f.startsWith("\\")) continue;
      const key = f.toLowerCase();
      if (this.keywords.has(key)) continue;
      this.keywords.set(key, f);
      added = true;
    }
    if (Object.isFrozen(flags)) this.checked.add(flags);
    return added;
  }

  /** The untagged FLAGS and PERMANENTFLAGS lines (without "* "), as SELECT sends them. */
  lines(readOnly: boolean): string[] {
    const flags = [...SYSTEM_FLAGS, ...[...this.keywords.values()].sort()];
    return [
      `FLAGS (${flags.join(" ")})`,
      readOnly
        ? "OK [PERMANENTFLAGS ()] read-only mailbox"
        : `OK [PERMANENTFLAGS (${[...flags, "\\*"].join(" ")})] flags permitted`,
    ];
  }
}
