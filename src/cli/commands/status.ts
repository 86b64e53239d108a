/**
 * `status [--json] [--password-stdin]`: is the server running (pid, addresses), which backend, is
 * storage reachable, the mailbox and message counts when given the password, and the Thunderbird
 * settings. A running server is asked through its control socket (it holds the store); otherwise the
 * store is opened here.
 */
import { readFile } from "node:fs/promises";
import { callControl } from "../control/controlClient.ts";
import { storageCheck } from "../../daemon/control/storageCheck.ts";
import type { ServerStatus } from "../../daemon/control/protocol.ts";
import type { SearchIndexProgress } from "../../mail/search/index.ts";
import { processAlive, readRunFile } from "../../daemon/control/runFile.ts";
import { describeError, EXIT } from "../exitCodes.ts";
import { backendOf, describeBackend, openHomeStore } from "../../daemon/homeStore.ts";
import { openExistingHome, requireAccountHome, requireSetUp, type Home } from "../home.ts";
import { DeliveryKeyFiles } from "../../config/deliveryKeyFiles.ts";
import { deliveryKeyFingerprint } from "../../mail/incoming/deliveryKeyExport.ts";
import { adoptAccountHere } from "../adoptAccount.ts";
import { readStdinLines } from "../stdinLines.ts";
import type { BackendConfig } from "../../storage/backendConfig.ts";
import { thunderbirdSettings, thunderbirdSettingsJson } from "../thunderbird.ts";
import { hostPort } from "../listenAddress.ts";
import { serviceName, serviceTarget } from "../service/serviceFiles.ts";
import type { RekeyState } from "../../daemon/rekeyRunner.ts";
import { rekeyLine } from "./rekey.ts";

export interface StatusReport {
  home: string;
  running: boolean;
  pid?: number;
  imap: { host: string; port: number; starttls: boolean };
  staleRunFile?: { pid: number };
  backend: BackendConfig;
  storage: { reachable: boolean; detail: string; roundTripMs?: number };
  /** The account's login name. */
  user: string;
  /** The STARTTLS certificate, when TLS is on: what to compare in the client's dialog. */
  tls?: { certificate: string; sha256Fingerprint: string; notAfter: string };
  /** Where the running server's log goes (standard error always). */
  logs?: ServerStatus["logs"];
  /** The running server's latest warning or error. */
  lastProblem?: ServerStatus["lastProblem"];
  mailboxes?: { name: string; messages: number }[];
  messages?: number;
  cacheFill?: ServerStatus["cacheFill"];
  /** The running server's search index, once a login has opened the account. */
  searchIndex?: SearchIndexProgress;
  /** The running server's rekey since it started: state, phase and counts (`passwd rekey`). */
  rekey?: RekeyState;
  thunderbird: ReturnType<typeof thunderbirdSettingsJson>;
  /** The pinned public key's fingerprint, for `init --delivery-only --fingerprint` on the mail host. */
  deliveryKey?: { fingerprint: string };
  /** Set in a home made by `init --delivery-only`. */
  role?: "delivery-only";
}

