// Loaded (--import) into every test file's process by run-tests.mjs in place of tsx: the run's
// TypeScript was compiled once, before the first file started, into AGL_TEST_JS_DIR (esbuild, one
// JavaScript file per source file, the same tree; compileForRun in test-compile.mjs), and the hooks
// below hand each `.ts` module its compiled text. tsx transpiles in every process (its disk cache
// spares the transform, not the work around it): loading the server's modules cost ~0.75 CPU s
// through tsx against ~0.5 this way, on each of the ~45 processes of test:fast.
// Without AGL_TEST_JS_DIR (the runner itself, which loads no TypeScript, or a file run by hand with
// `node --import ./scripts/test-loader.mjs`), it registers tsx instead.
import { register } from "node:module";

if (process.env.AGL_TEST_JS_DIR) {
  // Stack traces name the .ts lines (the compiled files carry inline source maps), as under tsx.
  process.setSourceMapsEnabled(true);
  register(new URL("test-loader-hooks.mjs", import.meta.url), {
    data: { jsDir: process.env.AGL_TEST_JS_DIR, root: new URL("..", import.meta.url).href },
  });
} else {
  await import("tsx");
}
