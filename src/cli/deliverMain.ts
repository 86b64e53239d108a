/**
 * The launcher's entry for `aerogramme-local deliver`. A mail host starts the binary once per
 * message (Postfix's pipe, fetchmail's and getmail's MDA), so this start skips commander and the
 * declaration of every other command: the arguments a mail host passes (none, `--mailbox NAME`,
 * `--mailbox=NAME`, `--json`) are read here, and anything else (help, an unknown or repeated
 * option, an extra argument) goes to `main.ts`, whose commander parse says what is wrong exactly
 * as before. Both paths run the same `commands/deliver.ts` with the same flags
 * (test/cli/deliverMain.test.ts holds this reading to commander's).
 */
import { describeError } from "./exitCodes.ts";

export interface DeliverFlags {
  mailbox: string;
  json?: true;
}

/**
 * The flags commander would give `deliver` for `args` (what follows the word `deliver`), or
 * undefined when `args` is not one of the plain forms read here. main.ts declares the options:
 * `--mailbox <name>` (default INBOX) and `--json`.
 */
export function plainDeliverFlags(args: readonly string[]): DeliverFlags | undefined {
  let mailbox: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--json" && !json) json = true;
    else if (arg.startsWith("--mailbox=") && mailbox === undefined) mailbox = arg.slice("--mailbox=".length);
    else if (
      arg === "--mailbox" &&
      mailbox === undefined &&
      i + 1 < args.length &&
      !args[i + 1]!.startsWith("-")
    )
      mailbox = args[++i]!;
    else return undefined;
  }
  return json ? { mailbox: mailbox ?? "INBOX", json: true } : { mailbox: mailbox ?? "INBOX" };
}

/** `main(argv)` of main.ts for a start whose first argument is `deliver`. */
export async function main(argv: string[]): Promise<void> {
  const flags = plainDeliverFlags(argv.slice(3));
  if (!flags) return (await import("./main.ts")).main(argv);
  // As main.ts: everything this process creates is its user's alone.
  process.umask(0o077);
  try {
    const { run } = await import("./commands/deliver.ts");
    process.exitCode = await run(flags);
  } catch (err) {
    const { message, exitCode } = describeError(err);
    process.stderr.write(`aerogramme-local: ${message}\n`);
    process.exitCode = exitCode;
  }
}
