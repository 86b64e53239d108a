/** A mailbox name as it goes on the wire: modified UTF-7 (RFC 3501 §5.1.3), then quoted if needed. */
import { encodeMailboxName } from "../parser/mutf7.ts";
import { quotedOrLiteral } from "./wire.ts";

export function mailboxWire(name: string): string {
  return quotedOrLiteral(encodeMailboxName(name));
}
