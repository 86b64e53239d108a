import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createMailbox,
  decodeMailboxList,
  deleteMailbox,
  encodeMailboxList,
  liveNames,
  lookup,
  mergeMailboxLists,
  renameMailbox,
  setSubscribed,
  type MailboxList,
  type Stamp,
} from "../../src/mail/mailboxList.ts";
import { AlreadyExists, Invalid, NotFound } from "../../src/errors.ts";

let clock = 1_700_000_000_000;
let ids = 0;
function stamp(): Stamp {
  clock += 1000;
  return { ts: clock.toString(16).padStart(12, "0"), nowMs: clock, newId: () => `id${++ids}` };
}

function base(): MailboxList {
  let l: MailboxList = new Map();
  for (const n of ["INBOX", "Work", "Work/2024", "Work/2024/Q1", "Workshop"])
    l = createMailbox(l, n, stamp());
  return l;
}

test("rename moves a mailbox and its children, not its look-alike siblings", () => {
  const before = base();
  const after = renameMailbox(before, "Work", "Jobs", stamp());
  assert.deepEqual(liveNames(after), ["INBOX", "Jobs", "Jobs/2024", "Jobs/2024/Q1", "Workshop"]);
  assert.equal(lookup(after, "Jobs/2024")!.id, lookup(before, "Work/2024")!.id);
});

test("renaming INBOX moves its mail and leaves a new empty INBOX", () => {
  const before = base();
  const after = renameMailbox(before, "inbox", "Old", stamp());
  assert.equal(lookup(after, "Old")!.id, lookup(before, "INBOX")!.id);
  assert.notEqual(lookup(after, "INBOX")!.id, lookup(before, "INBOX")!.id);
});

test("create, delete and rename refuse what they must", () => {
  const l = base();
  assert.throws(() => createMailbox(l, "Work", stamp()), AlreadyExists);
  assert.throws(() => createMailbox(l, "a//b", stamp()), Invalid);
  assert.throws(() => deleteMailbox(l, "INBOX", stamp()), Invalid);
  assert.throws(() => deleteMailbox(l, "Nope", stamp()), NotFound);
  assert.throws(() => renameMailbox(l, "Work", "Work/Sub", stamp()), Invalid);
  assert.throws(() => renameMailbox(l, "Work", "Workshop", stamp()), AlreadyExists);
});

test("a recreated name gets a greater UIDVALIDITY and a new id", () => {
  const l = base();
  const [gone, id] = deleteMailbox(l, "Workshop", stamp());
  const again = createMailbox(gone, "Workshop", stamp());
  assert.notEqual(lookup(again, "Workshop")!.id, id);
  assert.ok(lookup(again, "Workshop")!.uidvalidity > lookup(l, "Workshop")!.uidvalidity);
});

test("concurrent versions merge last-writer-wins per name, in any order", () => {
  const l = base();
  const a = renameMailbox(l, "Workshop", "Shop", stamp());
  const b = setSubscribed(createMailbox(l, "Travel", stamp()), "INBOX", true, stamp());
  const ab = mergeMailboxLists([a, b]);
  const ba = mergeMailboxLists([b, a]);
  assert.deepEqual(encodeMailboxList(ab), encodeMailboxList(ba));
  assert.deepEqual(liveNames(ab), ["INBOX", "Shop", "Travel", "Work", "Work/2024", "Work/2024/Q1"]);
  assert.equal(lookup(ab, "INBOX")!.subscribed, true);
  // A delete is not undone by an older version of the list.
  const [deleted] = deleteMailbox(ab, "Travel", stamp());
  assert.equal(lookup(mergeMailboxLists([b, deleted]), "Travel"), undefined);
  assert.deepEqual(decodeMailboxList(encodeMailboxList(deleted)), deleted);
});
