/** What SEARCH BODY and TEXT look in: the decoded text of every text part of a message, joined. */
import { textParts } from "../../mime/index.ts";
import type { MessageMeta } from "../metaCodec.ts";
import type { BodyReader } from "./bodyReader.ts";

/** Reads only the text parts, through `read` (ranged reads of the sealed body). */
export async function messageText(meta: MessageMeta, read: BodyReader): Promise<string> {
  const texts: string[] = [];
  for await (const { text } of textParts(meta.index, (start, end) => read(meta, start, end - start)))
    texts.push(text);
  return texts.join("\n");
}
