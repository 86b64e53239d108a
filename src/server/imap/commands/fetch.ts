/**
 * FETCH and UID FETCH (RFC 3501 §6.4.5) with CHANGEDSINCE and VANISHED (RFC 7162). UID comes
 * first in every reply (Thunderbird relies on it). Messages go out in batches: one batched meta
 * read per batch, and a body is read only when a body section is asked for, streamed by ranges.
 */
import type { ListFacts } from "../../../mail/listView.ts";
import type { BodyReader, MessageMeta, ReadScope } from "../../../mail/read/index.ts";
import type { ShownMessages } from "../../../mail/shownMessages.ts";
import type { MailEntry } from "../../../mail/uidIndex.ts";
import { envelopeBytes } from "../protocol/format/envelope.ts";
import { bodyBytes, bodyStructureBytes } from "../protocol/format/bodyStructure.ts";
import { ok } from "../protocol/errorResponse.ts";
import { setHas } from "../session/messageSet.ts";
import { binaryItem } from "./fetchBinary.ts";
import { previewItem } from "./fetchPreview.ts";
import { locateSection, sectionLiteral, sectionName, topHeaderLiteral } from "./fetchSection.ts";
import type { FetchAttribute, Section } from "../parser/types.ts";
import type { Selected, Session } from "../session/session.ts";
import { compactSet, imapDateTime, type WirePart } from "../protocol/wire.ts";
import { SELECTED, type CommandHandler, type CommandOf } from "./context.ts";
import { flagList } from "./flags.ts";
import { entriesOfUids, uidsOf } from "./selectedHelpers.ts";

const MACROS: Record<"ALL" | "FAST" | "FULL", FetchAttribute["kind"][]> = {
  FAST: ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
  ALL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
  FULL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
};

const NEEDS_META = new Set<FetchAttribute["kind"]>([
  "INTERNALDATE",
  "RFC822.SIZE",
  "ENVELOPE",
  "BODYSTRUCTURE",
  "BODY",
  "RFC822",
  "RFC822.HEADER",
  "RFC822.TEXT",
  "BODY[]",
  "BINARY",
  "BINARY.SIZE",
  "PREVIEW",
]);

/** Attributes that may come several times, once per section. */
const SECTIONED = new Set<FetchAttribute["kind"]>(["BODY[]", "BINARY", "BINARY.SIZE"]);

function attributesOf(cmd: CommandOf<"FETCH">, condstore: boolean): FetchAttribute[] {
  const attrs: FetchAttribute[] = [];
  const has = (kind: FetchAttribute["kind"]) => attrs.some((a) => a.kind === kind);
  const add = (a: FetchAttribute) => {
    if (SECTIONED.has(a.kind) || !has(a.kind)) attrs.push(a);
  };
  add({ kind: "UID" });
  if (cmd.macro) for (const kind of MACROS[cmd.macro]) add({ kind } as FetchAttribute);
  for (const a of cmd.attributes) add(a);
  if (cmd.modifiers.changedSince !== undefined || (condstore && has("FLAGS"))) add({ kind: "MODSEQ" });
  // Without UID FETCH, UID is only sent when asked (first, still).
  if (!cmd.uid && !cmd.attributes.some((a) => a.kind === "UID")) attrs.shift();
  // UID, FLAGS and MODSEQ lead, as Dovecot sends them: clients such as Python's imaplib read
  // flags from the text before the first literal.
  const rank = (a: FetchAttribute) =>
    a.kind === "UID" ? 0 : a.kind === "FLAGS" ? 1 : a.kind === "MODSEQ" ? 2 : 3;
  return attrs
    .map((a, i) => ({ a, i }))
    .sort((x, y) => rank(x.a) - rank(y.a) || x.i - y.i)
    .map((x) => x.a);
}

/** Messages per reply write when the index alone answers (as MessageReads' "index" batches). */
const INDEX_BATCH = 500;

/** Attributes the index alone answers. */
const INDEX_ONLY = new Set<FetchAttribute["kind"]>([
  "UID",
  "FLAGS",
  "MODSEQ",
  "EMAILID",
  "THREADID",
  "SAVEDATE",
]);

/** Meta attributes a message list asks for, which the list view answers (MessageStore.listFacts). */
const LIST_ONLY = new Set<FetchAttribute["kind"]>([...INDEX_ONLY, "INTERNALDATE", "RFC822.SIZE"]);

/** Attributes made without a body read, from the index, the meta or a list's facts. */
const SYNC_ITEMS = new Set<FetchAttribute["kind"]>([...LIST_ONLY, "ENVELOPE", "BODYSTRUCTURE", "BODY"]);

