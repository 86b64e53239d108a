/**
 * THREAD=REFERENCES (RFC 5256 §4): threads by Message-ID, References and In-Reply-To, then joins
 * root threads whose base subjects match, and orders siblings by sent date. The step letters in the
 * comments are the RFC's.
 */
import { bySentDate } from "./sortOrder.ts";
import type { Sortable } from "./sortable.ts";
import type { ThreadNode } from "./threadTree.ts";

interface Container {
  msg: Sortable | undefined;
  parent: Container | undefined;
  children: Container[];
}

export function threadReferences(messages: readonly Sortable[], idOf: (m: Sortable) => number): ThreadNode[] {
  const byId = new Map<string, Container>();
  const all: Container[] = [];
  const container = (): Container => {
    const c: Container = { msg: undefined, parent: undefined, children: [] };
    all.push(c);
    return c;
  };
  const named = (id: string): Container => {
    let c = byId.get(id);
    if (!c) byId.set(id, (c = container()));
    return c;
  };
  for (const m of messages) {
    // (1A) A message without an id, or with one already taken, gets a container of its own.
    const taken = m.messageId === null || byId.get(m.messageId)?.msg !== undefined;
    const self = taken ? container() : named(m.messageId!);
    self.msg = m;
    // (1B) Each reference is the child of the one before it, unless linked already or a loop.
    let prev: Container | undefined;
    for (const ref of m.references) {
      const c = named(ref);
      if (prev && c.parent === undefined && c !== prev && !isAncestor(c, prev)) link(prev, c);
      prev = c;
    }
    // (1C) The last reference is the message's parent, replacing a parent it had.
    if (self.parent) unlink(self);
    if (prev && prev !== self && !isAncestor(self, prev)) link(prev, self);
  }
  // (2) The root set; (4) dummies pruned.
  let roots = prune(
    all.filter((c) => c.parent === undefined),
    true,
  );
  // (5) Root threads with the same base subject are gathered.
  roots = gatherBySubject(roots);
  // (6) Siblings by sent date; a dummy sorts as its first child.
  sortSiblings(roots);
  return roots.map((r) => toNode(r, idOf));
}

function link(parent: Container, child: Container): void {
  child.parent = parent;
  parent.children.push(child);
}

function unlink(child: Container): void {
  const p = child.parent!;
  p.children = p.children.filter((c) => c !== child);
  child.parent = undefined;
}

/** Whether `a` is `b` or one of its ancestors. */
function isAncestor(a: Container, b: Container): boolean {
  for (let c: Container | undefined = b; c; c = c.parent) if (c === a) return true;
  return false;
}

/** (4) A dummy without children goes; one with children is replaced by them, except at the root with several. */
function prune(list: Container[], atRoot: boolean): Container[] {
  const out: Container[] = [];
  for (const c of list) {
    c.children = prune(c.children, false);
    for (const child of c.children) child.parent = c;
    if (c.msg || (atRoot && c.children.length > 1)) out.push(c);
    else out.push(...c.children);
  }
  if (atRoot) for (const c of out) c.parent = undefined;
  return out;
}

function subjectOf(c: Container): Sortable["subject"] | undefined {
  return (c.msg ?? c.children[0]?.msg)?.subject;
}

function gatherBySubject(roots: Container[]): Container[] {
  // (5A) One root per base subject: a dummy before a message, a message before a reply to it.
  const table = new Map<string, Container>();
  for (const r of roots) {
    const s = subjectOf(r);
    if (!s || s.key === "") continue;
    const old = table.get(s.key);
    if (
      !old ||
      (!r.msg && old.msg) ||
      (old.msg && r.msg && subjectOf(old)!.isReplyOrForward && !s.isReplyOrForward)
    )
      table.set(s.key, r);
  }
  // (5B) Every other root with that subject joins it.
  let out = [...roots];
  for (const r of roots) {
    const s = subjectOf(r);
    if (!s || s.key === "") continue;
    const kept = table.get(s.key)!;
    if (kept === r) continue;
    out = out.filter((c) => c !== r);
    if (!kept.msg && !r.msg) {
      for (const child of r.children) link(kept, child);
    } else if (!kept.msg) {
      link(kept, r);
    } else if (!subjectOf(kept)!.isReplyOrForward && s.isReplyOrForward) {
      link(kept, r);
    } else {
      const dummy: Container = { msg: undefined, parent: undefined, children: [] };
      out = out.map((c) => (c === kept ? dummy : c));
      link(dummy, kept);
      link(dummy, r);
      table.set(s.key, dummy);
    }
  }
  return out;
}

function sortSiblings(list: Container[]): void {
  for (const c of list) sortSiblings(c.children);
  list.sort((a, b) => bySentDate(firstMessage(a), firstMessage(b)));
}

function firstMessage(c: Container): Sortable {
  return c.msg ?? firstMessage(c.children[0]!);
}

function toNode(c: Container, idOf: (m: Sortable) => number): ThreadNode {
  return { id: c.msg ? idOf(c.msg) : undefined, children: c.children.map((k) => toNode(k, idOf)) };
}
