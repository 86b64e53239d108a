/**
 * LIST patterns (RFC 3501 §6.3.8): `*` matches anything, `%` anything but the hierarchy delimiter.
 * The reference name is prefixed to the pattern. INBOX matches without regard to case.
 */
import { DELIMITER } from "../../../mail/mailboxList.ts";

export function listMatcher(reference: string, pattern: string): (name: string) => boolean {
  const full = reference + pattern;
  const source = [...full]
    .map((c) => (c === "*" ? ".*" : c === "%" ? `[^${escape(DELIMITER)}]*` : escape(c)))
    .join("");
  const re = new RegExp(`^${source}$`, "s");
  const inboxRe = new RegExp(`^${source}$`, "is");
  return (name) => re.test(name) || ((name === "INBOX" || name.startsWith("INBOX/")) && inboxRe.test(name));
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Every ancestor of a name ("a/b/c" → "a", "a/b"). */
export function ancestors(name: string): string[] {
  const parts = name.split(DELIMITER);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join(DELIMITER));
  return out;
}
