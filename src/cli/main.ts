/**
 * The `aerogramme-local` command line (DESIGN.md §8: its names are a contract). This file only
 * declares commands and options; each command's code is imported when that command runs, so
 * `--help` and quick commands start fast.
 */
import { createRequire } from "node:module";
import type * as Commander from "commander";
import { SETTINGS_SCHEMA } from "../config/settingsSchema.ts";
import { describeError, EXIT } from "./exitCodes.ts";

/**
 * commander is CommonJS (its ES module entry only re-exports it): through `require` it loads in
 * ~10 ms of CPU against ~13, at every start of the binary.
 */
const { Argument, Command, CommanderError, InvalidArgumentError, Option } = createRequire(import.meta.url)(
  "commander",
) as typeof Commander;
type Command = Commander.Command;

function port(allowZero: boolean) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > 65535 || (!allowZero && n === 0))
      throw new InvalidArgumentError(`not a port number (${allowZero ? 0 : 1}-65535)`);
    return n;
  };
}

const WEAK_PASSWORD_HELP =
  "accept a new password that is easy to guess (refused otherwise; docs/cli.md says how it is judged)";

type Action = (...args: never[]) => Promise<number | void>;

/** Runs a command module's `run`, turning whatever it throws into a message and an exit code. */
function lazy<M extends { run: Action }>(load: () => Promise<M>) {
  return async (...args: unknown[]) => {
    const mod = await load();
    const code = await (mod.run as (...a: unknown[]) => Promise<number | void>)(...args.slice(0, -1));
    process.exitCode = code ?? EXIT.ok;
  };
}

/** `config set --help`: every key with what it takes (the schema's own words). */
function settingsHelp(): string {
  const lines = Object.entries(SETTINGS_SCHEMA).map(([key, schema]) => {
    const values = "enum" in schema ? ` (${schema.enum.join(", ")})` : "";
    return `  ${key.padEnd(30)} ${schema.description}${values}`;
  });
  return `\nSettings:\n${lines.join("\n")}\n`;
}

