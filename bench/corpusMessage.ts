/**
 * Composes one message of the bench corpus: headers with threads and encoded words, then one of
 * several MIME shapes (plain 7bit, plain quoted-printable in UTF-8 or Latin-1, alternative with
 * HTML, mixed with a small or a large base64 attachment, a forwarded message/rfc822).
 */
import {
  bodyMarker,
  domains,
  firstNames,
  lastNames,
  mailers,
  subjectMarker,
  subjects,
  words,
} from "./corpusWords.ts";
import {
  base64Lines,
  encodedWordB,
  encodedWordQLatin1,
  isAscii,
  quotedPrintable,
  rfc5322Date,
} from "./mimeEncode.ts";
import type { Prng } from "./prng.ts";

const CRLF = "\r\n";

export interface ComposedMessage {
  bytes: Buffer;
  flags: string[];
  subjectHit: boolean;
  bodyHit: boolean;
  messageId: string;
}

interface Person {
  name: string;
  address: string;
}

interface ThreadSeed {
  messageId: string;
  subject: string;
  references: string[];
  from: Person;
  date: number;
}

interface Content {
  type: string;
  encoding?: string;
  body: string;
}

/** A body part: its MIME headers, a blank line, its encoded body. */
function part(c: Content): string {
  const encoding = c.encoding ? `Content-Transfer-Encoding: ${c.encoding}${CRLF}` : "";
  return `Content-Type: ${c.type}${CRLF}${encoding}${CRLF}${c.body}`;
}

const ZONES = [0, 60, 120, -300, -420, 330, 540, 600, -180];
const asciiWords = words.filter((w) => isAscii(w));
const latin1 = (text: string) => Buffer.from(text, "latin1").toString("latin1") === text;

/** A paragraph of words wrapped at about 72 columns, CRLF line ends. */
function paragraph(rng: Prng, vocabulary: readonly string[], wordCount: number): string {
  const lines: string[] = [];
  let line = "";
  for (let i = 0; i < wordCount; i++) {
    let word = rng.pick(vocabulary);
    if (i === 0 || rng.chance(0.06)) word = word[0]!.toUpperCase() + word.slice(1);
    if (line.length + word.length + 1 > 72) {
      lines.push(line);
      line = "";
    }
    line += (line ? " " : "") + word + (rng.chance(0.08) ? "." : "");
  }
  if (line) lines.push(line + ".");
  return lines.join(CRLF);
}

/**
 * State shared by every message of one corpus: pools of paragraphs (drawing whole paragraphs keeps
 * generation fast) and the recent messages replies point to.
 */
export class CorpusComposer {
  private readonly asciiPool: string[] = [];
  private readonly intlPool: string[] = [];
  private readonly recent: ThreadSeed[] = [];
  private readonly me: Person = { name: "Bench User", address: "bench@example.org" };

  constructor(private readonly rng: Prng) {
    for (let i = 0; i < 300; i++) {
      this.asciiPool.push(paragraph(rng, asciiWords, rng.int(30, 110)));
      this.intlPool.push(paragraph(rng, words, rng.int(30, 110)));
    }
  }

  private person(): Person {
    const first = this.rng.pick(firstNames);
    const last = this.rng.pick(lastNames);
    const local = `${first}.${last}`
      .normalize("NFD")
      .replace(/[^A-Za-z.]/g, "")
      .toLowerCase();
    return { name: `${first} ${last}`, address: `${local}@${this.rng.pick(domains)}` };
  }

  private formatPerson(p: Person): string {
    if (isAscii(p.name))
      return /[^A-Za-z0-9 ]/.test(p.name) ? `"${p.name}" <${p.address}>` : `${p.name} <${p.address}>`;
    const encoded =
      latin1(p.name) && this.rng.chance(0.3) ? encodedWordQLatin1(p.name) : encodedWordB(p.name);
    return `${encoded} <${p.address}>`;
  }

  private encodeSubject(subject: string): string {
    if (isAscii(subject) && !this.rng.chance(0.05)) return subject;
    return latin1(subject) && this.rng.chance(0.35) ? encodedWordQLatin1(subject) : encodedWordB(subject);
  }

