/** The messages load clients append: unique Message-ID, seeded text of varied size, CRLF lines. */
import type { Prng } from "../prng.ts";

const WORDS = ["load", "mailbox", "stall", "append", "fetch", "store", "expunge", "garage", "row", "log"];

export function composeMessage(rng: Prng, client: number, n: number): { raw: Buffer; messageId: string } {
  const messageId = `<load-${client}-${n}-${rng.nextU32().toString(36)}@bench.invalid>`;
  const lines: string[] = [];
  // Mostly small, some a few hundred KiB: bodies cross the 64 KiB chunk size now and then.
  const target = rng.chance(0.05) ? rng.int(64_000, 300_000) : rng.int(200, 8_000);
  let size = 0;
  while (size < target) {
    const words = Array.from({ length: rng.int(3, 14) }, () => rng.pick(WORDS));
    const line = words.join(" ");
    lines.push(line);
    size += line.length + 2;
  }
  const raw = [
    `From: client${client}@bench.invalid`,
    `To: owner@bench.invalid`,
    `Subject: load ${client}/${n}`,
    `Message-ID: ${messageId}`,
    `Date: Sat, 05 Dec 2026 12:00:00 +0000`,
    `MIME-Version: 1.0`,
    `Content-Type: text/plain; charset=us-ascii`,
    ``,
    ...lines,
    ``,
  ].join("\r\n");
  return { raw: Buffer.from(raw, "latin1"), messageId };
}
