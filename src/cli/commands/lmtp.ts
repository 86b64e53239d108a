/**
 * `lmtp [--port N]`: LMTP on 127.0.0.1 for the mail host's MTA, from any set-up home and meant for
 * a delivery-only one (`init --delivery-only`). Each message is sealed as `deliver` seals it: to
 * the public key pinned in this home, once storage's key root is seen to name it, and queued in
 * storage for the account's own server to file (daemon/lmtp.ts, server/lmtp/). Storage that fails
 * or a key root that disagrees with the pin is a 4xx: the MTA keeps the mail and retries.
 * Prints one line when ready, "LMTP listening on 127.0.0.1:PORT"; logs go to standard error.
 */
import { DeliveryKeyFiles } from "../../config/deliveryKeyFiles.ts";
import { loadSodium } from "../../crypto/sodium.ts";
import { openHomeStore } from "../../daemon/homeStore.ts";
import { startLmtp } from "../../daemon/lmtp.ts";
import { notPinned } from "../../mail/incoming/deliveryKeys.ts";
import { deliveryKeyFingerprint } from "../../mail/incoming/deliveryKeyExport.ts";
import { createLogger } from "../../log.ts";
import { usageError } from "../exitCodes.ts";
import { openExistingHome, requireSetUp } from "../home.ts";
import { portRefusal } from "../portRefusal.ts";
import { waitForStop } from "./start.ts";

const HOST = "127.0.0.1";

export async function run(flags: { port?: number }): Promise<number> {
  const home = await openExistingHome();
  const settings = requireSetUp(home);
  const port = flags.port ?? (settings.lmtpPort || undefined);
  if (port === undefined)
    throw usageError("give the port: `aerogramme-local lmtp --port N` (or `config set lmtpPort N`)");
  const log = createLogger(settings.logLevel, process.stderr);
  const deliveryKeys = new DeliveryKeyFiles(home.paths);
  const pinned = await deliveryKeys.readPublicKey();
  if (!pinned) throw notPinned(deliveryKeys.where);
  await loadSodium();
  const store = await openHomeStore(home.paths, settings, log);
  let server;
  try {
    server = await startLmtp({
      store,
      deliveryKeys,
      mover: { poke() {} },
      user: settings.user!,
      host: HOST,
      port,
      log,
    });
  } catch (err) {
    await store.close();
    throw (
      (await portRefusal(err, {
        what: "LMTP",
        port,
        setting: "lmtpPort",
        fromFlag: flags.port !== undefined,
      })) ?? err
    );
  }
  log(
    "info",
    `delivering to "${settings.user}", sealed to the key with fingerprint ${deliveryKeyFingerprint(pinned)}; stop with Ctrl-C or SIGTERM`,
  );
  // The signals are ours before the ready line: whoever waits for it may stop the server at once.
  const stopped = waitForStop(log, async () => {
    await server.close();
    await store.close();
  });
  process.stdout.write(`LMTP listening on ${HOST}:${server.address.port}\n`);
  return stopped;
}
