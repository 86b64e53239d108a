/**
 * `doctor`'s checks of what other users of this computer could reach (issue 12): loose modes under
 * the settings, data and cache folders, and the control socket's folder and owner.
 */
import { findLoosePermissions, privateRoots } from "../config/homePermissions.ts";
import { checkNobodyElseWrites, checkOurSocket, NotPrivate } from "../config/privateFolder.ts";
import type { Settings } from "../config/settingsSchema.ts";
import type { Check } from "./check.ts";
import type { Home } from "./home.ts";

/** How many offending paths a verdict names (the fix covers them all). */
const SHOWN = 5;

export async function permissionChecks(home: Home, settings: Partial<Settings>): Promise<Check[]> {
  return [await looseFilesCheck(home, settings), await controlSocketCheck(home)];
}

async function looseFilesCheck(home: Home, settings: Partial<Settings>): Promise<Check> {
  const roots = privateRoots(home.paths, settings);
  const loose = await findLoosePermissions(roots);
  if (loose.length === 0)
    return {
      name: "file permissions",
      status: "pass",
      detail: `only you can read ${roots.join(", ")} (folders 0700, files 0600)`,
    };
  const named = loose
    .slice(0, SHOWN)
    .map((e) => `${e.path} (${e.kind}, mode ${e.mode.toString(8)})`)
    .join(", ");
  const more = loose.length > SHOWN ? ` and ${loose.length - SHOWN} more` : "";
  const others = loose.filter((e) => e.otherOwner !== undefined);
  return {
    name: "file permissions",
    status: "fail",
    detail: `other users can reach ${named}${more}: the key root in there lets them guess the password offline`,
    fix:
      others.length > 0
        ? `${others[0]!.path}: ${others[0]!.fix}; then \`aerogramme-local start\` closes the rest`
        : `\`aerogramme-local start\` closes them (folders 0700, files 0600), or run: ${loose
            .slice(0, SHOWN)
            .map((e) => e.fix)
            .join("; ")}`,
  };
}

async function controlSocketCheck(home: Home): Promise<Check> {
  const folder = home.paths.controlSocketFolder;
  try {
    const present =
      (await checkNobodyElseWrites(folder.path, { what: "the control socket's folder", ...folder })) &&
      (await checkOurSocket(home.paths.controlSocket));
    return {
      name: "control socket",
      status: "pass",
      detail: `${home.paths.controlSocket}${present ? "" : " (no server running)"}, in a folder only you can write`,
    };
  } catch (err) {
    if (!(err instanceof NotPrivate)) throw err;
    return {
      name: "control socket",
      status: "fail",
      detail: err.message,
      fix: "remove what another user made there (as root); commands refuse to send passwords to it until then",
    };
  }
}