/** Whether the fetch reads a body part that sets \Seen (RFC 3501 §6.4.5). */
function setsSeen(attrs: FetchAttribute[]): boolean {
  return attrs.some(
    (a) =>
      ((a.kind === "BODY[]" || a.kind === "BINARY") && !a.peek) ||
      a.kind === "RFC822" ||
      a.kind === "RFC822.TEXT",
  );
}

export const fetch: CommandHandler<"FETCH"> = {
  states: SELECTED,
  async run({ session }, cmd) {
    if (cmd.modifiers.changedSince !== undefined) session.enabled.add("CONDSTORE");
    const { sel, uids } = uidsOf(session, cmd.set, cmd.uid);
    const changedSince = cmd.modifiers.changedSince;
    if (cmd.modifiers.vanished && cmd.uid && changedSince !== undefined)
      await sendVanished(session, sel, cmd, changedSince);
    const changed = (e: MailEntry) => changedSince === undefined || e.modseq > changedSince;
    const attrs = attributesOf(cmd, session.condstore);
    const needsMeta = attrs.some((a) => NEEDS_META.has(a.kind));
    const indexOnly = attrs.every((a) => INDEX_ONLY.has(a.kind));
    if (indexOnly) {
      // A client's flag resync of the whole mailbox, a batch at a time, read from the index's
      // columns by position: no entry per message, and an id's string only when EMAILID asks.
      for (let from = 0; from < uids.length; from += INDEX_BATCH) {
        const { lines, flagLists } = indexOnlyLines(session, sel, uids.slice(from, from + INDEX_BATCH), {
          attrs,
          changedSince,
        });
        if (attrs.some((a) => a.kind === "FLAGS")) await session.announceFlags(flagLists);
        if (lines) await session.out.line(lines);
      }
      return ok(`${cmd.uid ? "UID " : ""}FETCH completed`);
    }
    const entries = entriesOfUids(sel.mailbox.index, uids).filter(changed);
    const markSeen = setsSeen(attrs) && !sel.readOnly;
    const readsBody = attrs.some(
      (a) => BODY_READERS.has(a.kind) && !isTopHeader(a) && !(a.kind === "PREVIEW" && a.lazy),
    );
    const seenNow = new Set<number>();
    // Batches of 100 when bodies are read (a batch's small bodies are held at once), else of 500.
    const listOnly = attrs.every((a) => LIST_ONLY.has(a.kind) || isTopHeader(a));
    // A message list's lines are made and written without a promise each (10,000 in a row).
    const madeNow = attrs.every((a) => SYNC_ITEMS.has(a.kind) || isTopHeader(a));
    const scope: ReadScope = readsBody ? "body" : !needsMeta ? "index" : listOnly ? "list" : "meta";
    const reads = sel.mailbox.read(entries, { scope });
    for await (const read of reads) {
      let batch = read.entries;
      if (markSeen) {
        const unseen = batch.filter((e) => !e.flags.includes("\\Seen"));
        if (unseen.length > 0) {
          await sel.mailbox.setFlags(
            unseen.map((e) => e.id),
            "add",
            ["\\Seen"],
          );
          for (const e of unseen) seenNow.add(e.uid);
          const index = sel.mailbox.index;
          batch = batch.map((e) => index.byId.get(e.id) ?? e);
        }
      }
      // RFC 3501 §7.2.6: a keyword is announced in FLAGS before a FETCH shows it.
      if (markSeen || attrs.some((a) => a.kind === "FLAGS"))
        await session.announceFlags(batch.map((e) => e.flags));
      // A fresh reader per batch: the small bodies of one batch are fetched in parallel, then freed.
      const bodies = await read.bodies();
      for (const entry of batch) {
        const seq = sel.view.seqOf(entry.uid);
        if (seq === 0) continue;
        const meta = read.meta.get(entry.id);
        const facts = read.facts.get(entry.id);
        if (needsMeta && !facts) {
          session.server.log("warn", `message UID ${entry.uid} has no meta (expunged elsewhere?)`);
          continue;
        }
        const withFlags = seenNow.has(entry.uid) && !attrs.some((a) => a.kind === "FLAGS");
        const flags = session.flagsOf(entry.uid, entry.flags);
        const its = { seq, entry, flags, meta, facts, attrs: withFlags ? withFlagsItem(attrs) : attrs };
        const wait = session.out.lineNow(madeNow ? lineNow(its) : await fetchLine(bodies, its));
        if (wait) await wait;
      }
    }
    // A message list is read in chunks: the next chunk's meta is on its way before it is asked for.
    if (scope === "meta" || scope === "list") reads.prefetchFollowing();
    // What a second computer listed may be shared through the bucket for the next one.
    if (scope === "list" && entries.length > 0)
      sel.mailbox.listed(entries[0]!.uid, entries[entries.length - 1]!.uid);
    // The \Seen set here was just told; only other changes remain to report.
    if (seenNow.size > 0) await session.reportChanges(false, { uids: seenNow, silent: true });
    return ok(`${cmd.uid ? "UID " : ""}FETCH completed`);
  },
};

