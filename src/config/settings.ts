/**
 * The settings file, checked against SETTINGS_SCHEMA on every read (settingsCheck.ts) and write
 * (conf). Defaults
 * stay in code (not written into the file), so the file holds only what the user or `init` chose.
 */
import { readFile } from "node:fs/promises";
import type Conf from "conf";
import { Invalid } from "../errors.ts";
import type { BackendConfig } from "../storage/backendConfig.ts";
import type { HomePaths } from "./homePaths.ts";
import { checkSettings } from "./settingsCheck.ts";
import { DEFAULT_SETTINGS, SETTINGS_SCHEMA, type SettingKey, type Settings } from "./settingsSchema.ts";

export class SettingsFile {
  readonly path: string;

  private constructor(
    private readonly paths: HomePaths,
    /** What the file held when opened or last written here. */
    private snapshot: Partial<Settings>,
  ) {
    this.path = paths.settingsFile;
  }

  /** Reads and checks the file (a missing one is empty); creates nothing. */
  static async open(paths: HomePaths): Promise<SettingsFile> {
    const text = await readFile(paths.settingsFile, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "{}";
      throw err;
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.trim() === "" ? "{}" : text);
    } catch (err) {
      throw invalidFile(paths.settingsFile, err);
    }
    const problems = checkSettings(parsed);
    if (problems.length > 0) throw invalidFile(paths.settingsFile, new Error(problems.join("; ")));
    return new SettingsFile(paths, parsed as Partial<Settings>);
  }

  /** Stored values over the defaults. */
  all(): Settings {
    return { ...DEFAULT_SETTINGS, ...this.snapshot };
  }

  /** Only what the file holds. */
  stored(): Partial<Settings> {
    return { ...this.snapshot };
  }

  get<K extends SettingKey>(key: K): Settings[K] {
    return this.all()[key];
  }

  /** Validates the whole file with the change; nothing is written when the schema refuses it. */
  async set(values: Partial<Settings>): Promise<void> {
    const defined = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
    const conf = await this.conf();
    try {
      conf.set(defined);
    } catch (err) {
      throw schemaRefusal(err);
    }
    this.snapshot = { ...conf.store };
  }

  async unset(key: SettingKey): Promise<void> {
    const conf = await this.conf();
    conf.delete(key);
    this.snapshot = { ...conf.store };
  }

  /** True once `init` has finished here. */
  isSetUp(): boolean {
    const s = this.stored();
    return s.backend !== undefined && s.user !== undefined;
  }

  /**
   * Writes go through conf (atomic replace, mode 0600, the schema checked by ajv), loaded only
   * when something is written: reading needs none of it (settingsCheck.ts says why).
   */
  private async conf(): Promise<Conf<Partial<Settings>>> {
    const { default: ConfClass } = await import("conf");
    try {
      return new ConfClass<Partial<Settings>>({
        cwd: this.paths.configDir,
        configName: "settings",
        schema: SETTINGS_SCHEMA,
        rootSchema: { additionalProperties: false },
        clearInvalidConfig: false,
        accessPropertiesByDotNotation: false,
        configFileMode: 0o600,
        // The schema is ours and fixed: checking it against JSON Schema's meta-schema on every
        // write cost more than the write (ajv compiles the meta-schema each time).
        // test/config/settingsSchema.test.ts checks it once; the settings file is still checked.
        ajvOptions: { meta: false, validateSchema: false },
      });
    } catch (err) {
      throw invalidFile(this.path, err);
    }
  }
}

/** The backend part of the settings, or Invalid naming what is missing. */
export function backendConfigOf(settings: Settings, defaultDataDir: string): BackendConfig {
  const need = (key: "s3Endpoint" | "k2vEndpoint" | "region" | "bucket"): string => {
    const value = settings[key];
    if (!value)
      throw new Invalid(
        `the ${settings.backend} backend needs \`${key}\`: set it with \`aerogramme-local config set ${key} VALUE\``,
      );
    return value;
  };
  switch (settings.backend) {
    case undefined:
    case "embedded":
      return { backend: "embedded", dataDir: settings.dataDir ?? defaultDataDir };
    case "garage":
      return {
        backend: "garage",
        s3Endpoint: need("s3Endpoint"),
        k2vEndpoint: need("k2vEndpoint"),
        region: need("region"),
        bucket: need("bucket"),
      };
    case "s3":
      return {
        backend: "s3",
        s3Endpoint: need("s3Endpoint"),
        region: need("region"),
        bucket: need("bucket"),
      };
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * conf's "`bucket` must match pattern "^[a-z0-9]..."" becomes "`bucket` must be a bucket name (...)",
 * and "must be equal to one of the allowed values" names the values. Patterns are replaced by
 * their exact text (a pattern may hold quotes), so no piece of a regex reaches the user.
 */
function readable(err: unknown): string {
  let text = message(err).replace(/^Config schema violation: /, "");
  for (const [key, schema] of Object.entries(SETTINGS_SCHEMA) as [string, SchemaEntry][]) {
    if (schema.pattern && schema.description)
      text = text
        .split(`\`${key}\` must match pattern "${schema.pattern}"`)
        .join(`\`${key}\` must be ${schema.description}`);
    if (schema.enum)
      text = text
        .split(`\`${key}\` must be equal to one of the allowed values`)
        .join(`\`${key}\` must be one of: ${schema.enum.join(", ")}`);
  }
  return text;
}

interface SchemaEntry {
  pattern?: string;
  enum?: readonly string[];
  description?: string;
}

function schemaRefusal(err: unknown): Invalid {
  return new Invalid(`setting refused by the schema: ${readable(err)}`);
}

function invalidFile(path: string, err: unknown): Invalid {
  const text = readable(err);
  return new Invalid(
    `the settings file ${path} is not valid (${text}). Fix it with \`aerogramme-local config set KEY VALUE\`, or edit or remove the file.`,
  );
}
