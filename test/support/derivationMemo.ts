/**
 * Argon2id in a CLI test process, computed once per (password, salt, parameters): a repeat gets the
 * first run's bytes. The commands the CLI files run in their own process (runCliHere,
 * test/cli/inProcess.ts) check the same password against the same entry again and again (`status
 * --password-stdin` after each passwd step, the rekey checks' unlocks), and at init's 64 MiB x 4
 * each repeat costs ~0.14 CPU s: 13 of test/cli's ~60 such derivations under `--fast` were repeats
 * inside one process.
 *
 * Argon2id is a pure function of its inputs, so what a check asserts is unchanged: a key is still
 * derived at the entry's own parameters (a new salt, other parameters or another password are
 * derived afresh) and the entry still has to open with it. Only a process that installs this is
 * affected; the binary the tests start derives every time.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";

/** sodium-native's `crypto_pwhash_async`, in the form src/crypto/sodium.ts calls it. */
export type Pwhash = (
  out: Uint8Array,
  password: Uint8Array,
  salt: Uint8Array,
  opslimit: number,
  memlimit: number,
  alg: number,
  callback?: (err: Error | null) => void,
) => Promise<void> | undefined;

/** `derive` with each distinct set of inputs run once; a failed run is forgotten and runs again. */
export function memoizePwhash(derive: Pwhash): Pwhash {
  const derived = new Map<string, Promise<Uint8Array>>();
  return (out, password, salt, opslimit, memlimit, alg, callback) => {
    // The callback form is not used by src/; it goes straight through.
    if (callback) return derive(out, password, salt, opslimit, memlimit, alg, callback);
    // A digest, not the password itself, names the inputs: the map outlives the command.
    const pw = createHash("sha256").update(password).digest("hex");
    const key = `${pw}:${Buffer.from(salt).toString("hex")}:${opslimit}:${memlimit}:${alg}:${out.byteLength}`;
    let result = derived.get(key);
    if (!result) {
      const own = new Uint8Array(out.byteLength);
      result = (async () => {
        await derive(own, password, salt, opslimit, memlimit, alg);
        return own;
      })();
      derived.set(key, result);
      result.catch(() => derived.delete(key));
    }
    // A copy into the caller's buffer: a caller wipes its key when done with it.
    return result.then((bytes) => void out.set(bytes));
  };
}

const WRAPPED = Symbol.for("aerogramme-local.test.derivationMemo");

/**
 * Puts memoizePwhash around sodium-native's `crypto_pwhash_async` for this whole process (once,
 * whoever calls first). src/crypto/sodium.ts calls the function through the module's exports at
 * each derivation, and the test files' twins load the same module (the run's node_modules link).
 */
export function installDerivationMemo(): void {
  const sodium = createRequire(import.meta.url)("sodium-native") as {
    crypto_pwhash_async: Pwhash;
    [WRAPPED]?: true;
  };
  if (sodium[WRAPPED]) return;
  sodium[WRAPPED] = true;
  sodium.crypto_pwhash_async = memoizePwhash(sodium.crypto_pwhash_async.bind(sodium));
}
