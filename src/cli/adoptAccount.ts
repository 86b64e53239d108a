/**
 * What every command that opens the account with its password does next (issue 12): pin the
 * account's public key in this home, or check it against the pin (Tampered, exit 8, when storage's
 * key root holds another), and register this home's sender key. See mail/incoming/deliveryKeys.ts.
 */
import { DeliveryKeyFiles } from "../config/deliveryKeyFiles.ts";
import type { Account } from "../mail/account.ts";
import type { Home } from "./home.ts";
import { loadIncoming, type AccountHandle } from "./lateModules.ts";

export async function adoptAccountHere(
  home: Pick<Home, "paths">,
  account: AccountHandle,
  opts: { settingUp?: boolean } = {},
): Promise<void> {
  const { adoptAccount } = await loadIncoming();
  // The mail layer hands out the real Account; lateModules only describes the part the CLI uses.
  await adoptAccount(new DeliveryKeyFiles(home.paths), account as unknown as Account, opts);
}