  /** Body text of about `bytes` characters, from the ASCII or the international pool. */
  private text(bytes: number, intl: boolean, marker: boolean): string {
    const pool = intl ? this.intlPool : this.asciiPool;
    const parts: string[] = [];
    let size = 0;
    while (size < bytes) {
      const p = this.rng.pick(pool);
      parts.push(p);
      size += p.length + 4;
    }
    if (marker) parts.splice(this.rng.int(0, parts.length), 0, `See the ${bodyMarker} notes.`);
    return parts.join(CRLF + CRLF) + CRLF;
  }

  private html(text: string): string {
    const escaped = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const paras = escaped.split(CRLF + CRLF).map((p) => `<p>${p}</p>`);
    return `<html><head><meta charset="utf-8"></head><body>${CRLF}${paras.join(CRLF)}${CRLF}</body></html>${CRLF}`;
  }

  private textContent(text: string, kind: "7bit" | "qp-utf8" | "qp-latin1", subtype = "plain"): Content {
    if (kind === "7bit") return { type: `text/${subtype}; charset=us-ascii`, encoding: "7bit", body: text };
    const charset = kind === "qp-utf8" ? "utf-8" : "iso-8859-1";
    const bytes = Buffer.from(text, kind === "qp-utf8" ? "utf8" : "latin1");
    return {
      type: `text/${subtype}; charset=${charset}`,
      encoding: "quoted-printable",
      body: quotedPrintable(bytes),
    };
  }

  private textPart(text: string, kind: "7bit" | "qp-utf8" | "qp-latin1", subtype = "plain"): string {
    return part(this.textContent(text, kind, subtype));
  }

  private attachmentPart(size: number, index: number): string {
    const kinds = [
      ["application/pdf", `report-${index}.pdf`],
      ["image/jpeg", `IMG_${4000 + index}.jpg`],
      ["application/zip", `archive-${index}.zip`],
      ["application/pdf", `résumé-${index}.pdf`],
    ] as const;
    const [type, name] = this.rng.pick(kinds);
    // RFC 2231 for a non-ASCII file name, as mail clients write it.
    const param = isAscii(name) ? `filename="${name}"` : `filename*=utf-8''${encodeURIComponent(name)}`;
    const payload = this.rng.fill(Buffer.allocUnsafe(size));
    return (
      `Content-Type: ${type}; name="${isAscii(name) ? name : "attachment.pdf"}"${CRLF}` +
      `Content-Disposition: attachment; ${param}${CRLF}` +
      `Content-Transfer-Encoding: base64${CRLF}${CRLF}${base64Lines(payload)}`
    );
  }

  private multipart(subtype: string, parts: string[], index: number): Content {
    const boundary = `----=_Part_${index}_${this.rng.nextU32().toString(16)}`;
    const body =
      `This is a multi-part message in MIME format.${CRLF}` +
      parts.map((p) => `${CRLF}--${boundary}${CRLF}${p}`).join("") +
      `${CRLF}--${boundary}--${CRLF}`;
    return { type: `multipart/${subtype};${CRLF} boundary="${boundary}"`, body };
  }

