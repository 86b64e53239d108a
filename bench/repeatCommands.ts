/**
 * The server's CPU for commands of the first sync, each repeated N times on one connection (not a
 * test: run it by hand and read the numbers). bench/firstSyncSteps.ts sees each step once, in a
 * fresh process, where code not yet optimised weighs most and /proc's 10 ms ticks are coarse;
 * here the same command N times gives its warm cost per run, to tell a change's effect on the
 * work itself from the first run's.
 *
 *   node --import tsx bench/repeatCommands.ts TREE HOME [N] [NODE_FLAGS...]
 *
 * TREE and HOME as firstSyncSteps.ts takes them (the session changes HOME: use a copy). After
 * LOGIN and SELECT INBOX it waits 4 s (the work a login starts in the background), then runs
 * SELECT INBOX, UID FETCH 1:* (FLAGS) and the 200 newest bodies N times each (default 20) and
 * prints the server's CPU per run of each, in ms. ONLY_BODIES=1 runs only the bodies.
 */
import { readFileSync } from "node:fs";
import { ImapWire } from "./imapWire.ts";
import { launchServer } from "./launchServer.ts";

const [tree, home, count, ...nodeFlags] = process.argv.slice(2);
if (!tree || !home)
  throw new Error("usage: node --import tsx bench/repeatCommands.ts TREE HOME [N] [NODE_FLAGS...]");
const n = Number(count ?? 20);
const launcher = `${tree}/bin/aerogramme-local.js`;
const { child, port, stop } = await launchServer({ launcher, home, nodeFlags, stderr: "ignore" });

function cpuMs(): number {
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), in clock ticks of 10 ms.
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

try {
  await new Promise((r) => setTimeout(r, 300));
  const wire = await ImapWire.open("127.0.0.1", port);
  await wire.command('LOGIN bench "bench-password-Aer0"');
  const selected = await wire.command("SELECT INBOX");
  const exists = Number(/(\d+) EXISTS/.exec(selected.untagged.map((r) => r.text).join("\n"))?.[1] ?? 0);
  await new Promise((r) => setTimeout(r, 4000));
  const commands: [string, string][] = [
    ["select", "SELECT INBOX"],
    ["flags", "UID FETCH 1:* (FLAGS)"],
    ["bodies", `FETCH ${Math.max(1, exists - 199)}:${exists} (UID RFC822.SIZE BODY.PEEK[])`],
  ];
  const out: string[] = [];
  for (const [name, command] of commands) {
    if (process.env.ONLY_BODIES === "1" && name !== "bodies") continue;
    const c0 = cpuMs();
    for (let i = 0; i < n; i++) await wire.command(command);
    out.push(`${name} ${((cpuMs() - c0) / n).toFixed(1)}`);
  }
  console.log(out.join("  "));
  await wire.close();
} finally {
  await stop();
}
