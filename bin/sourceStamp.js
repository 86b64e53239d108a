// A fingerprint of src/ (every file's path, size and modification time, one line each) that
// `npm run build` writes beside the compiled JavaScript in dist/, so bin/aerogramme-local.js can tell
// whether dist/ still matches the sources. Reading it costs a few milliseconds of stat calls at every
// start of the binary; the paths are built by hand, as node:path's join and relative (which resolves
// both of its paths against the working folder at each call) cost twice as much as the stat calls
// themselves. The lines themselves are the stamp (~20 KB), not a hash of them: node:crypto's ES
// import costs ~4-5 ms of CPU, which `deliver`, started once per message, has no other use for
// beside a running server.
import { readdirSync, statSync } from "node:fs";

export const stampFile = ".source-stamp";

export function sourceStamp(srcDir) {
  const lines = [];
  const walk = (dir, rel) => {
    const entries = readdirSync(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path, relPath);
      else {
        const st = statSync(path);
        lines.push(`${relPath}\0${st.size}\0${st.mtimeMs}`);
      }
    }
  };
  walk(srcDir.replace(/\/+$/, ""), "");
  return lines.join("\n");
}
