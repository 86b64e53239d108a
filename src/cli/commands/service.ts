/**
 * `service install|uninstall|status`: run the server at login. Linux: a systemd user unit
 * (`systemctl --user`), logs in the journal. macOS: a LaunchAgent (written, untested here). Where
 * the service manager cannot be reached (a container, an SSH session without a user bus), the file
 * is still written and the command says what to run once it can be.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { CliError, EXIT } from "../exitCodes.ts";
import { openExistingHome, requireSetUp } from "../home.ts";
import {
  launchAgentPath,
  launchAgentPlist,
  serviceName,
  serviceTarget,
  systemdUnit,
  systemdUnitPath,
} from "../service/serviceFiles.ts";

interface Flags {
  json?: boolean;
  print?: boolean;
  now?: boolean;
}

type Platform = "systemd" | "launchd";

function platform(): Platform {
  if (process.platform === "darwin") return "launchd";
  if (process.platform === "linux") return "systemd";
  throw new CliError(
    `service is for Linux (systemd) and macOS (launchd); on ${process.platform}, run \`aerogramme-local start\` from your system's own start-up mechanism`,
    EXIT.usage,
  );
}

/** Runs a service manager command; null when the manager cannot be reached at all. */
function manager(argv: string[]): { code: number; output: string } | null {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 30_000 });
  if (r.error) return null;
  const output = `${r.stdout}${r.stderr}`.trim();
  // No user bus (containers, `su`, SSH without lingering): systemctl cannot talk to a manager.
  if (/Failed to connect to bus|No medium found|DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR/.test(output))
    return null;
  return { code: r.status ?? 1, output };
}

function files() {
  const target = serviceTarget();
  const name = serviceName(target);
  const kind = platform();
  const path = kind === "systemd" ? systemdUnitPath(name) : launchAgentPath(name);
  const text = kind === "systemd" ? systemdUnit(target) : launchAgentPlist(target, name);
  return { target, name, kind, path, text };
}

export async function install(flags: Flags): Promise<number> {
  // A unit for a home with no account would fail at every login: set up first.
  requireSetUp(await openExistingHome());
  const { name, kind, path, text } = files();
  if (flags.print) {
    process.stdout.write(text);
    return EXIT.ok;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, text, { mode: 0o644 });
  process.stdout.write(`Wrote ${path}\n`);
  const steps =
    kind === "systemd"
      ? [
          ["systemctl", "--user", "daemon-reload"],
          ["systemctl", "--user", "enable", ...(flags.now === false ? [] : ["--now"]), `${name}.service`],
        ]
      : [["launchctl", "load", "-w", path]];
  for (const step of steps) {
    const r = manager(step);
    if (r === null) {
      process.stdout.write(
        `The service manager cannot be reached from here. Once it can (a graphical or \`loginctl enable-linger\` session), run:\n  ${steps.map((s) => s.join(" ")).join("\n  ")}\n`,
      );
      return EXIT.ok;
    }
    if (r.code !== 0) throw new CliError(`\`${step.join(" ")}\` failed: ${r.output}`, EXIT.error);
  }
  process.stdout.write(
    kind === "systemd"
      ? `Enabled: the server starts at login${flags.now === false ? "" : ", and runs now"}. Logs: journalctl --user -u ${name}\n`
      : `Loaded: the server starts at login. Logs: ~/Library/Logs/${name}.log\n`,
  );
  return EXIT.ok;
}

export async function uninstall(): Promise<number> {
  const { name, kind, path } = files();
  const existed = existsSync(path);
  const steps =
    kind === "systemd"
      ? [["systemctl", "--user", "disable", "--now", `${name}.service`]]
      : [["launchctl", "unload", "-w", path]];
  if (existed) for (const step of steps) manager(step);
  await rm(path, { force: true });
  if (kind === "systemd" && existed) manager(["systemctl", "--user", "daemon-reload"]);
  process.stdout.write(existed ? `Removed ${path}\n` : `No service was installed (${path} does not exist)\n`);
  return EXIT.ok;
}

export interface ServiceStatus {
  name: string;
  file: string;
  installed: boolean;
  /** undefined when the service manager cannot be reached. */
  active?: boolean;
  enabled?: boolean;
}

export function serviceStatus(): ServiceStatus {
  const { name, kind, path } = files();
  const status: ServiceStatus = { name, file: path, installed: existsSync(path) };
  if (!status.installed) return status;
  if (kind === "systemd") {
    const active = manager(["systemctl", "--user", "is-active", `${name}.service`]);
    const enabled = manager(["systemctl", "--user", "is-enabled", `${name}.service`]);
    if (active) status.active = active.code === 0;
    if (enabled) status.enabled = enabled.code === 0;
  } else {
    const listed = manager(["launchctl", "list", `org.deuxfleurs.${name}`]);
    if (listed) status.active = status.enabled = listed.code === 0;
  }
  return status;
}

/**
 * Exit 0 when installed and running, 13 when installed but not running, 6 when not installed, 1
 * when the service manager cannot say.
 */
export async function status(flags: Flags): Promise<number> {
  const s = serviceStatus();
  if (flags.json) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  else if (!s.installed)
    process.stdout.write(
      `No service installed (${s.file}). Install one with \`aerogramme-local service install\`.\n`,
    );
  else
    process.stdout.write(
      `Service ${s.name}: ${s.file}\n  ${s.active === undefined ? "state unknown: the service manager cannot be reached from here" : `${s.active ? "running" : "not running"}, ${s.enabled ? "starts at login" : "does not start at login"}`}\n`,
    );
  if (!s.installed) return EXIT.notSetUp;
  if (s.active === undefined) return EXIT.error;
  return s.active ? EXIT.ok : EXIT.notRunning;
}
