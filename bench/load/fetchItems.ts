/**
 * The parts of an untagged FETCH response the load checker looks at, read from the text the wire
 * client joined (each literal shown as {N}, its bytes in `literals`, in order).
 */
import type { Response } from "../imapWire.ts";

export interface FetchItems {
  seq: number;
  uid?: number;
  flags?: string[];
  modseq?: number;
  /** Section name as answered ("BODY[TEXT]", "BODY[]<0>") and its bytes. */
  sections: { name: string; bytes: Buffer }[];
}

export function parseFetch(r: Response): FetchItems | undefined {
  const head = /^\* (\d+) FETCH \(/.exec(r.text);
  if (!head) return undefined;
  const items: FetchItems = { seq: Number(head[1]), sections: [] };
  // Section names and literals come first, so that FLAGS inside a header literal cannot confuse
  // the regexes below (literal bytes are not in the text, only {N}).
  const text = r.text;
  const uid = /[ (]UID (\d+)/.exec(text);
  if (uid) items.uid = Number(uid[1]);
  const flags = /[ (]FLAGS \(([^)]*)\)/.exec(text);
  if (flags) items.flags = flags[1]!.split(" ").filter(Boolean);
  const modseq = /[ (]MODSEQ \((\d+)\)/.exec(text);
  if (modseq) items.modseq = Number(modseq[1]);
  const sectionRe = /(BODY\[[^\]]*\](?:<\d+>)?) (?:\{(\d+)\}|"([^"]*)"|NIL)/g;
  let literal = 0;
  for (let m = sectionRe.exec(text); m; m = sectionRe.exec(text)) {
    if (m[2] !== undefined) {
      items.sections.push({ name: m[1]!, bytes: r.literals?.[literal] ?? Buffer.alloc(0) });
      literal++;
    } else items.sections.push({ name: m[1]!, bytes: Buffer.from(m[3] ?? "", "latin1") });
  }
  return items;
}
