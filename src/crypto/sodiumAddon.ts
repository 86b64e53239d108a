/**
 * Loads sodium-native without its addon resolver where that gives the same addon. The package's
 * `binding.js` is two lines that ask require-addon for the prebuilt `.node` file of this host;
 * require-addon and the resolvers it loads (a dozen small modules) cost ~10-15 ms of CPU in every
 * process, more than the addon itself, and every command but `--help` pays it (a mail fetcher
 * starts `deliver` once per message). When `binding.js` is exactly those two lines and the first
 * file require-addon would try inside the package exists, that file is loaded here and stands in
 * `require`'s cache as `binding.js`'s exports, which is all `binding.js` would have made. Anything
 * else (another version's binding, a host without a prebuild in the package) leaves the package
 * to load itself as before.
 */
import { existsSync, readFileSync } from "node:fs";
import { Module } from "node:module";
import { dirname, join } from "node:path";

/** `binding.js` of sodium-native 5 (require-addon 1): the file the shortcut stands in for. */
const BINDING_SOURCE =
  "require.addon = require('require-addon')\nmodule.exports = require.addon('.', __filename)";

/**
 * The prebuilt addons require-addon tries first for this host, in its order: the versioned name,
 * then the plain one, under `prebuilds/<platform>-<arch>[-musl]/` of the package. It marks Alpine
 * (by /etc/alpine-release) as a musl host.
 */
export function prebuiltCandidates(
  packageDir: string,
  version: string,
  host: { platform: string; arch: string; musl: boolean },
): string[] {
  const dir = join(packageDir, "prebuilds", `${host.platform}-${host.arch}${host.musl ? "-musl" : ""}`);
  return [join(dir, `sodium-native@${version}.node`), join(dir, "sodium-native.node")];
}

/** True when `binding.js`'s exports were put in `req`'s cache here. */
export function preloadBinding(req: NodeJS.Require): boolean {
  const packageJson = req.resolve("sodium-native/package.json");
  const packageDir = dirname(packageJson);
  const binding = join(packageDir, "binding.js");
  if (req.cache[binding]) return false;
  if (readFileSync(binding, "utf8").trim() !== BINDING_SOURCE) return false;
  const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version: string };
  const host = {
    platform: process.platform,
    arch: process.arch,
    musl: process.platform === "linux" && existsSync("/etc/alpine-release"),
  };
  const addon = prebuiltCandidates(packageDir, version, host).find((path) => existsSync(path));
  if (!addon) return false;
  const stand = new Module(binding);
  stand.filename = binding;
  stand.exports = req(addon) as unknown;
  stand.loaded = true;
  req.cache[binding] = stand;
  return true;
}

/** sodium-native, through preloadBinding when it applies, else as the package loads itself. */
export function requireSodiumNative(req: NodeJS.Require): unknown {
  try {
    preloadBinding(req);
  } catch {
    // Whatever went wrong here, the package's own loading below finds the addon or says why.
  }
  return req("sodium-native");
}
