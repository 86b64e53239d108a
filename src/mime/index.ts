/**
 * The MIME indexer's public face: what `mail/` and `server/imap` import. See indexMessage.ts for
 * what an index holds and types.ts for its shape.
 */
export { indexMessage, indexMessageBytes, type MessageSource } from "./indexMessage.ts";
export { toCrlf, toCrlfBytes } from "./crlf.ts";
export { headerFields, parseHeaderBlock, type HeaderField } from "./headerBlock.ts";
export { parseAddressList } from "./addressList.ts";
export { decodeContent } from "./binaryContent.ts";
export { messagePreview, previewOfText, PREVIEW_MAX_CHARS } from "./preview.ts";
export { findPart, sectionRange, type ByteRange, type SectionText } from "./sections.ts";
export type {
  ByteString,
  ContentData,
  Envelope,
  EnvelopeAddress,
  MessageIndex,
  MimeParam,
  MimePart,
  PartKind,
} from "./types.ts";
export {
  decodeCharset,
  decodedHeaderValue,
  decodedHeaderValues,
  decodeHeaderText,
  decodePartText,
  decodeTransferEncoding,
  listTextParts,
  partCharset,
  textParts,
} from "./decode.ts";
