/**
 * The opt-in fallback for storage secrets where no OS keychain works: a JSON file readable by its
 * owner only. Its mode is checked every time it is read; a file that group or others can read is
 * refused (as ssh does with private keys), with the command that fixes it.
 */
import { readFile, rm, stat } from "node:fs/promises";
import { Invalid, NotFound } from "../errors.ts";
import type { StorageCredentials } from "../storage/backendConfig.ts";
import { writePrivateFile } from "./privateFile.ts";

export class UnsafeCredentialsFile extends Invalid {}

export async function checkCredentialsFileMode(path: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT")
      throw new NotFound(
        `the credentials file ${path} does not exist: run \`aerogramme-local init\` again to write it`,
      );
    throw err;
  }
  if ((info.mode & 0o077) !== 0) {
    throw new UnsafeCredentialsFile(
      `the credentials file ${path} can be read by other users (mode ${(info.mode & 0o777).toString(8)}): refusing to use it. Run \`chmod 600 ${path}\` and rotate the S3 key if others may have read it.`,
    );
  }
  if (typeof process.getuid === "function" && info.uid !== process.getuid()) {
    throw new UnsafeCredentialsFile(
      `the credentials file ${path} belongs to another user (uid ${info.uid}): refusing to use it.`,
    );
  }
}

export async function readCredentialsFile(path: string): Promise<StorageCredentials> {
  await checkCredentialsFileMode(path);
  const parsed = parseCredentials(await readFile(path, "utf8"));
  if (!parsed)
    throw new Invalid(
      `the credentials file ${path} is damaged: run \`aerogramme-local init\` again to rewrite it`,
    );
  return parsed;
}

/** Written to a temp file created with mode 0600, then renamed: never readable by others, not even briefly. */
export function writeCredentialsFile(path: string, credentials: StorageCredentials): Promise<void> {
  return writePrivateFile(path, serializeCredentials(credentials));
}

export async function removeCredentialsFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

export function serializeCredentials(c: StorageCredentials): string {
  return JSON.stringify({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey });
}

export function parseCredentials(text: string): StorageCredentials | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object") {
      const { accessKeyId, secretAccessKey } = v as Record<string, unknown>;
      if (typeof accessKeyId === "string" && typeof secretAccessKey === "string")
        return { accessKeyId, secretAccessKey };
    }
  } catch {
    // fall through: damaged
  }
  return null;
}
