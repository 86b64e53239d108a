/**
 * `inboxHint` in the settings folder: INBOX's mailbox id as this computer last read it in the
 * sealed mailbox list, one line of 32 hex digits, in clear (mode 0600). It names the storage keys
 * of INBOX's index (`index/<id>/...`), which the host sees at every sync anyway; with it, a LOGIN
 * starts INBOX's first-sync reads beside Argon2id (mail/account.ts, issue 11). It is only a hint:
 * the sealed list read after the unlock decides whether those reads are used, so a missing,
 * damaged or edited file costs at most reads made for nothing. Not in the cache folder: the cache
 * is deleted freely, and a second computer's first start is when the hint helps most.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { HomePaths } from "./homePaths.ts";
import { writePrivateFile } from "./privateFile.ts";

const FORM = /^([0-9a-f]{32})\n?$/;

export function inboxHintFile(paths: Pick<HomePaths, "configDir">): string {
  return join(paths.configDir, "inboxHint");
}

/** The id the file holds; undefined when there is none, or it does not have the form of one. */
export async function readInboxHint(paths: Pick<HomePaths, "configDir">): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(inboxHintFile(paths), "utf8");
  } catch {
    return undefined; // missing or unreadable: nothing starts early, nothing else changes
  }
  return FORM.exec(text)?.[1];
}

/** Keeps `id` as the hint (a 32-hex-digit mailbox id; anything else is refused). */
export async function writeInboxHint(paths: Pick<HomePaths, "configDir">, id: string): Promise<void> {
  if (!FORM.test(id)) throw new Error(`not a mailbox id: ${JSON.stringify(id)}`);
  await writePrivateFile(inboxHintFile(paths), `${id}\n`);
}
