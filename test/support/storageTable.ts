/**
 * The table of docs/crypto.md, "What the host learns": every key pattern written to storage and the
 * kind of its value, read from the doc itself so that the doc and the test cannot drift apart.
 * `whatTheHostLearns.test.ts` holds what a session wrote against it.
 */
import { readFileSync } from "node:fs";
import { AEAD_OVERHEAD } from "../../src/crypto/aead.ts";
import { CHUNK_BYTES, STREAM_HEADER_BYTES } from "../../src/crypto/chunkedStream.ts";
import { isBucket } from "../../src/crypto/padding.ts";

export interface KeyPattern {
  kind: "blob" | "row";
  /** As the doc writes it: `mail/<id>`, or `index/<mbx> / <ts>` for a row. */
  pattern: string;
  regex: RegExp;
  /** The value's kind: "sealed", "body", "delivery", "random 8", "key root", "16 zero bytes". */
  value: string;
}

const DOC = new URL("../../docs/crypto.md", import.meta.url);
const SECTION = "## What the host learns";

/** The rows of the first table after `header` in `lines` (cells trimmed, backticks kept). */
function tableAfter(lines: string[], header: string): string[][] {
  const at = lines.findIndex((l) => l.startsWith(header));
  if (at < 0) throw new Error(`docs/crypto.md has no table whose header starts "${header}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(at + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split("|")
        .map((c) => c.trim()),
    );
  }
  return rows;
}

const code = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

export function readStorageTable(doc = readFileSync(DOC, "utf8")): KeyPattern[] {
  const start = doc.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`docs/crypto.md has no section "${SECTION}"`);
  const lines = doc.slice(start + 1).split("\n");
  const parts = new Map<string, number>();
  for (const [part, digits] of tableAfter(lines, "| part | hex digits |")) {
    const [name] = code(part!);
    if (!name || !/^<[a-z]+>$/.test(name) || !/^\d+$/.test(digits!))
      throw new Error(`bad row in the table of key parts: ${part} | ${digits}`);
    parts.set(name, Number(digits));
  }
  const toRegex = (pattern: string): string =>
    pattern
      .split(/(<[a-z]+>)/)
      .map((piece) => {
        if (!piece.startsWith("<")) return piece.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
        const digits = parts.get(piece);
        if (digits === undefined) throw new Error(`the key part ${piece} is not in the table of parts`);
        return `[0-9a-f]{${digits}}`;
      })
      .join("");
  return tableAfter(lines, "| kind | key | value |").map(([kind, key, value]) => {
    if (kind !== "blob" && kind !== "row") throw new Error(`unknown kind "${kind}" in the table`);
    const names = code(key!);
    if (names.length !== (kind === "row" ? 2 : 1)) throw new Error(`cannot read the key cell ${key}`);
    const pattern = names.join(" / ");
    return { kind, pattern, regex: new RegExp(`^${names.map(toRegex).join(" / ")}$`), value: value! };
  });
}

/** The key as the table writes it: the blob's key, or "pk / sk". */
export function keyName(kind: "blob" | "row", key: string, sk?: string): string {
  return kind === "row" ? `${key} / ${sk}` : key;
}

export function matchKey(table: KeyPattern[], kind: "blob" | "row", name: string): KeyPattern | undefined {
  return table.find((p) => p.kind === kind && p.regex.test(name));
}

/** Whether `n` bytes is a STREAM body of some bucket: header + bucket + one MAC per chunk. */
function isBodySize(n: number): boolean {
  for (let chunks = 1; STREAM_HEADER_BYTES + 16 * chunks < n; chunks++) {
    const bucket = n - STREAM_HEADER_BYTES - 16 * chunks;
    if (isBucket(bucket) && Math.max(1, Math.ceil(bucket / CHUNK_BYTES)) === chunks) return true;
  }
  return false;
}

/** Why `bytes` is not a value of kind `value`, or undefined when it is. */
export function valueProblem(value: string, bytes: Uint8Array): string | undefined {
  const n = bytes.length;
  switch (value) {
    case "sealed":
      if (bytes[0] !== 2) return `a sealed value of version ${bytes[0]}, not 2 (padded)`;
      return isBucket(n - AEAD_OVERHEAD) ? undefined : `${n} bytes is not ${AEAD_OVERHEAD} + a bucket`;
    case "body":
      return isBodySize(n) ? undefined : `${n} bytes is not the size of a body of some bucket`;
    case "delivery": {
      const boxed = bytes[0] === 2 ? 152 : bytes[0] === 1 ? 80 : undefined;
      if (boxed === undefined) return `a delivery of version ${bytes[0]}`;
      return isBodySize(n - 1 - boxed)
        ? undefined
        : `${n} bytes is not a delivery around a body of some bucket`;
    }
    case "random 8":
      return n === 8
        ? undefined
        : `${n} bytes, not 8: ${Buffer.from(bytes.subarray(0, 40)).toString("latin1")}`;
    case "key root": {
      try {
        const root = JSON.parse(new TextDecoder().decode(bytes)) as { v?: number; entries?: unknown[] };
        return root.v === 1 && Array.isArray(root.entries) ? undefined : "not a key root";
      } catch {
        return "not a key root";
      }
    }
    case "16 zero bytes":
      return n === 16 && bytes.every((b) => b === 0) ? undefined : "not 16 zero bytes";
    default:
      return `the value kind "${value}" is not one the test knows`;
  }
}
