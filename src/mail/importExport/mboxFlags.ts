/**
 * The flags an mbox keeps in each message's header, as mail programs write them there:
 * - `Status:` (mutt, Thunderbird, Unix mail): R read -> \Seen; O old (seen by the program, not
 *   necessarily read: no flag); D deleted -> \Deleted.
 * - `X-Status:` (mutt): A answered -> \Answered, F flagged -> \Flagged, D deleted -> \Deleted,
 *   T draft -> \Draft.
 * - `X-Mozilla-Status:` (Thunderbird, 4 hex digits): 0x1 read, 0x2 replied, 0x4 marked (flagged),
 *   0x8 expunged (deleted).
 * - `X-Mozilla-Keys:` (Thunderbird): keywords separated by spaces (`$label1`, `work`...), kept as
 *   IMAP keywords when they are valid atoms.
 * Only the top-level header block is read, and the bytes stay as they are.
 */
const STATUS: Record<string, string> = { R: "\\Seen", D: "\\Deleted" };
const X_STATUS: Record<string, string> = {
  A: "\\Answered",
  F: "\\Flagged",
  D: "\\Deleted",
  T: "\\Draft",
};
const MOZILLA: [number, string][] = [
  [0x1, "\\Seen"],
  [0x2, "\\Answered"],
  [0x4, "\\Flagged"],
  [0x8, "\\Deleted"],
];
/** An IMAP atom (RFC 3501 atom-char), not a system flag: what a keyword may be. */
const KEYWORD = /^[^\\(){ %*"\]\x00-\x1f\x7f-\uffff]+$/;

/** The header block's fields by lower-cased name (the first of each), folded lines joined. */
function headerFields(raw: Uint8Array): Map<string, string> {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("latin1");
  const end = /\r?\n\r?\n/.exec(text);
  const block = end ? text.slice(0, end.index) : text;
  const fields = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
  }
  return fields;
}

export function mboxFlags(raw: Uint8Array): string[] {
  const fields = headerFields(raw);
  const flags = new Set<string>();
  for (const letter of fields.get("status") ?? "") if (STATUS[letter]) flags.add(STATUS[letter]);
  for (const letter of fields.get("x-status") ?? "") if (X_STATUS[letter]) flags.add(X_STATUS[letter]);
  const mozilla = fields.get("x-mozilla-status");
  if (mozilla && /^[0-9a-fA-F]{1,4}$/.test(mozilla)) {
    const bits = parseInt(mozilla, 16);
    for (const [bit, flag] of MOZILLA) if (bits & bit) flags.add(flag);
  }
  for (const word of (fields.get("x-mozilla-keys") ?? "").split(/\s+/))
    if (word && KEYWORD.test(word)) flags.add(word);
  return [...flags];
}
