/**
 * Bytes a UidIndex holds per message (not a test: run it by hand, issue 11).
 *
 *   node --expose-gc --import tsx bench/uidIndexBytes.ts [COUNT]
 *
 * Builds a mailbox of COUNT messages (default 100,000) as a server gets it: adds with ids from
 * mail/ids.ts (32 hex digits), a few flag lists, a third marked \Seen later, then a checkpoint
 * round trip (encode and decode, what a SELECT loads). Prints the heap plus array-buffer bytes it
 * holds after a full collection, per message, for the built and the decoded state.
 */
import { randomBytes } from "node:crypto";
import { applyUidOp, emptyUidIndex, type UidIndex } from "../src/mail/uidIndex.ts";
import { decodeUidIndex, encodeUidIndex } from "../src/mail/uidIndexCodec.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");
const count = Number(process.argv[2] ?? 100_000);

function held(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function build(): UidIndex {
  const s = emptyUidIndex(1);
  const flagLists = [[], ["\\Seen"], ["\\Answered", "\\Seen"], ["$Forwarded", "\\Seen"]];
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const id = randomBytes(16).toString("hex");
    ids.push(id);
    // MODSEQs of real mailboxes pass 2^31 (uidIndex.ts: time floors), so they are not small ints.
    applyUidOp(s, { t: "add", id, guessUid: i, flags: flagLists[i % flagLists.length]! });
    s.highestModseq = Math.max(s.highestModseq, 2 ** 40 + i * 3);
  }
  for (let i = 0; i < count; i += 3000) {
    applyUidOp(s, { t: "flags", ids: ids.slice(i, i + 1000), mode: "add", flags: ["\\Seen"] });
  }
  return s;
}

const base = held();
let state: UidIndex | undefined = build();
const built = held() - base;
const encoded = encodeUidIndex(state);
state = undefined;
const afterEncode = held();
state = decodeUidIndex(encoded);
const decoded = held() - afterEncode;
const perMessage = (bytes: number) => `${(bytes / count).toFixed(1)} B a message`;
console.log(`${count} messages (checkpoint ${(encoded.length / 1e6).toFixed(1)} MB)`);
console.log(`built by ops:          ${(built / 1e6).toFixed(2)} MB, ${perMessage(built)}`);
console.log(`decoded from a checkpoint: ${(decoded / 1e6).toFixed(2)} MB, ${perMessage(decoded)}`);
if (state.uids.length !== count) throw new Error("the state lost messages");
