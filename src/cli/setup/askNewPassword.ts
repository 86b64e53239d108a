/**
 * A new password asked on the terminal (`init`, `start` on a fresh home, `passwd add|change`):
 * typed twice, refused as it is typed when the estimator calls it too easy to guess (unless
 * --allow-weak-password), and a weak one only after a warning and a yes.
 */
import type { Asker } from "../asker.ts";
import { usageError } from "../exitCodes.ts";
import { judgeNewPassword } from "./passwordStrength.ts";

/** Wrong tries before giving up (a stuck script must end). */
const MAX_TRIES = 5;

export async function askNewPassword(
  asker: Asker,
  opts: { user?: string; allowWeak?: boolean },
  question: string,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const first = await asker.secret(question, {
      check: async (v) => {
        if (v.length === 0) return "the password cannot be empty";
        const { verdict, message } = await judgeNewPassword(v, opts);
        return verdict === "refuse" ? message! : true;
      },
    });
    const again = await asker.secret("Type it again:");
    if (first === again) {
      const { verdict, message } = await judgeNewPassword(first, opts);
      if (verdict !== "warn") return first;
      asker.say(message!);
      if (await asker.confirm("Use this password anyway?", false)) return first;
    } else asker.say("The two passwords differ. Try again.");
    if (attempt >= MAX_TRIES) throw usageError("no password was chosen after several tries");
  }
}
