/**
 * What every command starts from: this home's paths and its settings (the store they name is opened
 * by daemon/homeStore.ts).
 */
import { existsSync } from "node:fs";
import { homePaths, type HomePaths } from "../config/homePaths.ts";
import { SettingsFile } from "../config/settings.ts";
import type { Settings } from "../config/settingsSchema.ts";
import { CliError, EXIT } from "./exitCodes.ts";

export interface Home {
  paths: HomePaths;
  settings: SettingsFile;
}

export async function openHome(): Promise<Home> {
  const paths = homePaths();
  return { paths, settings: await SettingsFile.open(paths) };
}

/** The home of a command that only looks (`status`): a home that does not exist is not made. */
export async function openExistingHome(): Promise<Home> {
  const paths = homePaths();
  if (!existsSync(paths.configDir)) throw notSetUp(paths.configDir);
  return openHome();
}

/** The settings of a home where `init` has run; exit 6 otherwise. */
export function requireSetUp(home: Home): Settings {
  if (!home.settings.isSetUp()) throw notSetUp(home.paths.configDir);
  return home.settings.all();
}

function notSetUp(configDir: string): CliError {
  return new CliError(
    `nothing is set up in ${configDir} yet: run \`aerogramme-local init\` (or \`aerogramme-local start\`, which walks you through it)`,
    EXIT.notSetUp,
  );
}

/**
 * The settings of a home that opens the account; a delivery-only home (`init --delivery-only`)
 * holds no way to open it and is refused with what it can do instead.
 */
export function requireAccountHome(home: Home, command: string): Settings {
  const settings = requireSetUp(home);
  if (settings.role === "delivery-only")
    throw new CliError(
      `this home is delivery-only (set up by \`init --delivery-only\`): it seals mail to the account and can open none, so \`${command}\` cannot run here. Run \`aerogramme-local lmtp --port N\` to receive mail from the mail host, or \`aerogramme-local deliver\` for one message`,
      EXIT.usage,
    );
  return settings;
}