export function buildProgram(): Command {
  const program = new Command("aerogramme-local")
    .description(
      "A local IMAP server that keeps your mail encrypted in a folder or on a Garage/S3 host.\n" +
        "AEROGRAMME_LOCAL_HOME=DIR puts settings and embedded data under DIR.",
    )
    .version("0.1.0")
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      "\nExit codes (docs/cli.md): 0 ok, 1 error, 2 usage, 3 wrong password, 4 storage unavailable,\n5 already running, 6 not set up, 7 keychain, 8 damaged data, 9 already set up,\n11 a file or folder other users could read or replace, 12 port in use, 13 not running (status),\n65 not a message and 75 try again later (deliver, as sysexits), 130 interrupted (Ctrl-C).",
    );

  program
    .command("init")
    .description("set up storage, credentials and the account (interactive on a terminal, or by flags)")
    .addOption(new Option("--backend <name>", "where the mail is kept").choices(["embedded", "garage", "s3"]))
    .option("--user <name>", "IMAP login name")
    .option(
      "--password-stdin",
      "read the account password from standard input (after the secret key, if any)",
    )
    .option("--yes", "never ask: take defaults, fail on anything missing")
    .option("--data-dir <dir>", "folder of the embedded backend")
    .option("--s3-endpoint <url>", "S3 API endpoint (garage, s3)")
    .option("--k2v-endpoint <url>", "K2V API endpoint (garage)")
    .option("--region <region>", "S3 region (garage: usually 'garage')")
    .option("--bucket <bucket>", "bucket name")
    .option("--access-key-id <id>", "S3 access key id")
    .option("--secret-access-key-stdin", "read the S3 secret key from the first line of standard input")
    .option(
      "--credentials-file",
      "keep the S3 secrets in a mode-0600 file instead of the OS keychain (explicit opt-in)",
    )
    .option("--tls", "make a self-signed certificate for 127.0.0.1 and localhost and offer STARTTLS")
    .option("--allow-weak-password", WEAK_PASSWORD_HELP)
    .option(
      "--delivery-only",
      "a mail host's home for `lmtp` and `deliver`: storage credentials and the account's public key, no password",
    )
    .option("--delivery-key <file>", "with --delivery-only: the file `export-delivery-key` wrote")
    .option("--fingerprint <hex>", "with --delivery-only: the delivery key fingerprint `status` shows")
    .action(lazy(() => import("./commands/init.ts")));

  program
    .command("start")
    .description("serve IMAP in the foreground (walks through init first on a fresh machine)")
    .option("--imap-port <n>", "IMAP port (default 1143; 0 picks a free one)", port(true))
    .option("--bind <addr>", "address to listen on (default 127.0.0.1)")
    .option(
      "--lmtp-port <n>",
      "also accept LMTP deliveries on 127.0.0.1:N from the mail host (setting lmtpPort; 0: off)",
      port(true),
    )
    .option("--allow-remote", "allow --bind off loopback (needs TLS configured)")
    .option("--user <name>", "first run only: the IMAP login name")
    .option("--password-stdin", "first run only: read the new account password from standard input")
    .option("--allow-weak-password", `first run only: ${WEAK_PASSWORD_HELP}`)
    .option(
      "--log-file <file>",
      "also write the log to FILE, rotated at 10 MiB, 4 old ones kept (setting logFile)",
    )
    .action(lazy(() => import("./commands/start.ts")));

  program
    .command("status")
    .description("is the server running, which backend, is storage reachable, Thunderbird settings")
    .option("--json", "machine-readable output")
    .option("--password-stdin", "read the password from standard input to count mailboxes and messages")
    .action(lazy(() => import("./commands/status.ts")));

  program
    .command("doctor")
    .description("check every piece (keychain, storage, bucket, K2V, clock, port) and say how to fix it")
    .option("--json", "machine-readable output")
    .action(lazy(() => import("./commands/doctor.ts")));

  const passwd = program
    .command("passwd")
    .description("manage the passwords that open the account, and rekey it");
  for (const [action, text, lines] of [
    ["add", "add another password", "current password on line 1, the new one on line 2"],
    ["change", "replace a password", "current password on line 1, the new one on line 2"],
    ["remove", "remove a password (another must remain)", "the password to remove on line 1"],
  ] as const) {
    const command = passwd
      .command(action)
      .description(text)
      .option("--password-stdin", `read from standard input: ${lines}`);
    if (action !== "remove") command.option("--allow-weak-password", WEAK_PASSWORD_HELP);
    command.action(lazy(async () => ({ run: (await import("./commands/passwd.ts")).runFor(action) })));
  }
  passwd
    .command("rekey")
    .description(
      "a new master key and key pair, every stored object re-sealed under them (an old copy of the key root then opens nothing); only the password given keeps opening the account",
    )
    .option("--password-stdin", "read the account password from standard input (line 1)")
    .option("--progress", "print progress lines on stderr even when it is not a terminal")
    .action(lazy(() => import("./commands/rekey.ts")));

  program
    .command("lmtp")
    .description("serve LMTP on 127.0.0.1 for the mail host's MTA (a delivery-only home, or any home)")
    .option("--port <n>", "LMTP port (default: setting lmtpPort; 0 picks a free one)", port(true))
    .action(lazy(() => import("./commands/lmtp.ts")));

  program
    .command("export-delivery-key [file]")
    .description(
      "write the account's public key and its fingerprint (to FILE, or standard output) for `init --delivery-only` on the mail host",
    )
    .action(lazy(() => import("./commands/exportDeliveryKey.ts")));

  program
    .command("deliver")
    .description("deliver one message read from standard input (no password needed)")
    .option("--mailbox <name>", "target mailbox (INBOX when it does not exist)", "INBOX")
    .option("--json", "machine-readable output")
    .action(lazy(() => import("./commands/deliver.ts")));

  for (const name of ["import", "export"] as const) {
    program
      .command(`${name} <path>`)
      .description(
        name === "import"
          ? "import an mbox file or a Maildir into one mailbox (INBOX unless --mailbox)"
          : "export every mailbox (or one) to mbox files or Maildirs",
      )
      .addOption(
        new Option(
          "--format <format>",
          name === "import"
            ? "mbox or maildir (default: a folder with cur/ or new/ is a Maildir, a file an mbox)"
            : "mbox or maildir (default: mbox when PATH ends in .mbox or is a file, else maildir)",
        ).choices(["mbox", "maildir"]),
      )
      .option(
        "--mailbox <name>",
        name === "import" ? "target mailbox, created if missing" : "only this mailbox",
      )
      .option("--password-stdin", "read the account password from standard input")
      .option("--json", "print the summary as JSON")
      .option("--progress", "print progress on stderr even when it is not a terminal")
      .action(
        lazy(() => (name === "import" ? import("./commands/import.ts") : import("./commands/export.ts"))),
      );
  }

  program
    .command("reset")
    .description(
      "remove this home from this computer: settings, keychain entry, cache, embedded data (asks twice)",
    )
    .option("--yes", "do not ask")
    .option(
      "--delete-remote-data",
      "first delete every object and row of the account from the bucket (garage; needs the password)",
    )
    .option("--password-stdin", "read the account password from standard input")
    .action(lazy(() => import("./commands/reset.ts")));

  program
    .command("completion")
    .description("print a shell completion script: bash, zsh or fish")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh", "fish"]))
    .action(async (shell: "bash" | "zsh" | "fish") => {
      const completion = await import("./completion.ts");
      const make = {
        bash: completion.bashCompletion,
        zsh: completion.zshCompletion,
        fish: completion.fishCompletion,
      }[shell];
      process.stdout.write(make(program, Object.keys(SETTINGS_SCHEMA)));
    });

  const service = program
    .command("service")
    .description("run the server at login: a systemd user unit (Linux) or a LaunchAgent (macOS)");
  service
    .command("install")
    .description("write the unit for this home, enable it and start it now")
    .option("--print", "only print the unit, write nothing")
    .option("--no-now", "enable at login, but do not start it now")
    .action(lazy(async () => ({ run: (await import("./commands/service.ts")).install })));
  service
    .command("uninstall")
    .description("stop and disable the unit of this home, and remove its file")
    .action(lazy(async () => ({ run: (await import("./commands/service.ts")).uninstall })));
  service
    .command("status")
    .description("is the unit installed, enabled, running (exit 0 running, 13 not, 6 not installed)")
    .option("--json", "machine-readable output")
    .action(lazy(async () => ({ run: (await import("./commands/service.ts")).status })));

  const config = program
    .command("config")
    .description("read and change settings (checked against the schema)");
  config
    .command("get <key>")
    .description("print one setting")
    .action(lazy(async () => ({ run: (await import("./commands/config.ts")).get })));
  config
    .command("set <key> <value>")
    .description("change one setting (refused when the schema does not allow the value)")
    .addHelpText("after", settingsHelp)
    .action(lazy(async () => ({ run: (await import("./commands/config.ts")).set })));
  config
    .command("unset <key>")
    .description("remove one setting (back to its default)")
    .action(lazy(async () => ({ run: (await import("./commands/config.ts")).unset })));
  config
    .command("list")
    .description("print every setting, with the defaults, and where the file is")
    .option("--json", "machine-readable output")
    .action(lazy(async () => ({ run: (await import("./commands/config.ts")).list })));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // Everything this process creates is its user's alone (files 0600, folders 0700) unless a mode
  // says otherwise: the key root, the row log, the cache, the pins, and files added later (issue 12).
  process.umask(0o077);
  const program = buildProgram();
  program.exitOverride();
  for (const sub of program.commands) {
    sub.exitOverride();
    for (const leaf of sub.commands) leaf.exitOverride();
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with exitCode 0; every other commander error is a usage error.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const { message, exitCode } = describeError(err);
    process.stderr.write(`aerogramme-local: ${message}\n`);
    process.exitCode = exitCode;
  }
}
