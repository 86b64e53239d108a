/**
 * Issue 17's replay property: three computers with skewed clocks share one store and hand out UIDs
 * at the same time (adds that claim their own UIDNEXT, flag changes, expunges), while a slow
 * computer's rows land steps after their timestamp was taken (late ops) and a checkpointer's puts
 * travel for a few steps. Every computer renumbers what clashed, as mail/mailbox.ts does.
 *
 * Checked after every step, on every computer: UIDVALIDITY never moves; a UID once shown names the
 * same message for ever, and once gone never comes back; a new UID shows only above every UID shown
 * before (else an IMAP session, which takes UIDs above its last as new, would never see it);
 * HIGHESTMODSEQ never goes back, and every change (new message, flags, VANISHED) carries a MODSEQ
 * above the HIGHESTMODSEQ shown before it, so CONDSTORE/QRESYNC clients miss none. At the end all
 * computers hold the same state, every acknowledged message exactly once, none unplaced; and a
 * computer that showed the mailbox early, then was offline for a day (the clocks the retention uses)
 * while the others checkpointed and cleaned up, catches up under the same checks.
 *
 * AGL_SEED=<seed> replays a failed run; AGL_UID_RUNS=<n> runs more (nightly). 6 runs in `npm test`,
 * 2 in `npm run test:fast` (test/support/propertyRuns.ts).
 */
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runInWorker } from "../support/inWorker.ts";

// The property runs on a worker thread, away from node:test's async hook (uidReplayPropertyCheck.ts).
test("UID clashes renumber the same way on every computer, whatever order ops arrive in, late ops and checkpoints included", async () => {
  console.log(
    await runInWorker<string>(fileURLToPath(new URL("uidReplayPropertyCheck.ts", import.meta.url))),
  );
});
