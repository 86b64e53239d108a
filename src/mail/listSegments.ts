/**
 * The list view's segments as shared through the bucket (issue 11, "a second computer"): the list
 * facts (listView.ts: internal date, size, top-level header block) of the messages of one range of
 * SHARED_SPAN UIDs of one mailbox, in blob `index/<mbx>/list/<range>`. A computer that has none of
 * a mailbox's meta reads its header list from these few objects instead of one meta row a message.
 *
 * Sealed with the subkey "shared-list-view" under the account's key epochs, with associated data
 * naming the object (so the mailbox and the range): one cannot stand in for another. The facts are
 * DEFLATE-compressed before sealing (docs/crypto.md, "Size buckets", says what that tells the
 * host). The names follow from the mailbox id and the UIDs, so a reader GETs them without a LIST.
 */
import { promisify } from "node:util";
import { deflateRaw as deflateRawCb, inflateRaw as inflateRawCb } from "node:zlib";
import { open, seal, type SealContext, type SealKey } from "../crypto/aead.ts";
import { decodeSegment, encodeSegment, type ListFacts } from "./listView.ts";

// The thread pool's: a segment is ~0.7 MB of headers, tens of ms of CPU to deflate.
const deflateRaw = promisify(deflateRawCb);
const inflateRaw = promisify(inflateRawCb);

/** UIDs per shared segment: [k * SHARED_SPAN + 1, (k + 1) * SHARED_SPAN] is range k. */
export const SHARED_SPAN = 1000;
const VERSION = 1;
/** A segment inflates to at most this (a range of 1,000 header blocks is ~0.7 MB on the bench corpus). */
const MAX_PLAIN = 256 * 1024 * 1024;
/**
 * The inflate's output pieces: zlib's 16 KiB default hands a ~0.7 MB segment back to the main
 * thread in ~45 callbacks, each a copy, then concatenates them: 2.7 ms of CPU a segment against
 * 0.8 with 256 KiB (3 pieces), 10 segments in a second computer's header list (bench/notes.md,
 * wt-coldhdr). A small segment allocates one such piece.
 */
const INFLATE_CHUNK = 256 * 1024;

export const listSegmentPrefix = (mailboxId: string): string => `index/${mailboxId}/list/`;

/** The range as 8 hex digits, so that a listing comes in range order. */
export function listSegmentKey(mailboxId: string, range: number): string {
  return `${listSegmentPrefix(mailboxId)}${range.toString(16).padStart(8, "0")}`;
}

/** Whether `key` is a shared list segment, and of which mailbox. */
export function listSegmentMailbox(key: string): string | undefined {
  const m = /^index\/([^/]+)\/list\/[0-9a-f]{8}$/.exec(key);
  return m ? m[1] : undefined;
}

/** The range a UID falls in (`span`: tests use small ranges). */
export const rangeOfUid = (uid: number, span = SHARED_SPAN): number => Math.floor((uid - 1) / span);

/**
 * Ranges every UID of which has been handed out (below `uidnext`): only these are shared, since a
 * later message of a range not full yet would be missing from its segment (a cost, never an error).
 */
export const fullRanges = (uidnext: number, span = SHARED_SPAN): number => Math.floor((uidnext - 1) / span);

const context = (key: string): SealContext => ({ purpose: "shared-list-view", path: key });

/** [u8 version][DEFLATE of listView.ts's segment encoding], sealed for `key`. */
export async function sealListSegment(
  sealKey: SealKey,
  key: string,
  entries: readonly (readonly [string, ListFacts])[],
): Promise<Uint8Array> {
  const packed = await deflateRaw(encodeSegment(entries));
  const plain = Buffer.allocUnsafe(1 + packed.length);
  plain.writeUInt8(VERSION, 0);
  packed.copy(plain, 1);
  return seal(sealKey, plain, context(key));
}

/** Throws Tampered (or StaleEpoch, Rekeyed) when it does not open; a decode error on bad bytes. */
export async function openListSegment(
  sealKey: SealKey,
  key: string,
  sealed: Uint8Array,
): Promise<Map<string, ListFacts>> {
  return decodeSegment(await openListSegmentBytes(sealKey, key, sealed));
}

/**
 * As openListSegment, the facts left encoded (listView.ts's segment encoding, authenticated and
 * inflated, not checked): ListView.adopt keeps them so, off the JS heap, until a list reads them.
 */
export async function openListSegmentBytes(
  sealKey: SealKey,
  key: string,
  sealed: Uint8Array,
): Promise<Buffer> {
  const plain = open(sealKey, sealed, context(key));
  if (plain[0] !== VERSION) throw new Error(`${key}: a list segment of another version`);
  const packed = Buffer.from(plain.buffer, plain.byteOffset + 1, plain.byteLength - 1);
  return inflateRaw(packed, { maxOutputLength: MAX_PLAIN, chunkSize: INFLATE_CHUNK });
}
