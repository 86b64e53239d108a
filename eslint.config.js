import tseslint from "typescript-eslint";

/**
 * The layers of docs/architecture.md, top to bottom, and the layer folders each may import. A layer
 * imports only layers below it; errors.ts and log.ts (files, not folders) are shared by all.
 * Every layer is a folder directly under src/ whose name no inner folder reuses, so an import
 * specifier that passes through `<layer>/` reaches that layer.
 */
const LAYERS = {
  cli: ["daemon", "config", "server", "mail", "mime", "sync", "crypto", "storage"],
  daemon: ["config", "server", "mail", "mime", "sync", "crypto", "storage"],
  config: ["storage"],
  server: ["mail", "mime"],
  mail: ["mime", "sync", "crypto", "storage"],
  mime: [],
  sync: ["crypto", "storage"],
  crypto: [],
  storage: [],
};

function layerRules(layer, allowed) {
  const forbidden = Object.keys(LAYERS).filter((other) => other !== layer && !allowed.includes(other));
  const pattern = `(^|/)(${forbidden.join("|")})/`;
  const message = `${layer}/ may import only ${allowed.length ? allowed.join(", ") : "no other layer"} (and errors.ts, log.ts): see the layer table in docs/architecture.md.`;
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      // no-restricted-imports does not see `await import(...)`; this does.
      "no-restricted-syntax": [
        "error",
        { selector: `ImportExpression > Literal[value=/${pattern.replaceAll("/", "\\/")}/]`, message },
      ],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: pattern,
              message,
            },
          ],
          paths:
            layer === "crypto"
              ? []
              : [{ name: "sodium-native", message: "only src/crypto/ touches libsodium." }],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ["node_modules/**", "test/fixtures/**", "dist/**", "bench/.cache/**"] },
  ...tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
      // An async method that implements a Promise-returning interface without awaiting is fine.
      "@typescript-eslint/require-await": "off",
      // node:test's test() and describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: ["test", "describe", "it", "suite", "before", "after"],
            },
          ],
        },
      ],
    },
  },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  ...Object.entries(LAYERS).map(([layer, allowed]) => layerRules(layer, allowed)),
  {
    // errors.ts and log.ts sit under every layer: they import no layer at all.
    files: ["src/errors.ts", "src/log.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: `^\\./(${Object.keys(LAYERS).join("|")})/`,
              message: "errors.ts and log.ts import no layer.",
            },
          ],
        },
      ],
    },
  },
);
