/**
 * `export-delivery-key [FILE]`, on the user's own computer: the account's public key as this home
 * pinned it, with its fingerprint, for `init --delivery-only --delivery-key FILE` on the mail host
 * (mail/incoming/deliveryKeyExport.ts). Standard output without FILE. The key opens no mail.
 */
import { writeFile } from "node:fs/promises";
import { DeliveryKeyFiles } from "../../config/deliveryKeyFiles.ts";
import { notPinned } from "../../mail/incoming/deliveryKeys.ts";
import { deliveryKeyFingerprint, formatDeliveryKeyFile } from "../../mail/incoming/deliveryKeyExport.ts";
import { EXIT } from "../exitCodes.ts";
import { openExistingHome, requireSetUp } from "../home.ts";

export async function run(file: string | undefined): Promise<number> {
  const home = await openExistingHome();
  const settings = requireSetUp(home);
  const keys = new DeliveryKeyFiles(home.paths);
  const publicKey = await keys.readPublicKey();
  if (!publicKey) throw notPinned(keys.where);
  const text = formatDeliveryKeyFile({ user: settings.user!, publicKey });
  if (file === undefined) {
    process.stdout.write(text);
    return EXIT.ok;
  }
  await writeFile(file, text, { mode: 0o644 });
  process.stdout.write(
    `Wrote the delivery key of "${settings.user}" to ${file} (fingerprint ${deliveryKeyFingerprint(publicKey)}).\n` +
      "Copy it to the mail host and run there: aerogramme-local init --delivery-only --delivery-key FILE\n",
  );
  return EXIT.ok;
}
