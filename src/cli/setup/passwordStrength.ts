/**
 * How hard a new account password is to guess (issue 12). The password is all that protects the key
 * root, and the storage host (and, before the permissions were closed, any local user) can copy
 * that and try passwords offline at its own pace: `init` and `passwd` accepted "a".
 *
 * The estimate is zxcvbn's (`@zxcvbn-ts/core` with the `@zxcvbn-ts/language-common` dictionaries:
 * common passwords, keyboard patterns, sequences, repeats, dates), which counts the guesses an
 * attacker trying likely passwords first would need, not the characters used. Its scores: 0 and 1
 * (under a million guesses) are refused, 2 (under 10^8) gets a warning, 3 and 4 pass.
 * `--allow-weak-password` lets a weak one through, with the warning.
 */
import { CliError, EXIT } from "../exitCodes.ts";

export interface Strength {
  /** zxcvbn's score: 0 (guessed at once) to 4 (over 10^10 guesses). */
  score: 0 | 1 | 2 | 3 | 4;
  /** log10 of the estimated guesses. */
  guessesLog10: number;
  /** What makes it guessable, in our words, when the estimator says. */
  because?: string;
}

/** zxcvbn's warning keys, said our way (the English translation package weighs 5 MB). */
const BECAUSE: Record<string, string> = {
  straightRow: "it is a row of keys",
  keyPattern: "it is a keyboard pattern",
  simpleRepeat: "it repeats characters",
  extendedRepeat: "it repeats a pattern",
  sequences: 'it is a sequence like "abc" or "123"',
  recentYears: "it is a recent year",
  dates: "it is a date",
  topTen: "it is one of the ten most used passwords",
  topHundred: "it is one of the hundred most used passwords",
  common: "it is a commonly used password",
  similarToCommon: "it is close to a commonly used password",
  wordByItself: "it is a single word",
  namesByThemselves: "it is a name",
  commonNames: "it is a common name",
  userInputs: "it contains the user name",
  pwned: "it appeared in a data breach",
};

type Estimator = (password: string, userInputs: string[]) => Strength;
let estimator: Promise<Estimator> | undefined;

/** Loaded on first use (about 0.1 s: the dictionaries), only by the commands that set a password. */
function loadEstimator(): Promise<Estimator> {
  return (estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common] = await Promise.all([
      import("@zxcvbn-ts/core"),
      import("@zxcvbn-ts/language-common"),
    ]);
    const zxcvbn = new ZxcvbnFactory({
      dictionary: { ...common.dictionary },
      graphs: common.adjacencyGraphs,
    });
    return (password, userInputs) => {
      const result = zxcvbn.check(password, userInputs);
      const because = result.feedback.warning ? BECAUSE[result.feedback.warning] : undefined;
      return {
        score: result.score,
        guessesLog10: result.guessesLog10,
        ...(because ? { because } : {}),
      };
    };
  })());
}

export async function estimateStrength(password: string, userInputs: string[] = []): Promise<Strength> {
  return (await loadEstimator())(password, userInputs);
}

export interface PasswordVerdict {
  /** "refuse": score 0-1; "warn": score 2 (or a weak one let through by --allow-weak-password). */
  verdict: "ok" | "warn" | "refuse";
  /** What to tell the user, when not "ok". */
  message?: string;
}

/** The verdict on a new password; `user` counts as a word an attacker tries first. */
export async function judgeNewPassword(
  password: string,
  opts: { user?: string; allowWeak?: boolean },
): Promise<PasswordVerdict> {
  const s = await estimateStrength(password, opts.user ? [opts.user] : []);
  const why = `about 10^${Math.max(0, Math.floor(s.guessesLog10))} guesses${s.because ? `: ${s.because}` : ""}`;
  if (s.score <= 1 && !opts.allowWeak)
    return {
      verdict: "refuse",
      message: `this password is too easy to guess (${why}). Whoever copies the key root (the storage host can) may try that many offline. Choose a longer one, for example four or five unrelated words, or add --allow-weak-password to use it anyway.`,
    };
  if (s.score <= 2)
    return {
      verdict: "warn",
      message: `warning: this password is weak (${why}); a longer one, for example four or five unrelated words, is much harder to guess.`,
    };
  return { verdict: "ok" };
}

/**
 * For a password read from standard input (no one to ask again): a refusal is a usage error
 * (exit 2, nothing changed), a warning goes to stderr.
 */
export async function requireStrongEnough(
  password: string,
  opts: { user?: string; allowWeak?: boolean },
): Promise<void> {
  const { verdict, message } = await judgeNewPassword(password, opts);
  if (verdict === "refuse") throw new CliError(message!, EXIT.usage);
  if (verdict === "warn") process.stderr.write(`aerogramme-local: ${message}\n`);
}
