/**
 * FETCH BINARY[part]<partial>, BINARY.PEEK and BINARY.SIZE (RFC 3516 §4.2): a part's content with
 * its Content-Transfer-Encoding undone. The part is read and decoded whole (a partial is cut from
 * the decoded bytes, whose offsets are the ones RFC 3516 means); BINARY[] is the message as stored.
 * Bytes holding NUL go as a literal8 (`~{n}`); an encoding that cannot be undone fails the FETCH
 * with NO [UNKNOWN-CTE], as §4.3 asks.
 */
import type { BodyReader, MessageMeta } from "../../../mail/read/index.ts";
import { decodeContent, findPart } from "../../../mime/index.ts";
import type { FetchAttribute } from "../parser/types.ts";
import { ImapError, no } from "../protocol/errorResponse.ts";
import type { WirePart } from "../protocol/wire.ts";
import { locateSection } from "./fetchSection.ts";

type BinaryAttribute = Extract<FetchAttribute, { kind: "BINARY" | "BINARY.SIZE" }>;

/** The decoded content of `part` ([] for the whole message), or null when there is no such part. */
async function decodedPart(meta: MessageMeta, read: BodyReader, part: number[]): Promise<Uint8Array | null> {
  const source = await locateSection(meta, read, { part });
  if (source.kind === "missing") return null;
  const raw =
    source.kind === "bytes"
      ? source.bytes
      : await read(meta, source.range.start, source.range.end - source.range.start);
  if (part.length === 0) return raw;
  const node = findPart(meta.index, part);
  const decoded = decodeContent(raw, node?.content.encoding ?? null);
  if (decoded === null) {
    throw new ImapError(
      no(`part ${part.join(".")} has a Content-Transfer-Encoding this server cannot decode`, "UNKNOWN-CTE"),
    );
  }
  return decoded;
}

/** The item's name and value, as the FETCH response carries them. */
export async function binaryItem(
  meta: MessageMeta,
  read: BodyReader,
  a: BinaryAttribute,
): Promise<WirePart[]> {
  const name = `[${a.part.join(".")}]`;
  const content = await decodedPart(meta, read, a.part);
  if (a.kind === "BINARY.SIZE") return [`BINARY.SIZE${name} ${content?.length ?? 0}`];
  // RFC 3516 §6: the response names the section without the partial's origin.
  if (content === null) return [`BINARY${name} NIL`];
  const start = a.partial ? Math.min(a.partial.offset, content.length) : 0;
  const end = a.partial ? Math.min(content.length, start + a.partial.length) : content.length;
  const bytes = content.subarray(start, end);
  return [`BINARY${name} `, { kind: "bytesLiteral", bytes, literal8: bytes.includes(0) }];
}