  compose(index: number, date: number): ComposedMessage {
    const rng = this.rng;
    const parent = this.recent.length > 0 && rng.chance(0.35) ? rng.pick(this.recent) : undefined;
    const from = rng.chance(0.15) ? this.me : this.person();
    const to = from === this.me ? [this.person()] : [this.me, ...(rng.chance(0.3) ? [this.person()] : [])];
    const cc = rng.chance(0.25) ? [this.person(), ...(rng.chance(0.3) ? [this.person()] : [])] : [];
    let subject = parent
      ? parent.subject.startsWith("Re: ")
        ? parent.subject
        : `Re: ${parent.subject}`
      : rng.chance(0.05)
        ? `Quarterly ${rng.pick(asciiWords)} ${rng.pick(asciiWords)}`
        : rng.pick(subjects);
    if (!parent && rng.chance(0.5)) subject += ` (${rng.pick(words)})`;
    const domain = rng.pick(domains);
    const messageId = `<${index}.${rng.nextU32().toString(36)}${rng.nextU32().toString(36)}@${domain}>`;
    const references = parent ? [...parent.references, parent.messageId].slice(-10) : [];

    const intl = rng.chance(0.45);
    const bodyHit = rng.chance(0.03);
    const targetSize = Math.round(Math.exp(Math.log(1500) + rng.next() * Math.log(18_000 / 1500)));
    let text = this.text(targetSize, intl, bodyHit);
    if (parent) {
      const quoted = this.rng
        .pick(this.asciiPool)
        .split(CRLF)
        .map((l) => `> ${l}`)
        .join(CRLF);
      text = `${this.text(Math.max(900, targetSize / 3), intl, bodyHit)}${CRLF}On ${rfc5322Date(parent.date, 0)}, ${parent.from.name} wrote:${CRLF}${quoted}${CRLF}`;
    }
    const textKind = intl ? (rng.chance(0.3) ? "qp-latin1" : "qp-utf8") : "7bit";

    const shape = rng.next();
    const big = rng.chance(0.012);
    let content: Content;
    if (big) {
      const alt = this.multipart(
        "alternative",
        [this.textPart(text, textKind), this.textPart(this.html(text), "qp-utf8", "html")],
        index,
      );
      const size = Math.round(Math.exp(Math.log(100_000) + rng.next() * Math.log(5_000_000 / 100_000)));
      content = this.multipart("mixed", [part(alt), this.attachmentPart(size, index)], index);
    } else if (shape < 0.5) {
      content = this.textContent(text, textKind);
    } else if (shape < 0.78) {
      content = this.multipart(
        "alternative",
        [this.textPart(text, textKind), this.textPart(this.html(text), "qp-utf8", "html")],
        index,
      );
    } else if (shape < 0.95) {
      content = this.multipart(
        "mixed",
        [this.textPart(text, textKind), this.attachmentPart(rng.int(3_000, 15_000), index)],
        index,
      );
    } else {
      const inner =
        `From: ${this.formatPerson(this.person())}${CRLF}To: ${this.formatPerson(this.me)}${CRLF}` +
        `Subject: ${this.encodeSubject(rng.pick(subjects))}${CRLF}Date: ${rfc5322Date(date - 86_400 * rng.int(1, 30), 60)}${CRLF}` +
        `Message-ID: <fwd.${index}@${domain}>${CRLF}MIME-Version: 1.0${CRLF}${this.textPart(this.text(1200, false, false), "7bit")}`;
      content = this.multipart(
        "mixed",
        [
          this.textPart(text, textKind),
          `Content-Type: message/rfc822${CRLF}Content-Disposition: inline${CRLF}${CRLF}${inner}`,
        ],
        index,
      );
    }

    const headers = [
      `Return-Path: <${from.address}>`,
      `Received: from mx${rng.int(1, 9)}.${domain} (mx.${domain} [192.0.2.${rng.int(1, 254)}])${CRLF}\tby mail.example.org (Postfix) with ESMTPS id ${rng.nextU32().toString(16).toUpperCase()}${CRLF}\tfor <bench@example.org>; ${rfc5322Date(date + 2, 0)}`,
      `Date: ${rfc5322Date(date, rng.pick(ZONES))}`,
      `From: ${this.formatPerson(from)}`,
      `To: ${to.map((p) => this.formatPerson(p)).join(`,${CRLF} `)}`,
      ...(cc.length ? [`Cc: ${cc.map((p) => this.formatPerson(p)).join(`,${CRLF} `)}`] : []),
      `Subject: ${this.encodeSubject(subject)}`,
      `Message-ID: ${messageId}`,
      ...(parent ? [`In-Reply-To: ${parent.messageId}`, `References: ${references.join(`${CRLF} `)}`] : []),
      `MIME-Version: 1.0`,
      `Content-Type: ${content.type}`,
      ...(content.encoding ? [`Content-Transfer-Encoding: ${content.encoding}`] : []),
      `X-Mailer: ${rng.pick(mailers)}`,
      ...(rng.chance(0.04) ? ["X-Priority: 1 (Highest)"] : []),
    ];
    const bytes = Buffer.from(headers.join(CRLF) + CRLF + CRLF + content.body, "utf8");

    this.recent.push({ messageId, subject, references, from, date });
    if (this.recent.length > 50) this.recent.shift();
    const flags: string[] = [];
    if (rng.chance(0.05)) flags.push("\\Flagged");
    if (rng.chance(0.1)) flags.push("\\Answered");
    if (rng.chance(0.4)) flags.push("\\Seen");
    return {
      bytes,
      flags,
      subjectHit: subject.toLowerCase().includes(subjectMarker),
      bodyHit,
      messageId,
    };
  }
}
