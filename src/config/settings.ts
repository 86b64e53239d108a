/**
 * The settings file through conf, checked against SETTINGS_SCHEMA on every read and write. Defaults
 * stay in code (not written into the file), so the file holds only what the user or `init` chose.
 */
import type Conf from "conf";
import { Invalid } from "../errors.ts";
import type { BackendConfig } from "../storage/backendConfig.ts";
import type { HomePaths } from "./homePaths.ts";
import { DEFAULT_SETTINGS, SETTINGS_SCHEMA, type SettingKey, type Settings } from "./settingsSchema.ts";

export class SettingsFile {
  private constructor(
    private readonly conf: Conf<Partial<Settings>>,
    readonly path: string,
  ) {}

  static async open(paths: HomePaths): Promise<SettingsFile> {
    const { default: ConfClass } = await import("conf");
    try {
      const conf = new ConfClass<Partial<Settings>>({
        cwd: paths.configDir,
        configName: "settings",
        schema: SETTINGS_SCHEMA,
        rootSchema: { additionalProperties: false },
        clearInvalidConfig: false,
        accessPropertiesByDotNotation: false,
        configFileMode: 0o600,
        // The schema is ours and fixed: checking it against JSON Schema's meta-schema on every
        // start cost a third of a quick command's CPU (ajv compiles the meta-schema each time).
        // test/config/settingsSchema.test.ts checks it once; the settings file is still checked.
        ajvOptions: { meta: false, validateSchema: false },
      });
      return new SettingsFile(conf, conf.path);
    } catch (err) {
      throw invalidFile(paths.settingsFile, err);
    }
  }

  /** Stored values over the defaults. */
  all(): Settings {
    try {
      return { ...DEFAULT_SETTINGS, ...this.conf.store };
    } catch (err) {
      throw invalidFile(this.path, err);
    }
  }

  /** Only what the file holds. */
  stored(): Partial<Settings> {
    try {
      return { ...this.conf.store };
    } catch (err) {
      throw invalidFile(this.path, err);
    }
  }

  get<K extends SettingKey>(key: K): Settings[K] {
    return this.all()[key];
  }

  /** Validates the whole file with the change; nothing is written when the schema refuses it. */
  set(values: Partial<Settings>): void {
    const defined = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
    try {
      this.conf.set(defined);
    } catch (err) {
      throw schemaRefusal(err);
    }
  }

  unset(key: SettingKey): void {
    this.conf.delete(key);
  }

  /** True once `init` has finished here. */
  isSetUp(): boolean {
    const s = this.stored();
    return s.backend !== undefined && s.user !== undefined;
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

/** conf's "`bucket` must match pattern "^[a-z0-9]..."" becomes "`bucket` must be a bucket name (...)". */
function readable(err: unknown): string {
  return message(err)
    .replace(/^Config schema violation: /, "")
    .replace(/`(\w+)` must match pattern "[^"]*"/g, (all, key: string) => {
      const description = (SETTINGS_SCHEMA as Record<string, { description?: string }>)[key]?.description;
      return description ? `\`${key}\` must be ${description}` : all;
    });
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
