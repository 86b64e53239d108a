/**
 * `passwd add|change|remove`: edit the key root's password entries (no mail is rewritten). Through
 * the running server's control socket when one runs (it holds the store), directly otherwise.
 */
import { callControl } from "../control/controlClient.ts";
import type { PasswdAction } from "../../daemon/control/protocol.ts";
import { canAsk, terminalAsker } from "../asker.ts";
import { EXIT, usageError } from "../exitCodes.ts";
import { openHomeStore } from "../../daemon/homeStore.ts";
import { openHome, requireAccountHome } from "../home.ts";
import { askNewPassword } from "../setup/askNewPassword.ts";
import { requireStrongEnough } from "../setup/passwordStrength.ts";
import { readStdinLines } from "../stdinLines.ts";

export function runFor(action: PasswdAction) {
  return async (flags: { passwordStdin?: boolean; allowWeakPassword?: boolean }): Promise<number> => {
    const home = await openHome();
    const settings = requireAccountHome(home, "passwd");
    const strength = { user: settings.user!, allowWeak: flags.allowWeakPassword };
    const { current, next } = await passwords(action, flags.passwordStdin, strength);

    const viaServer = await callControl(home.paths, {
      op: "passwd",
      action,
      current,
      ...(next ? { next } : {}),
    });
    if (viaServer === null) {
      // Not loaded when the running server does the work.
      const mail = await import("../../mail/account.ts");
      const store = await openHomeStore(home.paths, settings);
      try {
        if (action === "add") await mail.addPassword(store, current, next!);
        else if (action === "change") await mail.changePassword(store, current, next!);
        else await mail.removePassword(store, current);
      } finally {
        await store.close();
      }
    }
    const done = {
      add: "Added the new password: both it and the old one now open the account.",
      change:
        "Changed the password: the old one no longer opens the key root as stored now (an old copy of it still would: docs/crypto.md).",
      remove:
        "Removed that password: it no longer opens the key root as stored now (an old copy of it still would: docs/crypto.md).",
    }[action];
    process.stdout.write(`${done}${viaServer !== null ? " (applied by the running server)" : ""}\n`);
    return EXIT.ok;
  };
}

async function passwords(
  action: PasswdAction,
  fromStdin: boolean | undefined,
  strength: { user: string; allowWeak: boolean | undefined },
): Promise<{ current: string; next?: string }> {
  const currentLabel = action === "remove" ? "the password to remove" : "the current password";
  if (fromStdin) {
    if (action === "remove") return { current: (await readStdinLines(1, [currentLabel]))[0]! };
    const [current, next] = await readStdinLines(2, [currentLabel, "the new password"]);
    // Judged before anything is sent or opened: a refused password changes nothing.
    await requireStrongEnough(next!, strength);
    return { current: current!, next: next! };
  }
  if (!canAsk(false)) throw usageError("--password-stdin is needed (no terminal to ask on)");
  const asker = await terminalAsker();
  const current = await asker.secret(
    action === "remove" ? "Password to remove (not shown):" : "Current password (not shown):",
  );
  if (action === "remove") return { current };
  return { current, next: await askNewPassword(asker, strength, "New password (not shown):") };
}
