/**
 * A seeded generator of messages and SEARCH queries for the index-against-scan test: words with
 * letters whose lower case is special (İ, Σ, ß, ǅ), headers in RFC 2047 encoded words, bodies in
 * quoted-printable, base64 and latin-1, multipart messages, folded header lines.
 */

export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const WORDS = [
  "Quarterly",
  "report",
  "zanzibar",
  "Zürich",
  "straße",
  "STRASSE",
  "İstanbul",
  "ΣΟΦΙΑΣ",
  "σοφία",
  "naïve",
  "café",
  "ǅungla",
  "Meeting",
  "budget",
  "ALPHA",
  "beta",
  "Gamma",
  "lunch",
  "invoice",
  "Übersicht",
  "münchen",
  "façade",
  "ﬁle",
  "K",
  "résumé",
  "x-ray",
  "e-mail",
  "foo@bar",
  "100%",
];

const NAMES = ["Jürgen Groß", "Ann O'Neil", "Σοφία", "bob", "Carol Dünn", "İlker"];

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function words(random: () => number, n: number): string {
  return Array.from({ length: n }, () => pick(random, WORDS)).join(" ");
}

function encodedWord(text: string, random: () => number): string {
  if (random() < 0.5) return `=?UTF-8?B?${Buffer.from(text).toString("base64")}?=`;
  const q = [...Buffer.from(text)]
    .map((c) =>
      c === 0x20
        ? "_"
        : c > 0x7e || c === 0x3d || c === 0x3f || c === 0x5f
          ? `=${c.toString(16).toUpperCase().padStart(2, "0")}`
          : String.fromCharCode(c),
    )
    .join("");
  return `=?UTF-8?Q?${q}?=`;
}

function headerText(random: () => number, text: string): string {
  const roll = random();
  if (roll < 0.3) return encodedWord(text, random);
  if (roll < 0.4) return text.replace(" ", "\r\n "); // folded
  return text;
}

function quotedPrintable(text: string): string {
  return [...Buffer.from(text)]
    .map((c) =>
      c === 0x0a || c === 0x0d
        ? String.fromCharCode(c)
        : c > 0x7e || c === 0x3d
          ? `=${c.toString(16).toUpperCase().padStart(2, "0")}`
          : String.fromCharCode(c),
    )
    .join("");
}

function textPart(random: () => number, text: string): string {
  const roll = random();
  if (roll < 0.3)
    return `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(text)}\r\n`;
  if (roll < 0.5)
    return `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(text).toString("base64")}\r\n`;
  if (roll < 0.6) {
    const latin = text.replace(/[^\x00-\xff]/g, "?");
    return `Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(latin, "latin1").toString("base64")}\r\n`;
  }
  if (roll < 0.7) return `Content-Type: text/html; charset=utf-8\r\n\r\n<p>${text}</p>\r\n`;
  return `Content-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n`;
}

/** A display name quoted, encoded or plain (FROM and TO also match `Name <address>`). */
function displayName(random: () => number): string {
  const name = pick(random, NAMES);
  const roll = random();
  if (roll < 0.3) return `"${name}"`;
  return headerText(random, name);
}

/** One address, two, or a group (RFC 5322 §3.4). */
function toList(random: () => number, i: number): string {
  const roll = random();
  const one = `${headerText(random, pick(random, NAMES))} <to${i % 5}@example.net>`;
  if (roll < 0.6) return one;
  if (roll < 0.8) return `${one},\r\n ${displayName(random)} <to${(i + 1) % 5}@example.net>`;
  return `Team: ${displayName(random)} <team${i % 2}@example.net>, x${i % 3}@example.net;`;
}

