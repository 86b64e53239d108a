/**
 * SettingsFile builds conf's validator without JSON Schema's meta-schema (it cost every command
 * start a third of its CPU), so the schema itself is checked here, once, the way conf checks it
 * when left to its defaults.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Conf from "conf";
import { SETTINGS_SCHEMA } from "../../src/config/settingsSchema.ts";

describe("the settings schema", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "agl-schema-"))));
  after(() => rm(dir, { recursive: true, force: true }));

  const confWith = (schema: typeof SETTINGS_SCHEMA) =>
    new Conf({ cwd: dir, configName: "settings", schema, rootSchema: { additionalProperties: false } });

  test("is valid against JSON Schema's meta-schema", () => {
    assert.doesNotThrow(() => confWith(SETTINGS_SCHEMA));
  });

  test("a copy that only the meta-schema finds wrong is refused (so the test above can fail)", () => {
    // SettingsFile's own validator takes this one: only the meta-schema says a description is text.
    const broken = { ...SETTINGS_SCHEMA, imapPort: { ...SETTINGS_SCHEMA.imapPort, description: 5 } };
    assert.throws(() => confWith(broken as unknown as typeof SETTINGS_SCHEMA), /schema is invalid/);
  });
});
