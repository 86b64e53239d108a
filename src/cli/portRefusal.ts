/**
 * A port the server cannot listen on, as a message that says which port, what holds it when this
 * computer can tell, and how to pick another (issue 16): exit 12.
 */
import { CliError, EXIT } from "./exitCodes.ts";
import { portHolder } from "./portHolder.ts";

export interface PortUse {
  /** "IMAP" or "LMTP". */
  what: string;
  port: number;
  /** The setting that chose the port, for `config set KEY N`. */
  setting: string;
  /** The port came from the command line (`--imap-port N`), not the setting. */
  fromFlag: boolean;
}

/** A CliError for a listen error the user can fix (port taken, privileged port); undefined otherwise. */
export async function portRefusal(err: unknown, use: PortUse): Promise<CliError | undefined> {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const flag = `--${use.setting.replace(/Port$/, "").toLowerCase()}-port`;
  const fix = use.fromFlag
    ? `pick another with \`${flag} N\` (0 picks a free one)`
    : `pick another with \`aerogramme-local config set ${use.setting} N\`, or for one run \`${flag} N\``;
  if (code === "EADDRINUSE") {
    const holder = await portHolder(use.port).catch(() => undefined);
    const who = holder
      ? `process ${holder.pid} (${holder.command}) listens on it`
      : "another program listens on it";
    return new CliError(
      `the ${use.what} port ${use.port} is already in use: ${who}. Stop that program, or ${fix}.`,
      EXIT.portInUse,
    );
  }
  if (code === "EACCES")
    return new CliError(
      `the ${use.what} port ${use.port} may only be opened by the administrator (ports under 1024): ${fix}.`,
      EXIT.portInUse,
    );
  return undefined;
}
