/**
 * Drives a CommandReader from bytes written into a PassThrough, as a socket would deliver them.
 * Grammar tests go through the real framing, so a literal in a test line is framed exactly as a
 * client's would be.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import {
  CommandReader,
  type CommandReaderOptions,
} from "../../../../src/server/imap/parser/commandReader.ts";
import type { Command, ParseFailure, TaggedCommand } from "../../../../src/server/imap/parser/types.ts";

export type ReadResult = TaggedCommand | ParseFailure | null;

export interface Harness {
  input: PassThrough;
  reader: CommandReader;
  /** Every continuation text the reader sent. */
  continuations: string[];
}

export function harness(opts: Partial<CommandReaderOptions> = {}): Harness {
  const input = new PassThrough();
  const continuations: string[] = [];
  const reader = new CommandReader(input, {
    appendLimit: 1024 * 1024,
    loggedIn: () => true,
    continuation: (text) => continuations.push(text),
    ...opts,
  });
  return { input, reader, continuations };
}

/** Writes the bytes in the given pieces, ends the input and reads every result. */
export async function readAll(
  pieces: (string | Buffer)[],
  opts: Partial<CommandReaderOptions> = {},
): Promise<{ results: Exclude<ReadResult, null>[]; continuations: string[] }> {
  const h = harness(opts);
  for (const p of pieces) h.input.write(p);
  h.input.end();
  const results: Exclude<ReadResult, null>[] = [];
  for (let i = 0; i < 10_000; i++) {
    const r = await h.reader.next();
    if (r === null) break;
    results.push(r);
  }
  return { results, continuations: h.continuations };
}

/** The single result of one command (CRLF added). */
export async function parseOne(line: string | Buffer): Promise<Exclude<ReadResult, null>> {
  const bytes = typeof line === "string" ? Buffer.from(line + "\r\n", "utf8") : line;
  const { results } = await readAll([bytes]);
  assert.equal(results.length, 1, `one result expected for ${JSON.stringify(line)}`);
  return results[0]!;
}

/** The command a line parses to; fails the test with the parser's message otherwise. */
export async function command(line: string): Promise<Command> {
  const r = await parseOne(line);
  if (!("command" in r)) assert.fail(`${line} did not parse: ${r.status} ${r.text}`);
  return r.command;
}

/** The failure a line gives; fails the test when it parses. */
export async function failureOf(line: string): Promise<ParseFailure> {
  const r = await parseOne(line);
  if ("command" in r) assert.fail(`${line} parsed as ${JSON.stringify(r.command)}`);
  return r;
}

export function isFailure(r: ReadResult): r is ParseFailure {
  return r !== null && !("command" in r);
}
