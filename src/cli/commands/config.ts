/** `config get|set|unset|list`: the settings file, through the schema. */
import { isAbsolute, resolve } from "node:path";
import {
  isSettingKey,
  parseSettingValue,
  PATH_SETTINGS,
  SETTING_KEYS,
  type SettingKey,
} from "../../config/settingsSchema.ts";
import type { ServerStatus } from "../../daemon/control/protocol.ts";
import { callControl } from "../control/controlClient.ts";
import { EXIT, usageError } from "../exitCodes.ts";
import { openHome, type Home } from "../home.ts";
import { isLoopback } from "../listenAddress.ts";

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
  // A relative path would mean another folder for each command run from elsewhere: fix it now.
  const absolute = (PATH_SETTINGS as readonly string[]).includes(k) && !isAbsolute(value);
  await home.settings.set({ [k]: parseSettingValue(k, absolute ? resolve(value) : value) });
  process.stdout.write(`${k} = ${home.settings.get(k)}\n`);
  if (absolute)
    process.stderr.write(
      `note: "${value}" was taken from the current folder: ${k} is the absolute path above\n`,
    );
  if (k === "imapHost" && !isLoopback(value))
    process.stderr.write(
      `note: ${value} is reachable from other computers: \`start\` refuses it unless given --allow-remote, with TLS set up (\`aerogramme-local init --tls\`, or \`config set tlsCert\` and \`tlsKey\`)\n`,
    );
  await sayRestart(home);
  return EXIT.ok;
}

/** A running server read its settings when it started: say that a change waits for a restart. */
async function sayRestart(home: Home): Promise<void> {
  // Only a note: the setting is saved already, and an unreachable or foreign socket says nothing.
  const running = (await callControl(home.paths, { op: "status" }, 5_000).catch(
    () => null,
  )) as ServerStatus | null;
  if (running)
    process.stderr.write(
      `note: the server running now (pid ${running.pid}) keeps the old value until it restarts: stop it (Ctrl-C, or \`kill ${running.pid}\`) and run \`aerogramme-local start\`\n`,
    );
}

export async function unset(key: string): Promise<number> {
  const k = checkKey(key);
  const home = await openHome();
  await home.settings.unset(k);
  const now = home.settings.get(k);
  process.stdout.write(
    now === undefined ? `${k} is no longer set\n` : `${k} is back to its default: ${now}\n`,
  );
  await sayRestart(home);
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
