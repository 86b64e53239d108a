/**
 * Blob keys as file names. Keys hold '/', capitals and any UTF-8; a file name must not, and some
 * file systems (macOS, Windows) ignore case. So only [a-z0-9-] stand for themselves and every other
 * UTF-8 byte becomes `_` and two lowercase hex digits. Names never contain '.', so temp files
 * (starting with '.') and stray files are told apart from blobs.
 */
import { Invalid } from "../../errors.ts";

/** Most file systems limit a name to 255 bytes. */
const maxNameBytes = 255;

const plain = /^[a-z0-9-]$/;

export function blobFileName(key: string): string {
  if (key.length === 0) throw new Invalid("a blob key must not be empty");
  const bytes = Buffer.from(key, "utf8");
  if (bytes.toString("utf8") !== key) throw new Invalid("a blob key must be well-formed Unicode");
  let name = "";
  for (const byte of bytes) {
    const ch = String.fromCharCode(byte);
    name += plain.test(ch) ? ch : `_${byte.toString(16).padStart(2, "0")}`;
  }
  if (name.length > maxNameBytes) {
    throw new Invalid(
      `blob key "${key.slice(0, 60)}..." is too long for the embedded store ` +
        `(${name.length} bytes as a file name, at most ${maxNameBytes})`,
    );
  }
  return name;
}

/** The key a file name stands for, or undefined for a file that is not a blob. */
export function blobKeyOf(name: string): string | undefined {
  if (!/^(?:[a-z0-9-]|_[0-9a-f]{2})+$/.test(name)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === "_") {
      bytes.push(parseInt(name.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(name.charCodeAt(i));
  }
  const key = Buffer.from(bytes).toString("utf8");
  try {
    return blobFileName(key) === name ? key : undefined;
  } catch {
    return undefined; // not UTF-8: not a name we wrote
  }
}
