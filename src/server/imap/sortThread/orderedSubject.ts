/**
 * THREAD=ORDEREDSUBJECT (RFC 5256 §4): messages with the same base subject form one thread; its
 * first message by sent date is the parent of all the others, and threads come in the order of
 * their first messages.
 */
import { bySentDate } from "./sortOrder.ts";
import type { Sortable } from "./sortable.ts";
import type { ThreadNode } from "./threadTree.ts";

export function orderedSubject(messages: readonly Sortable[], idOf: (m: Sortable) => number): ThreadNode[] {
  const bySubject = new Map<string, Sortable[]>();
  for (const m of messages) {
    const group = bySubject.get(m.subject.key);
    if (group) group.push(m);
    else bySubject.set(m.subject.key, [m]);
  }
  const threads = [...bySubject.values()].map((group) => group.sort(bySentDate));
  threads.sort((a, b) => bySentDate(a[0]!, b[0]!));
  return threads.map(([first, ...rest]) => ({
    id: idOf(first!),
    children: rest.map((m) => ({ id: idOf(m), children: [] })),
  }));
}
