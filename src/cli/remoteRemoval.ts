/**
 * `reset --delete-remote-data`: the account opened on this home's bucket with its password, what
 * it holds there listed by kind, and (once confirmed) deleted with progress on stderr. The
 * listing and the deletion are src/mail/accountRemoval.ts; this only opens, prints and closes.
 * A wrong password fails in openAccount, before anything is listed or deleted (exit 3).
 */
import { openHomeStore } from "../daemon/homeStore.ts";
import type { Account } from "../mail/account.ts";
import type { RemovalKind, RemovalPlan } from "../mail/accountRemoval.ts";
import type { Settings } from "../config/settingsSchema.ts";
import type { Store } from "../storage/types.ts";
import { readAccountPassword } from "./commands/import.ts";
import { usageError } from "./exitCodes.ts";
import type { Home } from "./home.ts";

export interface RemoteRemoval {
  /** One line per kind that has something: "12 bodies (mail/<id>)". */
  summary(): string[];
  remove(): Promise<void>;
  close(): Promise<void>;
}

const WHERE: Record<RemovalKind, string> = {
  bodies: "objects mail/<id>",
  checkpoints: "objects index/<mailbox>/checkpoint/...",
  "list segments": "objects index/<mailbox>/list/<range>",
  "incoming queue": "objects incoming/<ts>, deliveries not yet filed",
  probes: "objects probe/<random>",
  "meta rows": "rows meta/<id>",
  "body rows": "rows body/<id>",
  "op rows": "rows index/<mailbox>/...",
  "mailbox list rows": "rows mailboxes/...",
  "incoming rows": "rows incoming/...",
  "key root": "object keys/root, last",
};

export async function openRemoteRemoval(
  home: Home,
  settings: Settings,
  passwordStdin: boolean | undefined,
): Promise<RemoteRemoval> {
  if (settings.backend === "s3")
    // The s3 backend keeps rows as versioned objects whose deletes are objects too (storage/s3).
    throw usageError(
      "--delete-remote-data works on a garage home only for now: on s3, delete the bucket's objects with the host's own tools",
    );
  const password = await readAccountPassword(passwordStdin);
  const [{ openAccount }, removal] = await Promise.all([
    import("../mail/account.ts"),
    import("../mail/accountRemoval.ts"),
  ]);
  const store: Store = await openHomeStore(home.paths, settings);
  let account: Account | undefined;
  let plan: RemovalPlan;
  try {
    account = await openAccount(store, password, { marksDir: home.paths.marksDir });
    plan = await removal.planAccountRemoval(account);
  } catch (err) {
    await account?.close();
    await store.close();
    throw err;
  }
  const opened = account;
  return {
    summary: () => {
      const lines = (Object.entries(plan.counts) as [RemovalKind, number][])
        .filter(([, n]) => n > 0)
        .map(([kind, n]) => `${n} ${kind} (${WHERE[kind]})`);
      if (lines.length === 0) lines.push("nothing: the bucket holds no object or row of this account");
      if (plan.foreign.length > 0)
        lines.push(
          `left in place: ${plan.foreign.length} object(s) this account did not write (${plan.foreign.slice(0, 3).join(", ")}${plan.foreign.length > 3 ? ", ..." : ""})`,
        );
      return lines;
    },
    remove: async () => {
      // The account stops its own writers first: nothing of it is written after the deletion.
      await opened.close();
      let last = 0;
      await removal.removeAccountData(store, plan, ({ done, total }) => {
        const now = Date.now();
        if (done !== total && now - last < 500) return;
        last = now;
        process.stderr.write(`deleting from the bucket: ${done}/${total}\n`);
      });
    },
    close: async () => {
      await opened.close();
      await store.close();
    },
  };
}
