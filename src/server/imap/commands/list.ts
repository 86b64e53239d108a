/**
 * LIST (RFC 3501 §6.3.8 with LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154)
 * and LSUB (§6.3.9). Every reply carries \HasChildren or \HasNoChildren (CHILDREN, RFC 3348) and
 * the mailbox's special use, as Dovecot does.
 */
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
    const { mailboxes } = await account.listMailboxes();
    const live = new Map(mailboxes.map((m) => [m.name, m]));
    const parents = new Set<string>();
    for (const m of mailboxes) for (const a of ancestors(m.name)) parents.add(a);
    const matchers = cmd.patterns.map((p) => listMatcher(cmd.reference, p));
    const matches = (name: string) => matchers.some((m) => m(name));
    const onlySubscribed = cmd.selection.includes("SUBSCRIBED");
    const onlySpecial = cmd.selection.includes("SPECIAL-USE");
    const showSubscribed = onlySubscribed || cmd.returnOptions.includes("SUBSCRIBED");
    const wildcardLevel = cmd.patterns.some((p) => p.includes("%"));

    const names = new Set<string>([...live.keys()].filter(matches));
    // A name that is only a parent of others shows as \Noselect where `%` stops above its children.
    if (wildcardLevel) for (const p of parents) if (!live.has(p) && matches(p)) names.add(p);

    for (const name of [...names].sort(inboxFirst)) {
      const info = live.get(name);
      if (onlySubscribed && !info?.subscribed) continue;
      if (onlySpecial && !info?.specialUse) continue;
      const attrs: string[] = [];
      if (!info) attrs.push("\\Noselect");
      attrs.push(parents.has(name) ? "\\HasChildren" : "\\HasNoChildren");
      if (showSubscribed && info?.subscribed) attrs.push("\\Subscribed");
      if (info?.specialUse) attrs.push(info.specialUse);
      await out.untagged(`LIST (${attrs.join(" ")}) "/" ${mailboxWire(name)}`);
      if (cmd.returnStatus && info) {
        await out.untagged(await statusLine(account, name, cmd.returnStatus));
      }
    }
    return ok("LIST completed");
  },
};

export const lsub: CommandHandler<"LSUB"> = {
  states: AUTHENTICATED,
  async run({ session, out }, cmd) {
    const { mailboxes } = await session.requireAccount.listMailboxes();
    const matches = listMatcher(cmd.reference, cmd.pattern);
    for (const m of mailboxes) {
      if (m.subscribed && matches(m.name)) await out.untagged(`LSUB () "/" ${mailboxWire(m.name)}`);
    }
    return ok("LSUB completed");
  },
};

function inboxFirst(a: string, b: string): number {
  if (a === "INBOX") return -1;
  if (b === "INBOX") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
