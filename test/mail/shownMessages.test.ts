import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ShownMessages } from "../../src/mail/shownMessages.ts";
import { internFlags, type MailEntry } from "../../src/mail/uidIndex.ts";
import { propertyRuns } from "../support/propertyRuns.ts";

const FLAG_LISTS = [[], ["\\Seen"], ["\\Answered", "\\Seen"], ["$Label1"]].map((l) => internFlags(l));

/** Hex ids as mail/ids.ts makes them, and other ids (tests, earlier builds) side by side. */
const idArb = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("hex")),
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.constantFrom("a", "b", "m1", "0123456789abcdef0123456789ABCDEF", "é€"),
);

type Step =
  | { t: "insert"; id: string; uid: number; flags: number; modseq: number; saved: number }
  | { t: "remove"; pick: number }
  | { t: "retain"; mod: number }
  | { t: "flags"; pick: number; flags: number }
  | { t: "modseq"; pick: number; modseq: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("insert" as const),
      id: idArb,
      uid: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
      flags: fc.nat(3),
      modseq: fc.integer({ min: 1, max: 2 ** 53 - 1 }),
      saved: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 47 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("remove" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("retain" as const), mod: fc.integer({ min: 2, max: 5 }) }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("flags" as const), pick: fc.nat(), flags: fc.nat(3) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("modseq" as const),
      pick: fc.nat(),
      modseq: fc.integer({ min: 1, max: 2 ** 53 - 1 }),
    }),
  },
);

/** One message as a UidIndex encoding 4 lays it out (uidIndexCodec.ts). */
function encodedMessage(entry: MailEntry, list: number, saved: number): Buffer {
  const id = Buffer.from(entry.id, "utf8");
  const out = Buffer.alloc(2 + id.length + 4 + 7 + 2 + 6);
  let at = out.writeUInt16BE(id.length, 0);
  at += id.copy(out, at);
  at = out.writeUInt32BE(entry.uid, at);
  at = out.writeUInt8(Math.floor(entry.modseq / 2 ** 48), at);
  at = out.writeUIntBE(entry.modseq % 2 ** 48, at, 6);
  at = out.writeUInt16BE(list, at);
  out.writeUIntBE(saved, at, 6);
  return out;
}

test("the typed columns answer as a plain list of entries would, for any ids, UIDs and changes", () => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 300 }), (steps) => {
      const shown = new ShownMessages();
      const refs = Uint32Array.from(FLAG_LISTS, (list) => shown.flagRefFor(list));
      const model: MailEntry[] = [];
      for (const step of steps) {
        if (step.t === "insert") {
          if (model.some((e) => e.id === step.id || e.uid === step.uid)) continue;
          const entry: MailEntry = {
            id: step.id,
            uid: step.uid,
            modseq: step.modseq,
            flags: FLAG_LISTS[step.flags]!,
          };
          if (step.saved) entry.saved = step.saved;
          let at = 0;
          while (at < model.length && model[at]!.uid < step.uid) at++;
          model.splice(at, 0, entry);
          // A decoder appends from an encoding's bytes (half the appends here): the same answers after.
          if (at === model.length - 1 && step.uid % 2 === 1) {
            const bytes = encodedMessage(entry, step.flags, step.saved);
            assert.equal(shown.appendFromEncoding(bytes, 0, 1, refs, true, true), bytes.length);
          } else shown.insert(at, { ...entry });
        } else if (model.length === 0) {
          continue;
        } else if (step.t === "remove") {
          const at = step.pick % model.length;
          model.splice(at, 1);
          shown.removeAt(at);
        } else if (step.t === "retain") {
          const keep = (uid: number) => uid % step.mod !== 0;
          const went = model.some((e) => !keep(e.uid));
          assert.equal(shown.retain(keep), went);
          model.splice(0, model.length, ...model.filter((e) => keep(e.uid)));
        } else if (step.t === "flags") {
          const at = step.pick % model.length;
          model[at] = { ...model[at]!, flags: FLAG_LISTS[step.flags]! };
          shown.setFlags(at, FLAG_LISTS[step.flags]!);
        } else {
          const at = step.pick % model.length;
          model[at] = { ...model[at]!, modseq: step.modseq };
          shown.setModseq(at, step.modseq);
        }
      }
      assert.deepEqual(
        shown.uids,
        model.map((e) => e.uid),
      );
      assert.deepEqual(
        model.map((_, i) => shown.get(i)),
        model,
      );
      for (const [i, e] of model.entries()) assert.equal(shown.indexOfId(e.id), i);
      for (const m of [0, model[0]?.modseq ?? 0, model.at(-1)?.modseq ?? 0, Number.MAX_SAFE_INTEGER])
        assert.deepEqual(
          shown.positionsUpTo(m),
          model.flatMap((e, i) => (e.modseq <= m ? [i] : [])),
        );
      // The lists held, each once, in the UID order of their first holder (what SELECT announces).
      assert.deepEqual(shown.flagListsInUse(), [...new Set(model.map((e) => e.flags))]);
      assert.equal(shown.indexOfId("not-there"), -1);
      assert.equal(
        shown.indexOfId("ffffffffffffffffffffffffffffffff"),
        model.findIndex((e) => e.id === "ffffffffffffffffffffffffffffffff"),
      );
    }),
    { numRuns: propertyRuns({ full: 300, fast: 100 }) },
  );
});

test("100,000 messages in and half expunged keep every lookup", () => {
  const shown = new ShownMessages();
  const ids: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    const id = i.toString(16).padStart(32, "0");
    ids.push(id);
    shown.insert(i, { id, uid: i + 1, modseq: 2 ** 50 + i, flags: FLAG_LISTS[i % 4]! });
  }
  shown.retain((uid) => uid % 2 === 0);
  assert.equal(shown.size, 50_000);
  for (let i = 0; i < 100_000; i += 997) {
    const at = shown.indexOfId(ids[i]!);
    if (i % 2 === 0) assert.equal(at, -1);
    else
      assert.deepEqual(shown.get(at), {
        id: ids[i],
        uid: i + 1,
        modseq: 2 ** 50 + i,
        flags: FLAG_LISTS[i % 4],
      });
  }
});

test("more than 65,535 distinct flag lists widen the flag column, keeping every list", () => {
  const shown = new ShownMessages();
  for (let i = 0; i < 70_000; i++) {
    shown.insert(i, { id: `m${i}`, uid: i + 1, modseq: 1, flags: [`$k${i}`] });
  }
  assert.deepEqual(shown.get(0).flags, ["$k0"]);
  assert.deepEqual(shown.get(69_999).flags, ["$k69999"]);
  shown.setFlags(3, FLAG_LISTS[1]!);
  assert.deepEqual(shown.get(3).flags, ["\\Seen"]);
});