export function corpusMessage(random: () => number, i: number): { raw: string; flags: string; date: string } {
  const subject = words(random, 1 + Math.floor(random() * 4));
  const body = Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
    words(random, 3 + Math.floor(random() * 10)),
  ).join("\n");
  const day = 1 + Math.floor(random() * 27);
  const headers = [
    `From: ${displayName(random)} <user${i % 7}@example.org>`,
    `To: ${toList(random, i)}`,
    ...(random() < 0.4 ? [`Cc: ${pick(random, NAMES)} <cc@example.com>`] : []),
    ...(random() < 0.2 ? [`Bcc: ${displayName(random)} <bcc${i % 3}@example.com>`] : []),
    `Message-ID: <m${i}.${pick(random, WORDS).toLowerCase()}@example.org>`,
    `Subject: ${headerText(random, subject)}`,
    `Date: Mon, ${day} Feb 2026 10:00:00 +0100`,
    ...(random() < 0.3 ? [`X-Tag: ${words(random, 2)}`] : []),
    // A field given twice: a search matches either value, from the index as from the scan.
    ...(random() < 0.15 ? [`X-Tag: ${headerText(random, words(random, 1))}`] : []),
    ...(random() < 0.1 ? [`Cc: ${displayName(random)} <cc2@example.com>`] : []),
    "MIME-Version: 1.0",
  ];
  let content: string;
  if (random() < 0.25) {
    const boundary = `b${i}`;
    content =
      `Content-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n--${boundary}\r\n${textPart(random, body)}` +
      `--${boundary}\r\n${textPart(random, words(random, 5))}--${boundary}--\r\n`;
  } else content = textPart(random, body);
  const flags = random() < 0.4 ? "\\Seen" : "";
  return {
    raw: `${headers.join("\r\n")}\r\n${content}`.replace(/\r?\n/g, "\r\n"),
    flags,
    date: `${day}-Feb-2026 09:00:00 +0000`,
  };
}

/** A needle: a random piece of a corpus word (any length from 1, random case), or a miss. */
function needle(random: () => number): string {
  if (random() < 0.1) return pick(random, ["zz", "qqq", "nothing-here", "ß", "İ", "σ", "i̇", ""]);
  const word = pick(random, [...WORDS, ...NAMES]);
  const start = Math.floor(random() * word.length);
  const end = Math.min(word.length, start + 1 + Math.floor(random() * 8));
  let piece = word.slice(start, end);
  if (random() < 0.3) piece = piece.toUpperCase();
  else if (random() < 0.3) piece = piece.toLowerCase();
  return piece;
}

/**
 * `Name <box@domain>` as a client shows it (a quoted name in the header matches only this way), or
 * the join of two addresses; whole or its end, in a random case.
 */
function addressNeedle(random: () => number): string {
  const box = () =>
    pick(random, [
      `user${Math.floor(random() * 7)}@example.org`,
      `to${Math.floor(random() * 5)}@example.net`,
    ]);
  const whole =
    random() < 0.8
      ? `${pick(random, NAMES)} <${box()}>`
      : `${box()}>, ${pick(random, NAMES)} <${pick(random, ["to", "team"])}${Math.floor(random() * 5)}@`;
  const piece = random() < 0.6 ? whole : whole.slice(Math.floor((random() * whole.length) / 2));
  return random() < 0.3 ? piece.toUpperCase() : piece;
}

const quoted = (s: string) => `"${s.replace(/["\\]/g, (c) => "\\" + c)}"`;

function simpleKey(random: () => number): string {
  const n = quoted(needle(random));
  switch (Math.floor(random() * 16)) {
    case 0:
    case 1:
      return `BODY ${n}`;
    case 2:
      return `TEXT ${n}`;
    case 3:
      return `SUBJECT ${n}`;
    case 4:
      return `FROM ${n}`;
    case 5:
      return `TO ${n}`;
    case 6:
      return `CC ${n}`;
    case 7:
      return random() < 0.3 ? `HEADER X-Tag ""` : `HEADER X-Tag ${n}`;
    case 8:
      return `NOT BODY ${n}`;
    case 9:
      return `LARGER ${200 + Math.floor(random() * 600)}`;
    case 12:
      return `BCC ${n}`;
    case 11:
      return `NOT ${pick(random, ["SUBJECT", "FROM", "TO", "CC"])} ${n}`;
    case 13:
      return `HEADER ${pick(random, ["Subject", "From", "to", "CC", "Message-ID", "MIME-Version", "Date", "Bcc", "X-Tag", "Content-Type"])} ${n}`;
    case 14:
      // What a client shows of an address: matched against `name <mailbox@domain>` (addressTexts).
      return `${pick(random, ["FROM", "FROM", "TO", "BCC"])} ${quoted(addressNeedle(random))}`;
    case 10:
      return `SENTSINCE ${1 + Math.floor(random() * 27)}-Feb-2026`;
    default:
      return random() < 0.5 ? "SEEN" : `SENTBEFORE ${1 + Math.floor(random() * 27)}-Feb-2026`;
  }
}

export function queryFor(random: () => number): string {
  const roll = random();
  if (roll < 0.5) return simpleKey(random);
  if (roll < 0.75) return `OR ${simpleKey(random)} ${simpleKey(random)}`;
  return `${simpleKey(random)} ${simpleKey(random)}`;
}
