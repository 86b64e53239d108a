import { randomBytes } from "../crypto/aead.ts";

/** A random id for a message or a mailbox: 16 random bytes in hex. Never derived from content or time. */
export function newMailId(): string {
  return Buffer.from(randomBytes(16)).toString("hex");
}
