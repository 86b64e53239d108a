/**
 * FETCH PREVIEW (RFC 8970): made from the message's body when first asked, then kept beside its
 * meta for as long as the process keeps that meta (a WeakMap: no second cache to bound or to
 * clear). PREVIEW (LAZY) answers from there, or NIL, and never reads a body (§3.1).
 */
import type { BodyReader, MessageMeta } from "../../../mail/read/index.ts";
import { messagePreview } from "../../../mime/index.ts";
import { quotedOrLiteral } from "../protocol/wire.ts";

const previews = new WeakMap<MessageMeta, string>();

export async function previewItem(meta: MessageMeta, read: BodyReader, lazy: boolean): Promise<string> {
  let preview = previews.get(meta);
  if (preview === undefined) {
    if (lazy) return "PREVIEW NIL";
    preview = await messagePreview(meta.index, (start, end) => read(meta, start, end - start));
    previews.set(meta, preview);
  }
  return `PREVIEW ${quotedOrLiteral(preview)}`;
}
