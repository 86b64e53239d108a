/**
 * A mailbox name as it goes on the wire: modified UTF-7 (RFC 3501 §5.1.3), or, once the client
 * enabled UTF-8 names (RFC 6855 §3, RFC 9051 §5.1), the name itself; then quoted if it can be.
 */
import { encodeMailboxName } from "../parser/mutf7.ts";
import { quotedOrLiteral, quotedUtf8OrLiteral } from "./wire.ts";

export function mailboxWire(name: string, utf8: boolean): string {
  return utf8 ? quotedUtf8OrLiteral(name) : quotedOrLiteral(encodeMailboxName(name));
}
