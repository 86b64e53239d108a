/**
 * Child of sodiumAddon.test.ts: a fresh process that loads src/crypto/sodium.ts as every command
 * does, then reports whether require-addon was loaded for it, whether the addon in place of
 * sodium-native's `binding.js` is the one require-addon itself resolves, and whether sealing works.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { aeadDecrypt, aeadEncrypt, randomBytes } from "../../src/crypto/sodium.ts";

const req = createRequire(import.meta.url);
const loaded = () => Object.keys(req.cache).some((path) => path.includes("/require-addon/"));
const requireAddonBefore = loaded();
const binding = join(dirname(req.resolve("sodium-native/package.json")), "binding.js");
const inCache = req.cache[binding]?.exports as unknown;
// require-addon asked now, as binding.js would have: the file it finds is already loaded (the same
// exports) exactly when the shortcut loaded that file.
const addon = createRequire(binding)("require-addon") as (specifier: string, parent: string) => unknown;
const resolved = addon(".", binding);
const key = randomBytes(32);
const nonce = randomBytes(24);
const sealed = aeadEncrypt(new TextEncoder().encode("hello"), new Uint8Array(0), nonce, key);
const opened = new TextDecoder().decode(aeadDecrypt(sealed, new Uint8Array(0), nonce, key));
process.stdout.write(
  JSON.stringify({ requireAddonBefore, sameAddon: inCache !== undefined && inCache === resolved, opened }),
);
