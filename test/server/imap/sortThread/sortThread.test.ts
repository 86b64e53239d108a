/** RFC 5256's base subject, SORT order and the two THREAD algorithms, on plain data. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { baseSubject } from "../../../../src/server/imap/sortThread/baseSubject.ts";
import { orderedSubject } from "../../../../src/server/imap/sortThread/orderedSubject.ts";
import { threadReferences } from "../../../../src/server/imap/sortThread/references.ts";
import type { Sortable } from "../../../../src/server/imap/sortThread/sortable.ts";
import { sortMessages } from "../../../../src/server/imap/sortThread/sortOrder.ts";
import { threadResponse } from "../../../../src/server/imap/sortThread/threadTree.ts";

test("RFC 5256 §2.1: the base subject drops Re/Fwd leaders, [blobs], (fwd) trailers and [fwd: ] wrappers", () => {
  const cases: [string, string, boolean][] = [
    ["Hello", "HELLO", false],
    ["Re: Hello", "HELLO", true],
    ["RE:  re: Fwd: hello", "HELLO", true],
    ["Re[2]: Hello", "HELLO", true],
    ["[list] Re: Hello", "HELLO", true],
    ["[PATCH] fix it", "FIX IT", false],
    ["[PATCH]", "[PATCH]", false],
    ["Hello (fwd)", "HELLO", true],
    ["[Fwd: Re: Hello]", "HELLO", true],
    ["  Many \t  spaces\r\n here ", "MANY SPACES HERE", false],
    ["Re:", "", true],
    ["Über ümlaut", "ÜBER üMLAUT", false], // i;ascii-casemap maps ASCII letters only
  ];
  for (const [subject, key, reply] of cases)
    assert.deepEqual(baseSubject(subject), { key, isReplyOrForward: reply }, subject);
});

let seq = 0;
function msg(fields: Partial<Omit<Sortable, "subject">> & { subject?: string }): Sortable {
  seq++;
  return {
    seq,
    uid: seq * 10,
    arrival: seq,
    sent: seq,
    size: 100,
    from: "",
    to: "",
    cc: "",
    messageId: null,
    references: [],
    ...fields,
    subject: baseSubject(fields.subject ?? ""),
  };
}

test("RFC 5256 §3: SORT by criteria in turn, REVERSE flips one, ties by sequence number", () => {
  seq = 0;
  const a = msg({ subject: "Re: beta", sent: 30, size: 10, from: "ZED" });
  const b = msg({ subject: "alpha", sent: 10, size: 30, from: "ANN" });
  const c = msg({ subject: "beta", sent: 20, size: 10, from: "ANN" });
  const ids = (criteria: Parameters<typeof sortMessages>[1]) =>
    sortMessages([a, b, c], criteria).map((m) => m.seq);
  assert.deepEqual(ids([{ key: "SUBJECT", reverse: false }]), [2, 1, 3]);
  assert.deepEqual(ids([{ key: "DATE", reverse: true }]), [1, 3, 2]);
  assert.deepEqual(
    ids([
      { key: "SIZE", reverse: false },
      { key: "FROM", reverse: true },
    ]),
    [1, 3, 2],
  );
  assert.deepEqual(
    ids([
      { key: "FROM", reverse: false },
      { key: "SUBJECT", reverse: true },
    ]),
    [3, 2, 1],
  );
});

test("RFC 5256 §4: THREAD responses nest a single child inline and several as lists", () => {
  const leaf = (id: number) => ({ id, children: [] });
  const tree = {
    id: 3,
    children: [
      {
        id: 6,
        children: [
          { id: 4, children: [leaf(23)] },
          { id: 44, children: [{ id: 7, children: [leaf(96)] }] },
        ],
      },
    ],
  };
  assert.equal(threadResponse([leaf(2), tree]), "THREAD (2)(3 6 (4 23)(44 7 96))");
  assert.equal(threadResponse([{ id: undefined, children: [leaf(3), leaf(5)] }]), "THREAD ((3)(5))");
  assert.equal(threadResponse([]), "THREAD");
});

test("RFC 5256 §4 ORDEREDSUBJECT: one thread per base subject, its first message the parent of the rest", () => {
  seq = 0;
  const list = [
    msg({ subject: "Lunch", sent: 50 }),
    msg({ subject: "Report", sent: 10 }),
    msg({ subject: "Re: Report", sent: 20 }),
    msg({ subject: "Re: Lunch", sent: 40 }),
    msg({ subject: "Fwd: Report", sent: 30 }),
    msg({ subject: "Re: Lunch", sent: 60 }),
  ];
  assert.equal(threadResponse(orderedSubject(list, (m) => m.seq)), "THREAD (2 (3)(5))(4 (1)(6))");
});

test("RFC 5256 §4 REFERENCES: threads by References and In-Reply-To, prunes dummies, joins subjects", () => {
  seq = 0;
  const list = [
    msg({ subject: "Plan", messageId: "a@x", sent: 10 }),
    msg({ subject: "Re: Plan", messageId: "b@x", references: ["a@x"], sent: 20 }),
    msg({ subject: "Re: Plan", messageId: "c@x", references: ["a@x", "b@x"], sent: 40 }),
    msg({ subject: "Re: Plan", messageId: "d@x", references: ["a@x"], sent: 30 }),
    // Its parent is not in the set: the dummy is pruned and it joins by subject as a reply.
    msg({ subject: "Re: Other", messageId: "e@x", references: ["missing@x"], sent: 50 }),
    msg({ subject: "Other", messageId: "f@x", sent: 45 }),
    // Two roots of one subject, neither a reply: a dummy holds both.
    msg({ subject: "Hi", messageId: "g@x", sent: 70 }),
    msg({ subject: "Hi", messageId: "h@x", sent: 60 }),
    // A loop in References is not followed; a duplicate Message-ID gets its own container.
    msg({ subject: "Loop", messageId: "i@x", references: ["i@x"], sent: 80 }),
    msg({ subject: "Dup", messageId: "a@x", sent: 90 }),
  ];
  assert.equal(
    threadResponse(threadReferences(list, (m) => m.seq)),
    "THREAD (1 (2 3)(4))(6 5)((8)(7))(9)(10)",
  );
});
