/** `config get|set|unset|list`: the settings file, through the schema. */
import {
  isSettingKey,
  parseSettingValue,
  SETTING_KEYS,
  type SettingKey,
} from "../../config/settingsSchema.ts";
import { EXIT, usageError } from "../exitCodes.ts";
import { openHome } from "../home.ts";

function checkKey(key: string): SettingKey {
  if (!isSettingKey(key))
    throw usageError(
      `unknown setting "${key}". Settings: ${SETTING_KEYS.join(", ")}. (Storage secrets are not settings: they live in the OS keychain, written by \`aerogramme-local init\`.)`,
    );
  return key;
}

export async function get(key: string): Promise<number> {
  const k = checkKey(key);
  const home = await openHome();
  const value = home.settings.get(k);
  if (value === undefined) {
    process.stderr.write(`aerogramme-local: "${k}" is not set\n`);
    return EXIT.error;
  }
  process.stdout.write(`${value}\n`);
  return EXIT.ok;
}

export async function set(key: string, value: string): Promise<number> {
  const k = checkKey(key);
  if (k === "keychainAccount")
    throw usageError(
      "keychainAccount names this home's keychain entry and is chosen by `init`; it cannot be set by hand",
    );
  const home = await openHome();
  home.settings.set({ [k]: parseSettingValue(k, value) });
  process.stdout.write(`${k} = ${home.settings.get(k)}\n`);
  return EXIT.ok;
}

export async function unset(key: string): Promise<number> {
  const k = checkKey(key);
  const home = await openHome();
  home.settings.unset(k);
  const now = home.settings.get(k);
  process.stdout.write(
    now === undefined ? `${k} is no longer set\n` : `${k} is back to its default: ${now}\n`,
  );
  return EXIT.ok;
}

export async function list(opts: { json?: boolean }): Promise<number> {
  const home = await openHome();
  const all = home.settings.all();
  const stored = home.settings.stored();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ file: home.settings.path, settings: all }, null, 2)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(`# ${home.settings.path}\n`);
  for (const key of SETTING_KEYS) {
    const value = all[key];
    if (value === undefined) continue;
    const note = key in stored ? "" : "  (default)";
    process.stdout.write(`${key} = ${value}${note}\n`);
  }
  return EXIT.ok;
}