async function sendVanished(
  session: Session,
  sel: Selected,
  cmd: CommandOf<"FETCH">,
  since: number,
): Promise<void> {
  const index = sel.mailbox.index;
  const maxUid = Math.max(index.uidnext - 1, 0);
  const gone = index.vanished
    .filter((v) => v.modseq > since && setHas(cmd.set, v.uid, maxUid, session.savedSearch))
    .map((v) => v.uid)
    .sort((a, b) => a - b);
  if (gone.length > 0) await session.out.untagged(`VANISHED (EARLIER) ${compactSet(gone)}`);
}

/**
 * A batch's replies when only UID, FLAGS and MODSEQ are asked (a client's flag resync of a whole
 * mailbox): built as one string, sent as one write; with the flag lists they show, each once, to
 * announce first. Made in one synchronous pass: positions hold only until the index next changes.
 */
function indexOnlyLines(
  session: Session,
  sel: Selected,
  uids: readonly number[],
  { attrs, changedSince }: { attrs: FetchAttribute[]; changedSince: number | undefined },
): { lines: string; flagLists: Set<readonly string[]> } {
  const index = sel.mailbox.index;
  const shown = index.shown;
  const lines: string[] = [];
  const flagLists = new Set<readonly string[]>();
  for (const uid of uids) {
    const at = index.byUid.positionOf(uid);
    if (at < 0) continue;
    if (changedSince !== undefined && shown.modseqAt(at) <= changedSince) continue;
    const flags = shown.flagsAt(at);
    flagLists.add(flags);
    const seq = sel.view.seqOf(uid);
    if (seq === 0) continue;
    const shownFlags = session.flagsOf(uid, flags);
    const items = attrs.map((a) => indexItemAt(a.kind, shown, at, shownFlags));
    lines.push(`* ${seq} FETCH (${items.join(" ")})`);
  }
  return { lines: lines.join("\r\n"), flagLists };
}

/** A FETCH item the index answers; RFC 8474 §5: the message id is its EMAILID; no THREADID here. */
function indexItem(
  kind: FetchAttribute["kind"],
  entry: { id: string; uid: number; modseq: number; saved?: number },
  flags: readonly string[],
): string {
  switch (kind) {
    case "UID":
      return `UID ${entry.uid}`;
    case "FLAGS":
      return `FLAGS ${flagList(flags)}`;
    case "EMAILID":
      return `EMAILID (${entry.id})`;
    case "THREADID":
      return "THREADID NIL";
    case "SAVEDATE":
      // RFC 8514 §3: NIL where the save date is not known (added before it was kept).
      return `SAVEDATE ${entry.saved === undefined ? "NIL" : imapDateTime(entry.saved)}`;
    default:
      return `MODSEQ (${entry.modseq})`;
  }
}

/** As indexItem, read from the index's columns at a position. */
function indexItemAt(
  kind: FetchAttribute["kind"],
  shown: ShownMessages,
  at: number,
  flags: readonly string[],
): string {
  switch (kind) {
    case "UID":
      return `UID ${shown.uids[at]!}`;
    case "FLAGS":
      return `FLAGS ${flagList(flags)}`;
    case "MODSEQ":
      return `MODSEQ (${shown.modseqAt(at)})`;
    default: {
      // Rare in a flag resync: one entry for the others.
      const saved = shown.savedAt(at);
      return indexItem(
        kind,
        {
          id: shown.idAt(at),
          uid: shown.uids[at]!,
          modseq: shown.modseqAt(at),
          ...(saved !== 0 ? { saved } : {}),
        },
        flags,
      );
    }
  }
}

/** What one message's FETCH line is made of. */
interface LineItems {
  seq: number;
  entry: { id: string; uid: number; modseq: number; saved?: number };
  /** The flags this session shows (with \Recent where it is recent to it). */
  flags: readonly string[];
  meta: MessageMeta | undefined;
  /** The meta, or (in a "list" read) only what a message list needs. */
  facts: ListFacts | undefined;
  attrs: FetchAttribute[];
}

