/** Readable, seeded test messages for the mail acceptance tests. */

/** Words no real storage format would contain by chance; each message uses several. */
export const SUBJECT_WORDS = ["Zanzibarquokka", "Pelicanfjord", "Hydrangeavoid"];
export const BODY_WORDS = ["Marzipantundra", "Oscillograph", "Xylophonegecko", "Baobabmeridian"];
export const ADDRESS_WORDS = ["flamingozest", "walrusquill", "tapiorchard"];
export const MAILBOX_WORDS = ["Quixotrellis", "Marmaladewolf"];
export const FLAG_WORDS = ["Pineapplecase"];

/** Message number `i`: deterministic bytes, so a reader can check them byte for byte. */
export function sampleMessage(i: number, opts: { bodyLines?: number } = {}): Uint8Array {
  const s = SUBJECT_WORDS[i % SUBJECT_WORDS.length]!;
  const from = ADDRESS_WORDS[i % ADDRESS_WORDS.length]!;
  const to = ADDRESS_WORDS[(i + 1) % ADDRESS_WORDS.length]!;
  const lines = [
    `From: ${from} <${from}@example.org>`,
    `To: ${to} <${to}@example.net>`,
    `Subject: ${s} report number ${i}`,
    `Date: Mon, 2 Mar 2026 10:${String(i % 60).padStart(2, "0")}:00 +0000`,
    `Message-ID: <msg${i}@example.org>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
  ];
  const bodyLines = opts.bodyLines ?? 3 + (i % 5);
  for (let l = 0; l < bodyLines; l++) {
    const w = BODY_WORDS[(i + l) % BODY_WORDS.length]!;
    lines.push(`Line ${l} of message ${i} mentions ${w} and nothing else of note.`);
  }
  return new TextEncoder().encode(lines.join("\r\n") + "\r\n");
}
