/** IMAP dates (RFC 3501 §9): date "1-Feb-1994" for SEARCH, date-time "dd-Mon-yyyy hh:mm:ss +zzzz" for APPEND. */
import { ParseError } from "./parseError.ts";

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

function month(name: string, whole: string): number {
  const m = MONTHS.indexOf(name.toLowerCase());
  if (m < 0) throw new ParseError(`invalid date "${whole}": unknown month ${name}`);
  return m;
}

/** Midnight UTC of the day, in ms. */
export function parseDate(text: string): number {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!m) throw new ParseError(`invalid date "${text}": expected d-Mon-yyyy`);
  const day = Number(m[1]);
  const ms = Date.UTC(Number(m[3]), month(m[2]!, text), day);
  if (new Date(ms).getUTCDate() !== day) throw new ParseError(`invalid date "${text}"`);
  return ms;
}

/** The instant a date-time names, in ms. */
export function parseDateTime(text: string): number {
  // date-day-fixed is " 5" or "05"; a bare "5" is taken too (lenient, unambiguous).
  const m = /^([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) throw new ParseError(`invalid date-time "${text}": expected "dd-Mon-yyyy hh:mm:ss +zzzz"`);
  const day = Number(m[1]!.trim());
  const [h, min, s] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (h > 23 || min > 59 || s > 60 || Number(m[9]) > 59) throw new ParseError(`invalid date-time "${text}"`);
  const utc = Date.UTC(Number(m[3]), month(m[2]!, text), day, h, min, s);
  if (new Date(Date.UTC(Number(m[3]), month(m[2]!, text), day)).getUTCDate() !== day) {
    throw new ParseError(`invalid date-time "${text}"`);
  }
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === "-" ? -1 : 1);
  return utc - offset;
}
