// A fingerprint of src/ (every file's path, size and modification time) that `npm run build` writes
// beside the compiled JavaScript in dist/, so bin/aerogramme-local.js can tell whether dist/ still
// matches the sources. Reading it costs a few milliseconds of stat calls.
import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const stampFile = ".source-stamp";

export function sourceStamp(srcDir) {
  const hash = createHash("sha256");
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const st = statSync(path);
        hash.update(`${relative(srcDir, path)}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  walk(srcDir);
  return hash.digest("hex");
}