/** The attributes with FLAGS after UID (or first): a fetch that set \Seen shows the flags. */
function withFlagsItem(attrs: FetchAttribute[]): FetchAttribute[] {
  const at = attrs[0]?.kind === "UID" ? 1 : 0;
  return [...attrs.slice(0, at), { kind: "FLAGS" }, ...attrs.slice(at)];
}

/** A line whose every item is made without a body read (SYNC_ITEMS and top-level headers). */
function lineNow(its: LineItems): WirePart[] {
  const parts: WirePart[] = [`* ${its.seq} FETCH (`];
  for (const a of its.attrs) {
    if (parts.length > 1) parts.push(" ");
    itemNow(parts, a, its);
  }
  parts.push(")");
  return parts;
}

async function fetchLine(read: BodyReader, its: LineItems): Promise<WirePart[]> {
  const parts: WirePart[] = [`* ${its.seq} FETCH (`];
  const meta = its.meta!;
  for (const a of its.attrs) {
    if (parts.length > 1) parts.push(" ");
    switch (a.kind) {
      case "RFC822":
        parts.push("RFC822 ", ...(await sectionParts(meta, read, { part: [] })));
        break;
      case "RFC822.HEADER":
        parts.push("RFC822.HEADER ", ...(await sectionParts(meta, read, { part: [], text: "HEADER" })));
        break;
      case "RFC822.TEXT":
        parts.push("RFC822.TEXT ", ...(await sectionParts(meta, read, { part: [], text: "TEXT" })));
        break;
      case "PREVIEW":
        parts.push(await previewItem(meta, read, a.lazy));
        break;
      case "BINARY":
      case "BINARY.SIZE":
        parts.push(...(await binaryItem(meta, read, a)));
        break;
      case "BODY[]":
        if (isTopHeader(a)) itemNow(parts, a, its);
        else {
          const origin = a.partial ? `<${a.partial.offset}>` : "";
          parts.push(`BODY[${sectionName(a.section)}]${origin} `);
          parts.push(...(await sectionParts(meta, read, a.section, a.partial)));
        }
        break;
      default:
        itemNow(parts, a, its);
    }
  }
  parts.push(")");
  return parts;
}

/** Adds one item made without a body read to `parts`. */
function itemNow(parts: WirePart[], a: FetchAttribute, its: LineItems): void {
  switch (a.kind) {
    case "UID":
    case "FLAGS":
    case "MODSEQ":
    case "EMAILID":
    case "THREADID":
    case "SAVEDATE":
      parts.push(indexItem(a.kind, its.entry, its.flags));
      return;
    case "INTERNALDATE":
      parts.push(`INTERNALDATE ${imapDateTime(its.facts!.internalDate)}`);
      return;
    case "RFC822.SIZE":
      parts.push(`RFC822.SIZE ${its.facts!.size}`);
      return;
    case "ENVELOPE":
      parts.push("ENVELOPE ", envelopeBytes(its.meta!.index.envelope));
      return;
    case "BODYSTRUCTURE":
      parts.push("BODYSTRUCTURE ", bodyStructureBytes(its.meta!.index.root));
      return;
    case "BODY":
      parts.push("BODY ", bodyBytes(its.meta!.index.root));
      return;
    case "BODY[]":
      if (isTopHeader(a)) {
        const origin = a.partial ? `<${a.partial.offset}>` : "";
        parts.push(`BODY[${sectionName(a.section)}]${origin} `);
        parts.push(topHeaderLiteral(its.facts!.header, a.section, a.partial));
        return;
      }
      throw new Error(`BODY[${sectionName(a.section)}] needs a body read`);
    default:
      throw new Error(`${a.kind} needs a body read`);
  }
}

async function sectionParts(
  meta: MessageMeta,
  read: BodyReader,
  section: Section,
  partial?: { offset: number; length: number },
): Promise<WirePart[]> {
  const source = await locateSection(meta, read, section);
  if (source.kind === "missing") return ["NIL"];
  return [sectionLiteral(source, meta, read, partial)];
}

const BODY_READERS = new Set<FetchAttribute["kind"]>([
  "RFC822",
  "RFC822.TEXT",
  "BODY[]",
  "BINARY",
  "BINARY.SIZE",
  "PREVIEW",
]);

/** BODY[HEADER], BODY[HEADER.FIELDS ...] of the top-level message: served from meta. */
function isTopHeader(a: FetchAttribute): boolean {
  return a.kind === "BODY[]" && a.section.part.length === 0 && (a.section.text ?? "").startsWith("HEADER");
}
