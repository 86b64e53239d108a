// A set of one range is answered by a slice of the view's UIDs; it must name exactly what the
// general walk (every range into a set, then sorted) names, for UIDs and sequence numbers alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { resolveSet } from "../../../src/server/imap/session/messageSet.ts";
import type { SelectedView } from "../../../src/server/imap/session/selectedView.ts";

function byWalk(uids: number[], from: number, to: number, byUid: boolean): number[] {
  const out = new Set<number>();
  if (byUid) {
    const max = uids[uids.length - 1]!;
    const a = from === Infinity ? max : from;
    const b = to === Infinity ? max : to;
    for (const u of uids) if (u >= Math.min(a, b) && u <= Math.max(a, b)) out.add(u);
  } else {
    const a = from === Infinity ? uids.length : from;
    const b = to === Infinity ? uids.length : to;
    for (let s = Math.min(a, b); s <= Math.max(a, b); s++) out.add(uids[s - 1]!);
  }
  return [...out].sort((x, y) => x - y);
}

test("one range names what the general walk names, by UID and by sequence number, * included", () => {
  const end = fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constant(Infinity));
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 30 }),
      end,
      end,
      fc.boolean(),
      (raw, from, to, byUid) => {
        const uids = [...raw].sort((a, b) => a - b);
        const view = { uids, seqOf: (u: number) => uids.indexOf(u) + 1 } as unknown as SelectedView;
        const set = { ranges: [{ from, to }] };
        const seqPastEnd =
          !byUid && Math.max(from === Infinity ? 0 : from, to === Infinity ? 0 : to) > uids.length;
        if (seqPastEnd) {
          assert.throws(() => resolveSet(set, byUid, { view, saved: [] }));
          return;
        }
        assert.deepEqual(resolveSet(set, byUid, { view, saved: [] }), byWalk(uids, from, to, byUid));
      },
    ),
    { numRuns: 2000 },
  );
});
