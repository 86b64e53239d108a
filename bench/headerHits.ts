/**
 * The header searches the bench times besides SUBJECT (issue 11 names FROM, TO and HEADER), and how
 * many messages of a corpus each must find. The corpus manifest counts only the SUBJECT and BODY
 * markers, so these counts come from the corpus files themselves: each message's top-level header
 * block, unfolded, the field's values searched case-insensitively for the needle, as RFC 3501's
 * SEARCH does. The needles are ASCII words that never come out of an encoded word only (an address
 * part, a mailer name), so the raw header gives the same answer as a decoded one; every target,
 * Dovecot included, must return exactly this count. Counted once per corpus, kept beside its
 * manifest (header-hits.json).
 */
import { open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Corpus } from "./corpus.ts";

export interface HeaderSearch {
  /** Phase key, e.g. "search.from". */
  key: string;
  /** The IMAP search criterion after UID SEARCH. */
  criterion: string;
  /** The header field searched (lower case) and the needle. */
  field: string;
  needle: string;
}

export const headerSearches: readonly HeaderSearch[] = [
  { key: "search.from", criterion: "FROM kowalski", field: "from", needle: "kowalski" },
  { key: "search.to", criterion: "TO verein.example.de", field: "to", needle: "verein.example.de" },
  { key: "search.header", criterion: "HEADER X-Mailer mutt", field: "x-mailer", needle: "mutt" },
];

/** A header block is small; 64 KiB holds every corpus message's. */
const HEAD_BYTES = 64 * 1024;

async function headerBlock(path: string): Promise<string> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    const text = buf.subarray(0, bytesRead).toString("latin1");
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) throw new Error(`${path}: no end of header in the first ${HEAD_BYTES} bytes`);
    return text.slice(0, end);
  } finally {
    await fh.close();
  }
}

/** Values of `field` in an unfolded header block, lower-cased. */
function fieldValues(block: string, field: string): string[] {
  const out: string[] = [];
  for (const line of block.replace(/\r\n[ \t]/g, " ").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === field)
      out.push(line.slice(colon + 1).toLowerCase());
  }
  return out;
}

async function countAll(corpus: Corpus): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(headerSearches.map((s) => [s.key, 0]));
  const paths = corpus.messages.map((m) => join(corpus.dir, m.file));
  const width = 32;
  for (let i = 0; i < paths.length; i += width) {
    const blocks = await Promise.all(paths.slice(i, i + width).map(headerBlock));
    for (const block of blocks)
      for (const s of headerSearches)
        if (fieldValues(block, s.field).some((v) => v.includes(s.needle))) counts[s.key]! += 1;
  }
  return counts;
}

/** Each search with its hits in this corpus, counted once and then read from header-hits.json. */
export async function headerHits(corpus: Corpus): Promise<{ search: HeaderSearch; hits: number }[]> {
  const counts = await countsOf(corpus);
  return headerSearches.map((search) => ({ search, hits: counts[search.key] ?? 0 }));
}

async function countsOf(corpus: Corpus): Promise<Record<string, number>> {
  const file = join(corpus.dir, "header-hits.json");
  const wanted = headerSearches.map((s) => `${s.key}=${s.criterion}`).join("|");
  try {
    const kept = JSON.parse(await readFile(file, "utf8")) as {
      searches: string;
      counts: Record<string, number>;
    };
    if (kept.searches === wanted) return kept.counts;
  } catch {
    // Not counted yet for this corpus (or for these searches): count below.
  }
  const counts = await countAll(corpus);
  await writeFile(file, JSON.stringify({ searches: wanted, counts }, null, 2) + "\n");
  return counts;
}
