/**
 * The mbox format (RFC 4155, "mboxrd" quoting): each message starts with a "From " separator line
 * (sender and an asctime date) and is followed by an empty line. A body line that would read
 * "From " is written as ">From ", and ">From " as ">>From ", so unquoting is exact (mboxrd). The
 * older mboxo only quoted "From "; reading it with mboxrd rules differs only for body lines that
 * began with ">From " before quoting, which mboxo could not tell apart anyway.
 */
import { Invalid, TooBig } from "../../errors.ts";

const LF = 0x0a;
const CR = 0x0d;
const FROM = Buffer.from("From ");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** No message of an mbox may be longer than this (a corrupt file must not exhaust memory). */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export interface MboxMessage {
  raw: Buffer;
  /** The date of the separator line (UTC, as asctime is written), when it has one. */
  date?: number;
  /** Bytes of the file consumed so far, for progress. */
  offset: number;
  /** The line number (from 1) of the message's "From " separator, for reports. */
  line: number;
}

function startsWithFrom(line: Buffer, at = 0): boolean {
  return line.length >= at + FROM.length && line.subarray(at, at + FROM.length).equals(FROM);
}

/** True for ">From ", ">>From "... (a quoted body line). */
function isQuotedFrom(line: Buffer): boolean {
  let i = 0;
  while (i < line.length && line[i] === 0x3e) i++;
  return i > 0 && startsWithFrom(line, i);
}

function isEmptyLine(line: Buffer): boolean {
  return (line.length === 1 && line[0] === LF) || (line.length === 2 && line[0] === CR && line[1] === LF);
}

/** The time of a separator line "From sender Www Mmm dd hh:mm:ss yyyy", or undefined. */
export function separatorDate(line: string): number | undefined {
  const m =
    /([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(?:(?:[A-Z]{3,5}|[+-]\d{4})\s+)?(\d{4})/.exec(
      line,
    );
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) return undefined;
  const t = Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5] ?? 0));
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Splits an mbox read as chunks into messages, unquoting ">From " lines. Memory holds one message
 * and one partial line. Text before the first separator (other than empty lines) is refused:
 * the file is then not an mbox.
 */
export async function* splitMbox(chunks: AsyncIterable<Uint8Array>): AsyncIterable<MboxMessage> {
  let carry: Buffer = Buffer.alloc(0);
  let lines: Buffer[] = [];
  let size = 0;
  let date: number | undefined;
  let started = false;
  let offset = 0;
  let lineNo = 0;
  let startLine = 0;

  const finish = (): MboxMessage => {
    // The empty line before the next separator (or at the end) belongs to the format.
    if (lines.length > 0 && isEmptyLine(lines[lines.length - 1]!)) lines.pop();
    const message: MboxMessage = {
      raw: Buffer.concat(lines),
      offset,
      line: startLine,
      ...(date !== undefined ? { date } : {}),
    };
    lines = [];
    size = 0;
    return message;
  };

  function* takeLine(line: Buffer): Generator<MboxMessage> {
    lineNo++;
    if (startsWithFrom(line)) {
      if (started) yield finish();
      started = true;
      startLine = lineNo;
      date = separatorDate(line.toString("latin1"));
      return;
    }
    if (!started) {
      if (isEmptyLine(line)) return;
      throw new Invalid(
        'not an mbox file: it does not start with a "From " line (give --format maildir for a Maildir)',
      );
    }
    const body = isQuotedFrom(line) ? line.subarray(1) : line;
    size += body.length;
    if (size > MAX_MESSAGE_BYTES)
      throw new TooBig(
        `a message of the mbox is over ${MAX_MESSAGE_BYTES / 2 ** 20} MiB; is the file an mbox?`,
      );
    lines.push(body);
  }

  for await (const chunk of chunks) {
    const data: Buffer = carry.length > 0 ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
    let start = 0;
    for (let nl = data.indexOf(LF, start); nl >= 0; nl = data.indexOf(LF, start)) {
      offset += nl + 1 - start;
      // Copy: the chunk's memory must not stay pinned by a small line.
      yield* takeLine(Buffer.from(data.subarray(start, nl + 1)));
      start = nl + 1;
    }
    carry = Buffer.from(data.subarray(start));
    if (carry.length > MAX_MESSAGE_BYTES)
      throw new TooBig("a line of the mbox is too long: is the file an mbox?");
  }
  if (carry.length > 0) {
    offset += carry.length;
    yield* takeLine(carry);
  }
  if (started) yield finish();
}

/** "Www Mmm dd hh:mm:ss yyyy" in UTC, as a separator line carries it. */
export function asctime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${pad(
    d.getUTCHours(),
  )}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/**
 * One message as an mbox entry: separator, the message with LF line ends (the Unix mbox
 * convention; the store keeps CRLF) and quoted "From " lines, then the empty line.
 */
export function mboxEntry(raw: Uint8Array, internalDate: number): Buffer {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const parts: Buffer[] = [Buffer.from(`From MAILER-DAEMON ${asctime(internalDate)}\n`)];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf(LF, start);
    const end = nl < 0 ? text.length : nl + 1;
    let line = text.subarray(start, end);
    if (line.length >= 2 && line[line.length - 2] === CR && line[line.length - 1] === LF)
      line = Buffer.concat([line.subarray(0, line.length - 2), Buffer.from("\n")]);
    else if (nl < 0) line = Buffer.concat([line, Buffer.from("\n")]);
    if (startsWithFrom(line) || isQuotedFrom(line)) parts.push(Buffer.from(">"));
    parts.push(line);
    start = end;
  }
  parts.push(Buffer.from("\n"));
  return Buffer.concat(parts);
}
