/**
 * Issue 11: SEARCH answered from the local search index gives exactly a full scan's answer. One
 * memory store, two servers: one with a search index (messages indexed as they are appended), one
 * without (every SEARCH scans sealed meta and bodies). A seeded generated corpus (encoded words,
 * quoted-printable, base64, latin-1, multipart, non-ASCII letters whose lower case is special),
 * then seeded random queries, each asked of both; the answers must be the same line.
 */
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startWorkerSteps, type WorkerSteps } from "../../support/inWorker.ts";

// The servers and clients live on a worker thread, away from node:test's async hook; each test runs
// its step there (searchIndexSteps.ts).
let steps: WorkerSteps;

before(async () => {
  steps = startWorkerSteps(fileURLToPath(new URL("searchIndexSteps.ts", import.meta.url)));
  await steps.call("setUp");
});

after(async () => {
  try {
    await steps?.call("tearDown");
  } finally {
    await steps?.stop();
  }
});

test(`300 random SEARCH queries (100 in test:fast) get the same answer from the index as from a full scan`, async () => {
  console.log(await steps.call<string>("queries"));
});

test("the index answers for every message it holds (no scan) and follows an expunge", () =>
  steps.call("expunge"));

test("a message just appended is answered from memory until its segment is written", () =>
  steps.call("inMemory"));

test("FROM, TO and BCC match `name <address>` of any address, and their join, from memory and from a file", () =>
  steps.call("addresses"));

test("answers stay a full scan's while messages come and go between searches (files and places kept)", () =>
  steps.call("comeAndGo"));