export async function run(flags: { json?: boolean; passwordStdin?: boolean }): Promise<number> {
  const home = await openExistingHome();
  const settings = flags.passwordStdin
    ? requireAccountHome(home, "status --password-stdin")
    : requireSetUp(home);
  const password = flags.passwordStdin ? (await readStdinLines(1, ["the account password"]))[0] : undefined;
  const backend = backendOf(home.paths, settings);
  const starttls = Boolean(settings.tlsCert && settings.tlsKey);
  const report: StatusReport = {
    home: home.paths.configDir,
    running: false,
    imap: { host: settings.imapHost, port: settings.imapPort, starttls },
    backend,
    storage: { reachable: false, detail: "not checked" },
    user: settings.user!,
    ...(settings.tlsCert && settings.tlsKey ? { tls: await certificateOf(settings.tlsCert) } : {}),
    thunderbird: thunderbirdSettingsJson({
      host: clientHost(settings.imapHost),
      port: settings.imapPort,
      user: settings.user!,
      starttls,
    }),
  };

  const pinned = await new DeliveryKeyFiles(home.paths).readPublicKey();
  if (pinned) report.deliveryKey = { fingerprint: deliveryKeyFingerprint(pinned) };
  if (settings.role === "delivery-only") report.role = "delivery-only";

  const live = (await callControl(home.paths, {
    op: "status",
    ...(password !== undefined ? { password } : {}),
  })) as ServerStatus | null;
  if (live) {
    Object.assign(report, {
      running: true,
      pid: live.pid,
      imap: live.imap,
      storage: live.storage,
      ...(live.mailboxes ? { mailboxes: live.mailboxes } : {}),
      ...(live.cacheFill ? { cacheFill: live.cacheFill } : {}),
      ...(live.searchIndex ? { searchIndex: live.searchIndex } : {}),
      ...(live.rekey ? { rekey: live.rekey } : {}),
      ...(live.logs ? { logs: live.logs } : {}),
      ...(live.lastProblem ? { lastProblem: live.lastProblem } : {}),
    });
    report.thunderbird = thunderbirdSettingsJson({
      host: clientHost(live.imap.host),
      port: live.imap.port,
      user: settings.user!,
      starttls: live.imap.starttls,
    });
  } else {
    const leftover = await readRunFile(home.paths.runFile);
    if (leftover && !processAlive(leftover.pid)) report.staleRunFile = { pid: leftover.pid };
    else if (leftover)
      Object.assign(report, { running: true, pid: leftover.pid, imap: { ...leftover.imap, starttls } });
    await fillFromStore(report, home, settings, password);
  }
  if (report.mailboxes) report.messages = report.mailboxes.reduce((n, m) => n + m.messages, 0);

  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(human(report, settings.user!));
  // As `systemctl is-active`: 0 only when the server runs. A wrong password (given to count mail)
  // was an error above already.
  if (report.running) return EXIT.ok;
  return report.storage.reachable ? EXIT.notRunning : EXIT.storageUnavailable;
}

async function fillFromStore(
  report: StatusReport,
  home: Home,
  settings: ReturnType<typeof requireSetUp>,
  password: string | undefined,
): Promise<void> {
  let store;
  try {
    store = await openHomeStore(home.paths, settings);
  } catch (err) {
    report.storage = { reachable: false, detail: describeError(err).message };
    return;
  }
  try {
    report.storage = await storageCheck(store);
    if (password !== undefined && report.storage.reachable) {
      // Loaded only here: a plain `status` stays quick without the crypto and MIME code.
      const { openAccount } = await import("../../mail/account.ts");
      const account = await openAccount(store, password);
      try {
        await adoptAccountHere(home, account);
        report.mailboxes = (await account.summary()).mailboxes;
      } finally {
        await account.close();
      }
    }
  } finally {
    await store.close();
  }
}

/** The certificate's fingerprint and expiry; a file that cannot be read says so in its place. */
async function certificateOf(file: string): Promise<NonNullable<StatusReport["tls"]>> {
  try {
    const { describeCertificate } = await import("../setup/tlsCertificate.ts");
    const cert = describeCertificate(await readFile(file));
    return {
      certificate: file,
      sha256Fingerprint: cert.sha256Fingerprint,
      notAfter: cert.notAfter.toISOString(),
    };
  } catch (err) {
    return {
      certificate: file,
      sha256Fingerprint: `unreadable: ${describeError(err).message}`,
      notAfter: "",
    };
  }
}

function describeSearchIndex(p: SearchIndexProgress): string {
  if (p.state === "off") return `off on this run${p.detail ? ` (${p.detail})` : ""}`;
  const counts = `${p.indexed} of ${p.total} messages`;
  if (p.state === "building") {
    const rate = p.rate !== undefined ? `, ${p.rate} msg/s` : "";
    const eta = p.etaSeconds !== undefined ? `, about ${p.etaSeconds} s left` : "";
    return `building, ${counts}${rate}${eta}`;
  }
  return `${p.state}, ${counts}${p.detail ? ` (${p.detail})` : ""}`;
}

/** Where a client on this computer connects when the server listens on every address. */
function clientHost(bound: string): string {
  return bound === "0.0.0.0" || bound === "::" ? "127.0.0.1" : bound;
}

