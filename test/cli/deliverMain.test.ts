/**
 * `deliver`'s own entry (src/cli/deliverMain.ts) reads the plain forms of its arguments without
 * commander: for every argument list it reads, the flags must be the ones commander gives the
 * `deliver` command main.ts declares; every other list must go to commander.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { plainDeliverFlags } from "../../src/cli/deliverMain.ts";
import { buildProgram } from "../../src/cli/main.ts";

/** What commander makes of `deliver ARGS`: the flags its action gets, or "refused" (usage error, help). */
async function commanderFlags(args: string[]): Promise<Record<string, unknown> | "refused"> {
  const program = buildProgram();
  const deliver = program.commands.find((c) => c.name() === "deliver")!;
  let flags: Record<string, unknown> | undefined;
  deliver.action((opts: Record<string, unknown>) => {
    flags = { ...opts };
  });
  const silent = { writeOut: () => {}, writeErr: () => {} };
  for (const command of [program, deliver]) command.exitOverride().configureOutput(silent);
  try {
    await program.parseAsync(["node", "aerogramme-local", "deliver", ...args]);
  } catch {
    return "refused";
  }
  return flags ?? "refused";
}

async function agrees(args: string[]): Promise<void> {
  const plain = plainDeliverFlags(args);
  if (plain === undefined) return;
  assert.deepEqual(plain, await commanderFlags(args), `deliver ${JSON.stringify(args)}`);
}

describe("deliver's entry reads its arguments as commander does", () => {
  test("the forms a mail host passes are read here, with commander's flags", async () => {
    for (const args of [
      [],
      ["--json"],
      ["--mailbox", "Lists"],
      ["--mailbox=Lists"],
      ["--mailbox=Lists", "--json"],
      ["--json", "--mailbox", "Ärger im Büro"],
      ["--mailbox="],
      ["--mailbox", "INBOX/a=b"],
    ]) {
      assert.notEqual(plainDeliverFlags(args), undefined, `deliver ${JSON.stringify(args)} is a plain form`);
      await agrees(args);
    }
  });

  test("help, mistakes and unusual forms go to commander", async () => {
    for (const args of [
      ["--help"],
      ["-h"],
      ["--mailbox"],
      ["--mailbox", "-x"],
      ["--mailbox", "--json"],
      ["--mailbox", "A", "--mailbox", "B"],
      ["--json", "--json"],
      ["--jsn"],
      ["extra"],
      ["--"],
      ["--mailbox", "A", "B"],
    ])
      assert.equal(plainDeliverFlags(args), undefined, `deliver ${JSON.stringify(args)}`);
  });

  test("any list of these words, read here, gets commander's flags", async () => {
    const word = fc.constantFrom(
      "--json",
      "--mailbox",
      "--mailbox=Lists",
      "--mailbox=",
      "Work",
      "-x",
      "--",
      "-h",
    );
    await fc.assert(
      fc.asyncProperty(fc.array(word, { maxLength: 5 }), (args) => agrees(args)),
      { numRuns: 300, seed: 15 },
    );
  });
});
