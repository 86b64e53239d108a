/**
 * What every command that opens the account with its password does next (issue 12): pin the
 * account's public key in this home, or check it against the pin (Tampered, exit 8, when storage's
 * key root holds another), and register this home's sender key. See mail/incoming/deliveryKeys.ts.
 */
import { DeliveryKeyFiles } from "../config/deliveryKeyFiles.ts";
import { writeInboxHint } from "../config/inboxHint.ts";
import type { Account } from "../mail/account.ts";
import type { Home } from "./home.ts";

export async function adoptAccountHere(
  home: Pick<Home, "paths">,
  account: Account,
  opts: { settingUp?: boolean } = {},
): Promise<void> {
  const { adoptAccount } = await import("../mail/incoming/deliveryKeys.ts");
  await adoptAccount(new DeliveryKeyFiles(home.paths), account, opts);
}

/**
 * Keeps INBOX's id as the sealed mailbox list gives it (the read openAccount started) in this
 * home's hint (config/inboxHint.ts): a computer joining an account has it before its first
 * `start`, whose first LOGIN then reads INBOX beside Argon2id.
 */
export async function keepInboxHint(home: Pick<Home, "paths">, account: Account): Promise<void> {
  const { mailboxes } = await account.listMailboxes({ loginRead: true });
  const inbox = mailboxes.find((m) => m.name === "INBOX");
  if (inbox) await writeInboxHint(home.paths, inbox.id);
}
