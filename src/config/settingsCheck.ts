/**
 * Checks a settings object against SETTINGS_SCHEMA on the read path, without ajv: loading conf and
 * compiling the schema with ajv cost ~170 ms of CPU, a third of a `status`, and every command
 * reads the settings (issue 16: `status` and `--help` under 0.5 s). Writes still go through conf,
 * whose ajv check is the reference; this one knows exactly the keywords the schema uses (type,
 * enum, pattern, minLength, maxLength, minimum, maximum, no unknown keys) and a test checks that
 * it refuses what conf refuses (test/config/settingsCheck.test.ts).
 */
import { SETTINGS_SCHEMA } from "./settingsSchema.ts";

interface Rule {
  type: "string" | "integer";
  enum?: readonly string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  description?: string;
}

const RULES = SETTINGS_SCHEMA as Record<string, Rule>;

/** Every problem, each as "`key` must be ..." (the words of settings.ts's readable()); [] when fine. */
export function checkSettings(value: unknown): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return ["the file must hold a JSON object"];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const rule = Object.prototype.hasOwnProperty.call(RULES, key) ? RULES[key] : undefined;
    if (!rule) {
      problems.push(`\`${key}\` is not a setting`);
      continue;
    }
    const problem = checkOne(rule, v);
    if (problem) problems.push(`\`${key}\` must be ${problem}`);
  }
  return problems;
}

function checkOne(rule: Rule, v: unknown): string | undefined {
  if (rule.type === "integer") {
    if (typeof v !== "number" || !Number.isInteger(v)) return "integer";
    if (rule.minimum !== undefined && v < rule.minimum) return `>= ${rule.minimum}`;
    if (rule.maximum !== undefined && v > rule.maximum) return `<= ${rule.maximum}`;
    return undefined;
  }
  if (typeof v !== "string") return "string";
  if (rule.enum && !rule.enum.includes(v)) return `one of: ${rule.enum.join(", ")}`;
  // JSON Schema counts characters (code points), as ajv does.
  const length = [...v].length;
  if (rule.minLength !== undefined && length < rule.minLength)
    return `at least ${rule.minLength} character${rule.minLength === 1 ? "" : "s"} long`;
  if (rule.maxLength !== undefined && length > rule.maxLength)
    return `at most ${rule.maxLength} characters long`;
  if (rule.pattern !== undefined && !new RegExp(rule.pattern, "u").test(v))
    return rule.description ?? "well-formed";
  return undefined;
}
