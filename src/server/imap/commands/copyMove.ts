/**
 * COPY, MOVE (RFC 6851) and their UID forms, with COPYUID (RFC 4315). COPY reuses each message's
 * sealed body and key (a server-side blob copy); MOVE re-files the same message ids without
 * touching any blob, then expunges them here; into the selected mailbox itself (RFC 6851 §3.3) it
 * copies, then expunges the originals.
 */
import { NotFound } from "../../../errors.ts";
import { no, ok } from "../protocol/errorResponse.ts";
import { SELECTED, type CommandHandler } from "./context.ts";
import { entriesOf } from "./selectedHelpers.ts";

export const copyMove: CommandHandler<"COPY" | "MOVE"> = {
  states: SELECTED,
  async run({ session, out }, cmd) {
    const { sel, entries } = entriesOf(session, cmd.set, cmd.uid);
    if (cmd.name === "MOVE" && sel.readOnly) return no("the mailbox is read-only (EXAMINE)", "READ-ONLY");
    let target;
    try {
      target = await session.requireAccount.mailbox(cmd.mailbox);
    } catch (err) {
      if (err instanceof NotFound) return no(`mailbox "${cmd.mailbox}" does not exist`, "TRYCREATE");
      throw err;
    }
    if (entries.length === 0) return ok(`${cmd.name} completed (no messages)`);
    const ids = entries.map((e) => e.id);
    const pairs =
      cmd.name === "COPY" ? await sel.mailbox.copyTo(target, ids) : await sel.mailbox.moveTo(target, ids);
    const code = pairs.length
      ? `COPYUID ${target.index.uidvalidity} ${pairs.map((p) => p[0]).join(",")} ${pairs.map((p) => p[1]).join(",")}`
      : undefined;
    if (cmd.name === "COPY") return ok("COPY completed", code);
    // RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunges.
    if (code) await out.untagged(`OK [${code}] moved`);
    if (!(await session.reportChanges(true))) return no("the mailbox changed under this session; reconnect");
    return ok("MOVE completed");
  },
};
