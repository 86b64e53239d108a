/**
 * The read-path check of the settings (src/config/settingsCheck.ts) refuses exactly what conf, with
 * ajv and the same schema, refuses on the write path: every key, with values of each kind around
 * its limits.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Conf from "conf";
import { checkSettings } from "../../src/config/settingsCheck.ts";
import { SETTINGS_SCHEMA } from "../../src/config/settingsSchema.ts";

let dir: string;
// conf writes the file, with an fsync, at each set and clear (~2,000 here): on a disk that is
// seconds of a loaded machine; in memory where there is such a folder.
const parent = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
before(async () => (dir = await mkdtemp(join(parent, "agl-settings-"))));
after(() => rm(dir, { recursive: true, force: true }));

const SAMPLES: unknown[] = [
  "",
  "x",
  "ab",
  "/abs/path",
  "relative/path",
  "http://127.0.0.1:3900",
  "https://s3.example.org/base",
  "ftp://x",
  "mail",
  "MAIL",
  "a b",
  'a"b',
  "alice",
  "garage",
  "info",
  "loud",
  "on",
  "keychain",
  "é".repeat(64),
  "é".repeat(65),
  "x".repeat(129),
  0,
  1,
  -1,
  1143,
  65535,
  65536,
  100000,
  100001,
  1.5,
  true,
  null,
  [],
  {},
];

test("for every setting and sample value, the read check and conf's ajv agree", () => {
  const conf = new Conf<Record<string, unknown>>({
    cwd: dir,
    configName: "settings",
    schema: SETTINGS_SCHEMA,
    rootSchema: { additionalProperties: false },
    accessPropertiesByDotNotation: false,
  });
  let compared = 0;
  for (const key of Object.keys(SETTINGS_SCHEMA))
    for (const value of SAMPLES) {
      let confRefuses = false;
      try {
        conf.set(key, value);
      } catch {
        confRefuses = true;
      }
      conf.clear();
      const ours = checkSettings({ [key]: value });
      assert.equal(
        ours.length > 0,
        confRefuses,
        `${key} = ${JSON.stringify(value)}: ours ${JSON.stringify(ours)}`,
      );
      compared++;
    }
  assert.ok(compared > 400);
  assert.deepEqual(checkSettings({ secretAccessKey: "x" }), ["`secretAccessKey` is not a setting"]);
  assert.deepEqual(checkSettings([]), ["the file must hold a JSON object"]);
});
