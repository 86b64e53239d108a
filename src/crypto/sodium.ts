/**
 * The one place that loads libsodium (DESIGN.md §5: only src/crypto/ imports it). The sumo build is
 * needed: the standard one lacks crypto_pwhash (Argon2id).
 */
import sodiumModule from "libsodium-wrappers-sumo";

let ready: Promise<typeof sodiumModule> | undefined;

/** Resolves to the initialised libsodium; call before any other crypto function. */
export function loadSodium(): Promise<typeof sodiumModule> {
  ready ??= sodiumModule.ready.then(() => sodiumModule);
  return ready;
}

/** libsodium, after loadSodium() resolved. Throws if used too early (a programming error). */
export function sodium(): typeof sodiumModule {
  if (!sodiumModule.crypto_aead_xchacha20poly1305_ietf_encrypt) {
    throw new Error("libsodium used before loadSodium() resolved");
  }
  return sodiumModule;
}
