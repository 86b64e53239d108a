/**
 * `passwd add|change|remove`: edit the key root's password entries (no mail is rewritten). Through
 * the running server's control socket when one runs (it holds the store), directly otherwise.
 */
import { callControl } from "../control/controlClient.ts";
import type { PasswdAction } from "../../daemon/control/protocol.ts";
import { canAsk, terminalAsker } from "../asker.ts";
import { EXIT, usageError } from "../exitCodes.ts";
import { openHomeStore } from "../../daemon/homeStore.ts";
import { openHome, requireSetUp } from "../home.ts";
import { readStdinLines } from "../stdinLines.ts";

export function runFor(action: PasswdAction) {
  return async (flags: { passwordStdin?: boolean }): Promise<number> => {
    const home = await openHome();
    const settings = requireSetUp(home);
    const { current, next } = await passwords(action, flags.passwordStdin);

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
      change: "Changed the password: the old one no longer opens the account.",
      remove: "Removed that password: it no longer opens the account.",
    }[action];
    process.stdout.write(`${done}${viaServer !== null ? " (applied by the running server)" : ""}\n`);
    return EXIT.ok;
  };
}

async function passwords(
  action: PasswdAction,
  fromStdin: boolean | undefined,
): Promise<{ current: string; next?: string }> {
  const currentLabel = action === "remove" ? "the password to remove" : "the current password";
  if (fromStdin) {
    if (action === "remove") return { current: (await readStdinLines(1, [currentLabel]))[0]! };
    const [current, next] = await readStdinLines(2, [currentLabel, "the new password"]);
    return { current: current!, next: next! };
  }
  if (!canAsk(false)) throw usageError("--password-stdin is needed (no terminal to ask on)");
  const asker = await terminalAsker();
  const current = await asker.secret(
    action === "remove" ? "Password to remove (not shown):" : "Current password (not shown):",
  );
  if (action === "remove") return { current };
  for (let attempt = 1; attempt <= 5; attempt++) {
    const next = await asker.secret("New password (not shown):", {
      check: (v) => (v ? true : "the password cannot be empty"),
    });
    if ((await asker.secret("Type it again:")) === next) return { current, next };
    asker.say("The two passwords differ. Try again.");
  }
  throw usageError("the two passwords differed too many times");
}
