/** How commands read the messages of a mailbox: `Mailbox.read(entries, { scope })`. */
export { MessageReads, type ReadBatch, type ReadOptions, type ReadScope } from "./messageReads.ts";
export type { BodyReader } from "./bodyReader.ts";
export type { MessageMeta } from "../metaCodec.ts";
