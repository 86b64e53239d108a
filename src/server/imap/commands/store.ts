/**
 * STORE and UID STORE (RFC 3501 §6.4.6) with .SILENT and UNCHANGEDSINCE (RFC 7162 §3.1.3): one
 * batched op for the whole set. The FETCH replies come from the view catching up; .SILENT drops
 * the ones that only echo this command's own change.
 */
import { no, ok } from "../protocol/errorResponse.ts";
import { compactSet } from "../protocol/wire.ts";
import { SELECTED, type CommandHandler } from "./context.ts";
import { settableFlags } from "./flags.ts";
import { entriesOf } from "./selectedHelpers.ts";

export const store: CommandHandler<"STORE"> = {
  states: SELECTED,
  async run({ session }, cmd) {
    const { sel, entries } = entriesOf(session, cmd.set, cmd.uid);
    if (sel.readOnly) return no("the mailbox is read-only (EXAMINE)", "READ-ONLY");
    if (cmd.unchangedSince !== undefined) session.enabled.add("CONDSTORE");
    const flags = settableFlags(cmd.flags);
    const modified: number[] = [];
    const changing = entries.filter((e) => {
      if (cmd.unchangedSince !== undefined && e.modseq > cmd.unchangedSince) {
        modified.push(cmd.uid ? e.uid : sel.view.seqOf(e.uid));
        return false;
      }
      return true;
    });
    await sel.mailbox.setFlags(
      changing.map((e) => e.id),
      cmd.mode,
      flags,
    );
    if (
      !(await session.reportChanges(false, { uids: new Set(changing.map((e) => e.uid)), silent: cmd.silent }))
    ) {
      return no("the mailbox changed under this session; reconnect");
    }
    const code = modified.length > 0 ? `MODIFIED ${compactSet(modified.sort((a, b) => a - b))}` : undefined;
    return ok(cmd.silent ? "STORE completed silently" : "STORE completed", code);
  },
};
