/**
 * LIST (RFC 3501 §6.3.8 with LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154).
 * Every reply carries \HasChildren or \HasNoChildren (CHILDREN, RFC 3348) and the mailbox's special
 * use, as Dovecot does. A subscription outlives its mailbox (RFC 3501 §6.3.6): with (SUBSCRIBED)
 * such a name is listed \NonExistent; with RECURSIVEMATCH a parent of a subscribed name carries
 * CHILDINFO ("SUBSCRIBED") (RFC 5258 §3.5).
 */
import type { Account } from "../../../mail/account.ts";
import { ok } from "../protocol/errorResponse.ts";
import { ancestors, listMatcher } from "../protocol/listPattern.ts";
import { mailboxWire } from "../protocol/mailboxName.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";
import { statusLine } from "./status.ts";

export const list: CommandHandler<"LIST"> = {
  states: AUTHENTICATED,
  async run({ session, out }, cmd) {
    const account = session.requireAccount;
    if (cmd.patterns.length === 1 && cmd.patterns[0] === "" && cmd.selection.length === 0) {
      // RFC 3501: an empty pattern asks for the delimiter and the root.
      await out.untagged('LIST (\\Noselect) "/" ""');
      return ok("LIST completed");
    }
    // Right after LOGIN, the list read beside the key root's (one round trip less).
    const { list: entries, mailboxes } = await account.listMailboxes({ loginRead: true });
    const live = new Map(mailboxes.map((m) => [m.name, m]));
    const subscribed = new Set([...entries].filter(([, e]) => e.subscribed).map(([name]) => name));
    const parents = new Set<string>();
    for (const m of mailboxes) for (const a of ancestors(m.name)) parents.add(a);
    const matchers = cmd.patterns.map((p) => listMatcher(cmd.reference, p));
    const matches = (name: string) => matchers.some((m) => m(name));
    const onlySubscribed = cmd.selection.includes("SUBSCRIBED");
    const onlySpecial = cmd.selection.includes("SPECIAL-USE");
    const recursive = cmd.selection.includes("RECURSIVEMATCH") && onlySubscribed;
    const showSubscribed = onlySubscribed || cmd.returnOptions.includes("SUBSCRIBED");
    const wildcardLevel = cmd.patterns.some((p) => p.includes("%"));

    const names = new Set<string>([...live.keys()].filter(matches));
    // A name that is only a parent of others shows as \Noselect where `%` stops above its children.
    if (wildcardLevel) for (const p of parents) if (!live.has(p) && matches(p)) names.add(p);
    if (onlySubscribed) for (const s of subscribed) if (matches(s)) names.add(s);
    const subscribedBelow = new Set<string>();
    if (recursive) {
      for (const s of subscribed) for (const a of ancestors(s)) subscribedBelow.add(a);
      for (const a of subscribedBelow) if (matches(a)) names.add(a);
    }

    for (const name of [...names].sort(inboxFirst)) {
      const info = live.get(name);
      const childInfo = subscribedBelow.has(name);
      if (onlySubscribed && !subscribed.has(name) && !childInfo) continue;
      if (onlySpecial && !info?.specialUse) continue;
      const attrs: string[] = [];
      if (info) attrs.push(childrenAttribute(name, parents));
      else if (parents.has(name)) attrs.push("\\Noselect", "\\HasChildren");
      // RFC 5258 §3: a name with neither a mailbox nor children under it (\NonExistent implies \Noselect).
      else attrs.push("\\NonExistent");
      if (showSubscribed && subscribed.has(name)) attrs.push("\\Subscribed");
      if (info?.specialUse) attrs.push(info.specialUse);
      const extended = childInfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : "";
      await out.untagged(`LIST (${attrs.join(" ")}) "/" ${mailboxWire(name, session.utf8Names)}${extended}`);
      if (cmd.returnStatus && info) {
        await out.untagged(await statusLine(account, name, cmd.returnStatus, session.utf8Names, info));
      }
    }
    return ok("LIST completed");
  },
};

function childrenAttribute(name: string, parents: Set<string>): string {
  return parents.has(name) ? "\\HasChildren" : "\\HasNoChildren";
}

/** The LIST line SELECT sends to an IMAP4rev2 client (RFC 9051 §6.3.2), with the same attributes. */
export async function selectedListLine(account: Account, name: string, utf8Names: boolean): Promise<string> {
  const { mailboxes } = await account.listMailboxes();
  const parents = new Set<string>();
  for (const m of mailboxes) for (const a of ancestors(m.name)) parents.add(a);
  const special = mailboxes.find((m) => m.name === name)?.specialUse;
  const attrs = [childrenAttribute(name, parents), ...(special ? [special] : [])];
  return `LIST (${attrs.join(" ")}) "/" ${mailboxWire(name, utf8Names)}`;
}

export function inboxFirst(a: string, b: string): number {
  if (a === "INBOX") return -1;
  if (b === "INBOX") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
