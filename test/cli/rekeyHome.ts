/**
 * The home of the rekey tests (rekey.test.ts, rekeyServer.test.ts, which run at once): a copy of
 * the home init set up for the run (cliHarness.ts, copyHome), whose password entry has light
 * Argon2id parameters until the first rekey writes init's, with MESSAGES messages imported in this
 * process (runCliHere); and what the tests read it with.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  parseKeyRoot,
  unlockKeyRoot,
  type KeyRootFile,
  type UnlockedKeys,
} from "../../src/crypto/keyRoot.ts";
import { openAccount } from "../../src/mail/account.ts";
import { KeptKeyRoot } from "../../src/mail/keptKeyRoot.ts";
import { openEmbeddedStore } from "../../src/storage/embedded/embeddedStore.ts";
import { oldKeyScan } from "../support/oldKeyScan.ts";
import { RawImap } from "../support/rawImap.ts";
import { CLI_PASSWORD, copyHome, copyTemplate, sharedTemplate, tempHome } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

/** The same as the other CLI files', so that this home is a copy of theirs (cliHarness.ts). */
export const PASSWORD = CLI_PASSWORD;
/** Enough that a rekey job is still under way when the tests kill what runs it. */
export const MESSAGES = 1500;

/**
 * A set-up home with MESSAGES small messages imported into INBOX: a copy of one the run imports
 * once (cliHarness.ts, sharedTemplate). The two files ran the import each, ~3.4 CPU s apiece.
 */
export async function importedHome(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const imported = await sharedTemplate(
    `rekey-home-${MESSAGES}`,
    async (dir) => {
      await copyHome(dir, { password: PASSWORD });
      const lines: string[] = [];
      for (let i = 0; i < MESSAGES; i++)
        lines.push(`From a@example.org Sat Jan  1 00:00:00 2000`, `Subject: m${i}`, "", `body ${i}`, "");
      const mbox = join(dir, "in.mbox");
      await writeFile(mbox, lines.join("\n"));
      const r = await runCliHere(["import", mbox, "--password-stdin"], {
        home: dir,
        input: `${PASSWORD}\n`,
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 0, r.stderr);
    },
    // The other file waits meanwhile: the set-up template's bound, then the import's.
    240_000,
  );
  const home = await tempHome();
  await copyTemplate(imported, home.dir);
  return home;
}

export async function session(port: number): Promise<RawImap> {
  const c = await RawImap.connect(port);
  await c.readLine();
  assert.match((await c.command(`LOGIN alice "${PASSWORD}"`)).at(-1)!, /OK/);
  return c;
}

/** The key root blob of the data folder (no server may hold the folder meanwhile). */
export async function readRoot(dataDir: string): Promise<Uint8Array> {
  const store = await openEmbeddedStore(dataDir);
  try {
    return (await store.blobs.get("keys/root"))!;
  } finally {
    await store.close();
  }
}

/** Unlocks of key roots in this process, by the root's entries and epochs (`rootId`). */
const unlocks = new Map<string, Promise<UnlockedKeys>>();

/** The same string for two parsed roots exactly when their bytes said the same. */
function rootId(root: KeyRootFile): string {
  return JSON.stringify(root, (_key, value: unknown) =>
    value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value,
  );
}

/**
 * unlockKeyRoot with PASSWORD, once per root in this process: the checks unlock the same root more
 * than once (the epoch read, then a scan of the store with the password), and after a rekey each
 * unlock is Argon2id at init's 64 MiB x 4 (~0.14 CPU s). The same root and password give the same
 * keys, so a second unlock gets a copy of the first's (copies: an account wipes its keys at close).
 * A root that differs in any byte (a new entry, an epoch dropped) is unlocked again.
 */
export async function unlockRoot(root: KeyRootFile, password: string): Promise<UnlockedKeys> {
  assert.equal(password, PASSWORD, "only this home's password is kept");
  const id = rootId(root);
  let keys = unlocks.get(id);
  if (!keys) {
    keys = unlockKeyRoot(root, password);
    unlocks.set(id, keys);
    keys.catch(() => unlocks.delete(id));
  }
  return structuredClone(await keys);
}

/** The keys PASSWORD opens in the data folder's key root (unlockRoot). */
export async function unlockStored(dataDir: string): Promise<UnlockedKeys> {
  return unlockRoot(parseKeyRoot(await readRoot(dataDir)), PASSWORD);
}

/** What the old keys open in the store now, and the mailbox ids (read with the password). */
export async function scanWith(dataDir: string, old: UnlockedKeys) {
  const store = await openEmbeddedStore(dataDir);
  try {
    const account = await openAccount(store, PASSWORD, { keptKeyRoot: new KeptKeyRoot(unlockRoot) });
    const ids = (await account.listMailboxes()).mailboxes.map((m) => m.id);
    await account.close();
    return await oldKeyScan(store, old, ids);
  } finally {
    await store.close();
  }
}
