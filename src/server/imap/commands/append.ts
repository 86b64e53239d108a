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
    let mailbox;
    try {
      mailbox = await session.requireAccount.mailbox(cmd.mailbox);
    } catch (err) {
      if (err instanceof NotFound) return no(`mailbox "${cmd.mailbox}" does not exist`, "TRYCREATE");
      throw err;
    }
    const result = await mailbox.append(cmd.message, settableFlags(cmd.flags), cmd.date ?? Date.now());
    return ok("APPEND completed", `APPENDUID ${result.uidvalidity} ${result.uid}`);
  },
};
