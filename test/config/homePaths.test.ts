/**
 * homePaths without AEROGRAMME_LOCAL_HOME: the OS folders come from the environment it is given
 * (XDG's variables, HOME), not from the one the process had when a module first loaded env-paths.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { homePaths } from "../../src/config/homePaths.ts";

const unix = process.platform !== "darwin" && process.platform !== "win32";

test(
  "XDG's folders and HOME are read from the environment given",
  { skip: !unix && "XDG is Linux's" },
  () => {
    const xdg = homePaths({
      HOME: "/elsewhere/home",
      XDG_CONFIG_HOME: "/elsewhere/config",
      XDG_DATA_HOME: "/elsewhere/data",
      XDG_CACHE_HOME: "/elsewhere/cache",
    });
    assert.deepEqual(
      [xdg.configDir, xdg.defaultDataDir, xdg.cacheDir],
      [
        "/elsewhere/config/aerogramme-local",
        "/elsewhere/data/aerogramme-local",
        "/elsewhere/cache/aerogramme-local",
      ],
    );
    const home = homePaths({ HOME: "/elsewhere/home" });
    assert.deepEqual(
      [home.configDir, home.defaultDataDir, home.cacheDir],
      [
        "/elsewhere/home/.config/aerogramme-local",
        "/elsewhere/home/.local/share/aerogramme-local",
        "/elsewhere/home/.cache/aerogramme-local",
      ],
    );
  },
);

test("AEROGRAMME_LOCAL_HOME still puts everything under it", () => {
  const paths = homePaths({ AEROGRAMME_LOCAL_HOME: "/h", XDG_CONFIG_HOME: "/elsewhere/config" });
  assert.deepEqual([paths.configDir, paths.defaultDataDir, paths.cacheDir], ["/h", "/h/data", "/h/cache"]);
});
