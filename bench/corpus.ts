/**
 * The bench corpus: N messages from a seeded generator, written once to bench/.cache/corpus-N/ as a
 * Maildir (Dovecot serves it) plus manifest.json, the list of files in UID order with flags and
 * internal dates (the APPEND loader reads it). A manifest with the same version and seed means the
 * cache is reused; it is written last, so an interrupted generation is never mistaken for a corpus.
 */
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CorpusComposer } from "./corpusMessage.ts";
import { bodyMarker, subjectMarker } from "./corpusWords.ts";
import { Prng } from "./prng.ts";

/** Bumped whenever the generator's output changes, so old caches are regenerated. */
const GENERATOR_VERSION = 1;
export const DEFAULT_SEED = 20_240_601;
export const benchDir = dirname(fileURLToPath(import.meta.url));
export const cacheRoot = join(benchDir, ".cache");

export interface CorpusMessage {
  /** Path relative to the corpus folder (inside Maildir/cur). */
  file: string;
  size: number;
  /** IMAP system flags, e.g. "\\Seen". */
  flags: string[];
  /** Internal date, seconds since the epoch (also the file's mtime). */
  date: number;
}

export interface Corpus {
  version: number;
  seed: number;
  count: number;
  totalBytes: number;
  subjectMarker: string;
  subjectHits: number;
  bodyMarker: string;
  bodyHits: number;
  messages: CorpusMessage[];
  /** Absolute folder of this corpus (not stored in the manifest). */
  dir: string;
}

const MAILDIR_LETTER: Record<string, string> = { "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S" };

/** Maildir info suffix ":2,<letters>", letters in ASCII order as the Maildir spec asks. */
function maildirInfo(flags: string[]): string {
  return (
    ":2," +
    flags
      .map((f) => MAILDIR_LETTER[f] ?? "")
      .sort()
      .join("")
  );
}

/** Dates span two years before a fixed day, one message after another (never the clock). */
const LAST_DATE = Date.UTC(2025, 5, 1) / 1000;
const SPAN = 2 * 365 * 86_400;

export async function ensureCorpus(
  count: number,
  options: { seed?: number; root?: string; log?: (line: string) => void } = {},
): Promise<Corpus> {
  const seed = options.seed ?? DEFAULT_SEED;
  const dir = join(options.root ?? cacheRoot, `corpus-${count}`);
  const manifestPath = join(dir, "manifest.json");
  if (existsSync(manifestPath)) {
    const saved = JSON.parse(await readFile(manifestPath, "utf8")) as Omit<Corpus, "dir">;
    if (saved.version === GENERATOR_VERSION && saved.seed === seed && saved.count === count)
      return { ...saved, dir };
  }
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  for (const sub of ["cur", "new", "tmp"]) await mkdir(join(partial, "Maildir", sub), { recursive: true });

  const started = performance.now();
  const rng = new Prng(seed);
  const composer = new CorpusComposer(rng);
  const messages: CorpusMessage[] = [];
  let totalBytes = 0;
  let subjectHits = 0;
  let bodyHits = 0;
  const step = SPAN / count;
  let date = LAST_DATE - SPAN;
  // Writes overlap generation; a bounded number in flight keeps memory flat for big attachments.
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < count; i++) {
    date += Math.max(1, Math.round(step * (0.2 + 1.6 * rng.next())));
    const m = composer.compose(i + 1, date);
    // The name's leading timestamp orders Dovecot's UID assignment; S= and W= spare it a stat.
    const file = join(
      "Maildir",
      "cur",
      `${date}.M${i + 1}P${seed}.bench,S=${m.bytes.length},W=${m.bytes.length}${maildirInfo(m.flags)}`,
    );
    messages.push({ file, size: m.bytes.length, flags: m.flags, date });
    totalBytes += m.bytes.length;
    if (m.subjectHit) subjectHits++;
    if (m.bodyHit) bodyHits++;
    const write = writeMessage(join(partial, file), m.bytes, date).finally(() => inFlight.delete(write));
    inFlight.add(write);
    if (inFlight.size >= 32) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const corpus: Omit<Corpus, "dir"> = {
    version: GENERATOR_VERSION,
    seed,
    count,
    totalBytes,
    subjectMarker,
    subjectHits,
    bodyMarker,
    bodyHits,
    messages,
  };
  await writeFile(join(partial, "manifest.json"), JSON.stringify(corpus));
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  options.log?.(
    `corpus of ${count} messages (${(totalBytes / 1e6).toFixed(1)} MB) generated in ${((performance.now() - started) / 1000).toFixed(1)} s: ${dir}`,
  );
  return { ...corpus, dir };
}

async function writeMessage(path: string, bytes: Buffer, date: number): Promise<void> {
  const fh = await open(path, "w", 0o644);
  try {
    await fh.writeFile(bytes);
    // Dovecot's Maildir takes INTERNALDATE from the mtime.
    await fh.utimes(date, date);
  } finally {
    await fh.close();
  }
}

export function readCorpusMessage(corpus: Corpus, index: number): Promise<Buffer> {
  return readFile(join(corpus.dir, corpus.messages[index]!.file));
}
