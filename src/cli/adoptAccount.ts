/**
 * What every command that opens the account with its password does next (issue 12): pin the
 * account's public key in this home, or check it against the pin (Tampered, exit 8, when storage's
 * key root holds another), and register this home's sender key. See mail/incoming/deliveryKeys.ts.
 */
import { DeliveryKeyFiles } from "../config/deliveryKeyFiles.ts";
import { readInboxHint, writeInboxHint } from "../config/inboxHint.ts";
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
 * home's hint (config/inboxHint.ts), when it is not there already: a computer joining an account
 * (`init`), or one that filled it (`import`), has it before its next `start`, whose first LOGIN
 * then reads INBOX beside Argon2id. Never fails the command: it is only a hint.
 */
export async function keepInboxHint(home: Pick<Home, "paths">, account: Account): Promise<void> {
  try {
    const { mailboxes } = await account.listMailboxes({ loginRead: true });
    const inbox = mailboxes.find((m) => m.name === "INBOX");
    if (inbox && (await readInboxHint(home.paths)) !== inbox.id) await writeInboxHint(home.paths, inbox.id);
  } catch {
    // No hint kept: the next LOGIN reads INBOX after the unlock, as without one.
  }
}
