/**
 * What every command that opens the account with its password does next (issue 12): pin the
 * account's public key in this home, or check it against the pin (Tampered, exit 8, when storage's
 * key root holds another), and register this home's sender key. See mail/incoming/deliveryKeys.ts.
 */
import { DeliveryKeyFiles } from "../config/deliveryKeyFiles.ts";
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
