/** `init`: set up this home (see setup/initFlow.ts), then say what to type into Thunderbird. */
import { canAsk, terminalAsker } from "../asker.ts";
import { CliError, EXIT } from "../exitCodes.ts";
import { openHome } from "../home.ts";
import { runInitFlow, type InitFlags, type InitResult } from "../setup/initFlow.ts";
import { thunderbirdSettings } from "../thunderbird.ts";

export async function run(flags: InitFlags): Promise<number> {
  const home = await openHome();
  // A delivery-only home may be set up again: after a rekey its pinned key is retired (the new
  // fingerprint must then be checked as the first one was).
  const repin = flags.deliveryOnly && home.settings.all().role === "delivery-only";
  if (home.settings.isSetUp() && !repin) {
    const s = home.settings.all();
    throw new CliError(
      `this home is already set up (backend ${s.backend}, user ${s.user}; settings in ${home.settings.path}). ` +
        "To use it, run `aerogramme-local start`. To set up another one, point AEROGRAMME_LOCAL_HOME at an empty folder.",
      EXIT.alreadySetUp,
    );
  }
  const asker =
    canAsk(flags.yes) && !flags.passwordStdin && !flags.secretAccessKeyStdin ? await terminalAsker() : null;
  const result = await runInitFlow(home, flags, asker);
  if (result.deliveryOnly) {
    process.stdout.write(
      `Set up a delivery-only home for "${home.settings.all().user}" in ${result.settings.backend} storage.\n` +
        `Pinned the account's public key, fingerprint ${result.deliveryOnly.fingerprint}.\n` +
        "This home seals mail to the account and holds nothing that opens it (no password, no master key).\n" +
        "\nNext: run `aerogramme-local lmtp --port 2424` (or another port) and point the MTA at lmtp:inet:127.0.0.1:PORT.\n",
    );
    return EXIT.ok;
  }
  process.stdout.write(summary(result, home.settings.all()));
  return EXIT.ok;
}

/** What init made, and the client settings; `next: false` inside `start`, which is already running. */
export function summary(
  result: InitResult,
  s: { imapHost: string; imapPort: number; user?: string },
  opts: { next: boolean } = { next: true },
): string {
  const lines = [
    result.joined
      ? `Joined the existing account in ${result.settings.backend} storage.`
      : `Created the account "${s.user}" in ${result.settings.backend} storage.`,
  ];
  if (result.settings.credentialsStore === "file")
    lines.push(
      "The S3 secrets are in the credentials file (mode 0600), as you asked, not in the OS keychain.",
    );
  else if (result.settings.keychainAccount)
    lines.push(
      `The S3 secrets are in the OS keychain (service aerogramme-local, entry ${result.settings.keychainAccount}).`,
    );
  if (result.certificate)
    lines.push(
      `STARTTLS certificate for 127.0.0.1 and localhost: ${result.certificate.certFile}`,
      `  SHA-256 fingerprint: ${result.certificate.sha256Fingerprint}`,
      `  (check that Thunderbird shows this same fingerprint before accepting it)`,
    );
  return (
    `${lines.join("\n")}\n\n` +
    thunderbirdSettings({
      host: s.imapHost,
      port: s.imapPort,
      user: s.user ?? "",
      starttls: Boolean(result.certificate),
    }) +
    (opts.next ? "\nNext: run `aerogramme-local start`.\n" : "")
  );
}
