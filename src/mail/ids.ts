import { randomBytes } from "../crypto/aead.ts";

/** A random id for a message or a mailbox: 16 random bytes in hex. Never derived from content or time. */
export function newMailId(): string {
  return Buffer.from(randomBytes(16)).toString("hex");
}

/** Whether `text` has the form newMailId gives (32 lower-case hex digits). */
export function isMailId(text: string): boolean {
  return /^[0-9a-f]{32}$/.test(text);
}
