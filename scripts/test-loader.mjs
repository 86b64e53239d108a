// For a process started on a `.ts` file by hand (`node --import ./scripts/test-loader.mjs FILE.ts`)
// or by a test that could not name a twin (test/support/tsChild.ts). run-tests.mjs starts the test
// files on their compiled twins (scripts/test-compile.mjs) with no loader at all: module hooks on
// Node 20 run on a thread of their own, a message per resolve and per load, ~170 ms more CPU to
// load the daemon's modules. Under a run (AGL_TEST_JS_DIR), the hooks point `.ts` modules at their
// twins; without one, it registers tsx.
import { register } from "node:module";

if (process.env.AGL_TEST_JS_DIR) {
  // Stack traces name the .ts lines (the twins have source maps), as under tsx.
  process.setSourceMapsEnabled(true);
  register(new URL("test-loader-hooks.mjs", import.meta.url), {
    data: { jsDir: process.env.AGL_TEST_JS_DIR, root: new URL("..", import.meta.url).href },
  });
} else {
  await import("tsx");
}
