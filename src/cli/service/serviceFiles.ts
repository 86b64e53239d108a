/**
 * What `service install` writes so that the server runs at login: a systemd user unit on Linux, a
 * LaunchAgent property list on macOS (written, not tested here). Both run `start` on the same home
 * as the command that installed them, restart it after a crash, and leave logs to the service
 * manager (the journal; on macOS a log file under ~/Library/Logs).
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT } from "../exitCodes.ts";

/** The `aerogramme-local` launcher of this installation (bin/ beside src/ and dist/). */
export const LAUNCHER = fileURLToPath(new URL("../../../bin/aerogramme-local.js", import.meta.url));

/**
 * Exit codes that a restart cannot fix (a wrong setting, damaged data, a port someone else holds):
 * systemd stops retrying on them instead of looping. A locked keychain (7) and unreachable storage
 * (4) are worth retrying: the keychain opens at login, the network comes up.
 */
export const NO_RESTART_CODES = [
  EXIT.usage,
  EXIT.authFailed,
  EXIT.alreadyRunning,
  EXIT.notSetUp,
  EXIT.damaged,
  EXIT.notPrivate,
  EXIT.portInUse,
];

export interface ServiceTarget {
  /** The home's folder (AEROGRAMME_LOCAL_HOME), or undefined for the OS's default folders. */
  home: string | undefined;
  /** The folder holding the node that runs now: the unit finds the same node through PATH. */
  nodeDir: string;
  launcher: string;
}

export function serviceTarget(env: NodeJS.ProcessEnv = process.env): ServiceTarget {
  return { home: env.AEROGRAMME_LOCAL_HOME, nodeDir: dirname(process.execPath), launcher: LAUNCHER };
}

/** "aerogramme-local" for the default home; one name per other home, so several can run. */
export function serviceName(target: Pick<ServiceTarget, "home">): string {
  if (!target.home) return "aerogramme-local";
  return `aerogramme-local-${createHash("sha256").update(target.home).digest("hex").slice(0, 8)}`;
}

export function systemdUnitPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(config, "systemd", "user", `${name}.service`);
}

export function launchAgentPath(name: string): string {
  return join(homedir(), "Library", "LaunchAgents", `org.deuxfleurs.${name}.plist`);
}

/** systemd quotes: a word with spaces or quotes goes in double quotes, with \ and " escaped. */
function systemdWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function systemdUnit(target: ServiceTarget): string {
  const env = [`PATH=${target.nodeDir}:/usr/local/bin:/usr/bin:/bin`];
  if (target.home) env.push(`AEROGRAMME_LOCAL_HOME=${target.home}`);
  return [
    "# Written by `aerogramme-local service install`; `aerogramme-local service uninstall` removes it.",
    "[Unit]",
    `Description=aerogramme-local encrypting IMAP server${target.home ? ` (home ${target.home})` : ""}`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    ...env.map((e) => `Environment=${systemdWord(e)}`),
    `ExecStart=${systemdWord(target.launcher)} start`,
    "Restart=on-failure",
    "RestartSec=5",
    `RestartPreventExitStatus=${NO_RESTART_CODES.join(" ")}`,
    // start lets writes in flight finish for up to 30 s after SIGTERM.
    "TimeoutStopSec=40",
    "UMask=0077",
    "NoNewPrivileges=yes",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function launchAgentPlist(target: ServiceTarget, name: string): string {
  const env: [string, string][] = [["PATH", `${target.nodeDir}:/usr/local/bin:/usr/bin:/bin`]];
  if (target.home) env.push(["AEROGRAMME_LOCAL_HOME", target.home]);
  const log = join(homedir(), "Library", "Logs", `${name}.log`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    `  <key>Label</key><string>org.deuxfleurs.${xml(name)}</string>`,
    "  <key>ProgramArguments</key>",
    `  <array><string>${xml(target.launcher)}</string><string>start</string></array>`,
    "  <key>EnvironmentVariables</key>",
    "  <dict>",
    ...env.map(([k, v]) => `    <key>${xml(k)}</key><string>${xml(v)}</string>`),
    "  </dict>",
    "  <key>RunAtLoad</key><true/>",
    // Restarted after a crash, not after a clean stop.
    "  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>",
    `  <key>StandardErrorPath</key><string>${xml(log)}</string>`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}
