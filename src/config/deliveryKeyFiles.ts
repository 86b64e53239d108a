/**
 * Where a home keeps the keys it delivers with (mail/incoming/deliveryKeys.ts has the rules):
 * `publicKey`, the account's X25519 public key pinned at set-up, and `senderKey`, this home's sender
 * secret key. One line of hex each, written to a 0600 temp file and renamed, in the settings folder.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Tampered } from "../errors.ts";
import type { HomePaths } from "./homePaths.ts";
import { writePrivateFile } from "./privateFile.ts";

export class DeliveryKeyFiles {
  readonly publicKeyFile: string;
  readonly senderKeyFile: string;
  readonly keyEpochFile: string;

  constructor(paths: Pick<HomePaths, "configDir">) {
    this.publicKeyFile = join(paths.configDir, "publicKey");
    this.senderKeyFile = join(paths.configDir, "senderKey");
    this.keyEpochFile = join(paths.configDir, "keyEpoch");
  }

  get where(): string {
    return this.publicKeyFile;
  }

  readPublicKey(): Promise<Uint8Array | undefined> {
    return readKey(this.publicKeyFile, "the pinned public key");
  }

  writePublicKey(publicKey: Uint8Array): Promise<void> {
    return writeKey(this.publicKeyFile, publicKey);
  }

  readSenderKey(): Promise<Uint8Array | undefined> {
    return readKey(this.senderKeyFile, "this home's sender key");
  }

  writeSenderKey(secretKey: Uint8Array): Promise<void> {
    return writeKey(this.senderKeyFile, secretKey);
  }

  /** `keyEpoch`: "<epoch> finished|open", the newest key epoch this home saw (deliveryKeys.ts). */
  async readKeyEpoch(): Promise<{ epoch: number; finished: boolean } | undefined> {
    let text: string;
    try {
      text = await readFile(this.keyEpochFile, "utf8");
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return undefined;
      throw err;
    }
    const m = /^(\d{1,10}) (finished|open)\n?$/.exec(text);
    if (!m) throw new Tampered(`${this.keyEpochFile} is damaged: someone changed the file`);
    return { epoch: Number(m[1]), finished: m[2] === "finished" };
  }

  writeKeyEpoch(mark: { epoch: number; finished: boolean }): Promise<void> {
    return writePrivateFile(this.keyEpochFile, `${mark.epoch} ${mark.finished ? "finished" : "open"}\n`);
  }
}

async function readKey(path: string, what: string): Promise<Uint8Array | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return undefined;
    throw err;
  }
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new Tampered(`${what} in ${path} is damaged (not 64 hex digits): someone changed the file`);
  return Buffer.from(hex, "hex");
}

function writeKey(path: string, key: Uint8Array): Promise<void> {
  return writePrivateFile(path, `${Buffer.from(key).toString("hex")}\n`);
}