function human(r: StatusReport, user: string): string {
  const lines: string[] = [];
  if (r.role === "delivery-only")
    lines.push(
      "Delivery-only home: it seals mail to the account and opens none (serve with `aerogramme-local lmtp`).",
    );
  else if (r.running)
    lines.push(
      `Server:   running (pid ${r.pid}), IMAP on ${hostPort(r.imap.host, r.imap.port)}${r.imap.starttls ? " with STARTTLS" : ""}`,
    );
  else lines.push(`Server:   not running. Start it with \`aerogramme-local start\`.`);
  if (r.staleRunFile)
    lines.push(`          (a previous server, pid ${r.staleRunFile.pid}, did not stop cleanly)`);
  lines.push(`Account:  ${r.user}`);
  const rtt = r.storage.roundTripMs !== undefined ? `, ${r.storage.roundTripMs} ms round trip` : "";
  lines.push(`Storage:  ${describeBackend(r.backend)}`);
  lines.push(`          ${r.storage.reachable ? "" : "NOT reachable: "}${r.storage.detail}${rtt}`);
  if (r.tls)
    lines.push(
      `TLS:      certificate SHA-256 ${r.tls.sha256Fingerprint}${r.tls.notAfter ? `, valid until ${r.tls.notAfter.slice(0, 10)}` : ""}`,
    );
  if (r.mailboxes) {
    lines.push(`Mail:     ${r.mailboxes.length} mailboxes, ${r.messages} messages`);
    for (const m of r.mailboxes) lines.push(`          ${m.name}: ${m.messages}`);
  } else if (r.role !== "delivery-only") {
    lines.push("Mail:     give the password with --password-stdin to count mailboxes and messages");
  }
  if (r.deliveryKey)
    lines.push(
      `Delivery key fingerprint: ${r.deliveryKey.fingerprint} (for \`init --delivery-only --fingerprint\` on the mail host)`,
    );
  if (r.cacheFill) lines.push(cacheFillLine(r.cacheFill));
  if (r.searchIndex) lines.push(`Search index: ${describeSearchIndex(r.searchIndex)}`);
  if (r.rekey) {
    const what = r.rekey.progress ? `: ${rekeyLine(r.rekey.progress)}` : "";
    lines.push(`Rekey: ${r.rekey.state}${what}${r.rekey.error ? ` (${r.rekey.error.message})` : ""}`);
  }
  if (r.running) lines.push(`Logs:     ${describeLogs(r.logs)}`);
  if (r.lastProblem)
    lines.push(`Last problem: ${r.lastProblem.at} ${r.lastProblem.level}: ${r.lastProblem.message}`);
  if (r.role === "delivery-only") return `${lines.join("\n")}\n`;
  lines.push(
    "",
    thunderbirdSettings({
      host: r.thunderbird.host,
      port: r.thunderbird.port,
      user,
      starttls: r.imap.starttls,
    }),
  );
  return `${lines.join("\n")}`;
}

function describeLogs(logs: StatusReport["logs"]): string {
  const where = ["standard error of `start`"];
  if (logs?.journal) where.push(`the journal (\`journalctl --user -u ${serviceName(serviceTarget())}\`)`);
  if (logs?.file) where.push(`${logs.file} (rotated at 10 MiB)`);
  return where.join(", ");
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** One line on the background fill of the local cache (docs/cli.md, `status`). */
function cacheFillLine(f: NonNullable<StatusReport["cacheFill"]>): string {
  const bodies =
    f.mode === "meta"
      ? "bodies not fetched (cacheFill meta)"
      : `bodies ${f.bodiesCached}/${f.bodiesWanted} (${mb(f.bytesCached)} of ${mb(f.bytesWanted)})`;
  const cap = `cache ${mb(f.cacheBytes)} of ${mb(f.cacheMaxBytes)}`;
  const what = `meta ${f.metaCached}/${f.messages}, ${bodies}, ${cap}`;
  const busy = f.state === "listing" || f.state === "meta" || f.state === "bodies";
  const speed = busy
    ? `, ${f.messagesPerSecond.toFixed(0)} msg/s, ${mb(f.bytesPerSecond)}/s` +
      (f.etaSeconds !== undefined ? `, about ${f.etaSeconds} s left` : "")
    : "";
  const state = f.state === "failed" ? `failed (${f.error ?? "unknown error"}), will try again` : f.state;
  return `Local cache fill: ${state}: ${what}${speed}`;
}
