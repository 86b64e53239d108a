/**
 * LSUB (RFC 3501 §6.3.9): the subscribed names matching the pattern, whether or not their mailbox
 * still exists. Where `%` stops above a subscribed name, its unsubscribed parent is listed
 * \Noselect (foo for a subscribed foo/bar), so a client can still walk down to it.
 */
import { ok } from "../protocol/errorResponse.ts";
import { ancestors, listMatcher } from "../protocol/listPattern.ts";
import { mailboxWire } from "../protocol/mailboxName.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";
import { inboxFirst } from "./list.ts";

export const lsub: CommandHandler<"LSUB"> = {
  states: AUTHENTICATED,
  async run({ session, out }, cmd) {
    const { list } = await session.requireAccount.listMailboxes();
    const matches = listMatcher(cmd.reference, cmd.pattern);
    const subscribed = new Set([...list].filter(([, e]) => e.subscribed).map(([name]) => name));
    const shown = new Map<string, string>();
    for (const name of subscribed) {
      if (matches(name)) shown.set(name, "()");
      if (!cmd.pattern.includes("%")) continue;
      for (const parent of ancestors(name))
        if (!subscribed.has(parent) && matches(parent)) shown.set(parent, "(\\Noselect)");
    }
    for (const name of [...shown.keys()].sort(inboxFirst))
      await out.untagged(`LSUB ${shown.get(name)!} "/" ${mailboxWire(name, session.utf8Names)}`);
    return ok("LSUB completed");
  },
};
