/**
 * APPEND (RFC 3501 §6.3.11) with APPENDUID (RFC 4315), APPENDLIMIT (RFC 7889) and MULTIAPPEND
 * (RFC 3502: several messages in one command, stored all together or not at all).
 */
import { NotFound } from "../../../errors.ts";
import type { AppendResult, Mailbox } from "../../../mail/mailbox.ts";
import type { AppendMessage } from "../parser/types.ts";
import { no, ok } from "../protocol/errorResponse.ts";
import { compactSet } from "../protocol/wire.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";
import { settableFlags } from "./flags.ts";

export const append: CommandHandler<"APPEND"> = {
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    // RFC 3502 §6.3.11: one message the server refuses fails the whole command; nothing is stored.
    for (const [i, m] of cmd.messages.entries()) {
      const which = cmd.messages.length > 1 ? ` (message ${i + 1})` : "";
      if (m.message.length === 0) return no(`an empty message cannot be stored${which}`);
      if (m.message.length > session.server.appendLimit) {
        return no(
          `message${which} is larger than the limit of ${session.server.appendLimit} bytes`,
          "TOOBIG",
        );
      }
    }
    const account = session.requireAccount;
    const now = Date.now();
    const messages = cmd.messages.map((m: AppendMessage) => ({
      raw: m.message,
      flags: settableFlags(m.flags),
      internalDate: m.date ?? now,
    }));
    const store = (mailbox: Mailbox): Promise<AppendResult[]> =>
      messages.length === 1
        ? mailbox.append(messages[0]!.raw, messages[0]!.flags, messages[0]!.internalDate).then((r) => [r])
        : mailbox.appendAll(messages);
    try {
      // The list read that checks the name goes out beside the message's writes, not before them.
      const { mailbox, stillNamed } = await account.mailboxForWrite(cmd.mailbox);
      const [results, named] = await Promise.all([store(mailbox), stillNamed]);
      if (named) return ok("APPEND completed", appendUid(results));
      // Renamed or deleted on another computer meanwhile: the messages go where the name leads now.
      await mailbox.withdrawAppend(results.map((r) => r.mailId));
      return ok("APPEND completed", appendUid(await store(await account.mailbox(cmd.mailbox))));
    } catch (err) {
      if (err instanceof NotFound) return no(`mailbox "${cmd.mailbox}" does not exist`, "TRYCREATE");
      throw err;
    }
  },
};

/** RFC 4315 §3: APPENDUID with the UIDs of every message appended, in the order they were sent. */
function appendUid(results: AppendResult[]): string {
  const uids = results.map((r) => r.uid);
  const ascending = uids.every((u, i) => i === 0 || u > uids[i - 1]!);
  return `APPENDUID ${results[0]!.uidvalidity} ${ascending ? compactSet(uids) : uids.join(",")}`;
}
