// Loaded (--import) into every test file's process by run-tests.mjs, before node:test: the test
// harness then finds which test runs now without an async hook that tracks every promise's end.
//
// Node 20's harness (internal/test_runner/harness.js) learns which test a piece of code belongs to
// from an async hook: `init` maps each new async resource's id to the test of the resource that
// triggered it, `destroy` deletes it, and `testResources.get(executionAsyncId())` is asked when
// test(), describe() or a hook is called (to find the parent) and when an error is uncaught (to fail
// the test it came from). A `destroy` hook makes V8 track the end of every promise: in the
// promise-heavy files (bayouConvergence, uidReplayProperty, searchIndex) that was a quarter of
// their CPU time (bench/notes.md, wt-fast).
//
// The harness takes createHook and executionAsyncId from `async_hooks` when it loads, so they are
// swapped while node:test loads (and put back after: nothing else sees them). Its hook becomes one
// without `destroy` that gives every new resource the key of the test it belongs to, as
// AsyncLocalStorage does: a Test's key is its own id (the harness's `init` records it, as before);
// any other resource takes the key of the resource running when it is made, and executionAsyncId,
// as the harness sees it, is the running resource's key. So test(), hooks and uncaught errors land
// on the same tests as before, with one difference: a resource made in one test's code but
// triggered by another test's (a promise of test A awaited inside test B) now belongs to the test
// whose code made it (B), where the harness said A. Resources of the reporter's scope keep their
// own ids, which the harness maps to that scope.
import asyncHooks from "node:async_hooks";

const { createHook, executionAsyncId, executionAsyncResource } = asyncHooks;
const kTestKey = Symbol("the test this resource belongs to");

/** The key of the resource that runs now: its test's id, or (outside any test) its own id. */
function currentKey() {
  const resource = executionAsyncResource();
  return (resource && resource[kTestKey]) ?? executionAsyncId();
}

/** What the harness gets for createHook: its `init` for Tests only, keys for everything else. */
function harnessHook(callbacks) {
  const hook = createHook({
    init(asyncId, type, triggerAsyncId, resource) {
      // Test and Suite call AsyncResource's constructor with the type "Test".
      if (type === "Test") {
        callbacks.init(asyncId, type, triggerAsyncId, resource);
        resource[kTestKey] = asyncId;
      } else resource[kTestKey] = currentKey();
    },
  });
  engaged = true;
  return hook;
}

export let engaged = false;
asyncHooks.createHook = harnessHook;
asyncHooks.executionAsyncId = currentKey;
try {
  await import("node:test");
} finally {
  asyncHooks.createHook = createHook;
  asyncHooks.executionAsyncId = executionAsyncId;
}
