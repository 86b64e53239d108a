/** APPEND (RFC 3501 §6.3.11) with APPENDUID (RFC 4315) and APPENDLIMIT (RFC 7889). */
import { NotFound } from "../../../errors.ts";
import { no, ok } from "../protocol/errorResponse.ts";
import { AUTHENTICATED, type CommandHandler } from "./context.ts";
import { settableFlags } from "./flags.ts";

export const append: CommandHandler<"APPEND"> = {
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    if (cmd.message.length === 0) return no("an empty message cannot be stored");
    if (cmd.message.length > session.server.appendLimit) {
      return no(`message is larger than the limit of ${session.server.appendLimit} bytes`, "TOOBIG");
    }
    const account = session.requireAccount;
    const flags = settableFlags(cmd.flags);
    const date = cmd.date ?? Date.now();
    try {
      // The list read that checks the name goes out beside the message's writes, not before them.
      const { mailbox, stillNamed } = await account.mailboxForWrite(cmd.mailbox);
      const [result, named] = await Promise.all([mailbox.append(cmd.message, flags, date), stillNamed]);
      if (named) return ok("APPEND completed", `APPENDUID ${result.uidvalidity} ${result.uid}`);
      // Renamed or deleted on another computer meanwhile: the message goes where the name leads now.
      await mailbox.withdrawAppend(result.mailId);
      const again = await (await account.mailbox(cmd.mailbox)).append(cmd.message, flags, date);
      return ok("APPEND completed", `APPENDUID ${again.uidvalidity} ${again.uid}`);
    } catch (err) {
      if (err instanceof NotFound) return no(`mailbox "${cmd.mailbox}" does not exist`, "TRYCREATE");
      throw err;
    }
  },
};
