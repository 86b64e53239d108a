/** Flags (RFC 3501 §9 flag, flag-list): system flags in their canonical case, keywords as atoms. */
import type { Cursor } from "./cursor.ts";
import { ParseError } from "./parseError.ts";

const SYSTEM = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent"];

export function flag(c: Cursor): string {
  if (c.accept("\\")) {
    const name = "\\" + c.atom("a flag name");
    const known = SYSTEM.find((f) => f.toLowerCase() === name.toLowerCase());
    if (!known) throw new ParseError(`unknown system flag ${name}`);
    return known;
  }
  const keyword = c.atom("a flag");
  // NIL is an atom by the grammar, but client parsers read it in a flag list as nothing: a keyword
  // stored as NIL would show in FETCH FLAGS as no flag at all, so it is refused, not stored.
  if (keyword.toUpperCase() === "NIL") throw new ParseError("NIL is not a valid keyword");
  return keyword;
}

/** "(" [flag *(SP flag)] ")" */
export function flagList(c: Cursor): string[] {
  c.expect("(");
  const out: string[] = [];
  if (c.accept(")")) return out;
  for (;;) {
    out.push(flag(c));
    if (c.accept(")")) return out;
    c.sp();
  }
}
