/** Sequence sets (RFC 3501 §9 sequence-set, RFC 5182 "$"): "1:3,5,7:*". */
import { ParseError } from "./parseError.ts";
import type { SequenceSet } from "./types.ts";

const MAX = 4294967295;

function seqNumber(text: string, whole: string): number {
  if (text === "*") return Infinity;
  if (!/^[1-9][0-9]*$/.test(text))
    throw new ParseError(`invalid sequence set "${whole}": "${text}" is not a number above 0`);
  const n = Number(text);
  if (n > MAX) throw new ParseError(`invalid sequence set "${whole}": ${text} is too large`);
  return n;
}

export function parseSequenceSet(text: string): SequenceSet {
  if (text === "$") return { saved: true };
  if (text === "") throw new ParseError("a sequence set was expected");
  const ranges = text.split(",").map((item) => {
    const bounds = item.split(":");
    if (bounds.length > 2) throw new ParseError(`invalid sequence set "${text}"`);
    const from = seqNumber(bounds[0]!, text);
    const to = bounds.length === 2 ? seqNumber(bounds[1]!, text) : from;
    return { from, to };
  });
  return { ranges };
}
