/**
 * A THREAD answer (RFC 5256 §4, §5): a forest of messages, and its wire form. A node with one child
 * continues its parent's list ("(1 2 3)"); with several, each child is a list of its own
 * ("(1 (2)(3 4))"). A dummy node (REFERENCES: a message referred to but not in the set) has no number.
 */
export interface ThreadNode {
  /** Sequence number or UID; undefined for a dummy. */
  id: number | undefined;
  children: ThreadNode[];
}

export function threadResponse(roots: readonly ThreadNode[]): string {
  return "THREAD" + (roots.length > 0 ? " " + roots.map((r) => `(${members(r)})`).join("") : "");
}

function members(node: ThreadNode): string {
  const parts: string[] = [];
  let cur: ThreadNode | undefined = node;
  while (cur) {
    if (cur.id !== undefined) parts.push(String(cur.id));
    if (cur.children.length === 1) {
      cur = cur.children[0];
      continue;
    }
    if (cur.children.length > 1) parts.push(cur.children.map((c) => `(${members(c)})`).join(""));
    cur = undefined;
  }
  return parts.join(" ");
}
