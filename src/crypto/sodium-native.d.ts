/** The part of sodium-native (libsodium bindings, no types shipped) that src/crypto/ uses. */
declare module "sodium-native" {
  type Bytes = Uint8Array;
  const sodium: {
    crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number;
    crypto_aead_xchacha20poly1305_ietf_KEYBYTES: number;
    crypto_box_SEALBYTES: number;
    crypto_box_PUBLICKEYBYTES: number;
    crypto_box_SECRETKEYBYTES: number;
    crypto_box_NONCEBYTES: number;
    crypto_box_MACBYTES: number;
    crypto_pwhash_SALTBYTES: number;
    crypto_pwhash_ALG_ARGON2ID13: number;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
      c: Bytes,
      m: Bytes,
      ad: Bytes | null,
      nsec: null,
      npub: Bytes,
      k: Bytes,
    ): number;
    crypto_aead_xchacha20poly1305_ietf_decrypt(
      m: Bytes,
      nsec: null,
      c: Bytes,
      ad: Bytes | null,
      npub: Bytes,
      k: Bytes,
    ): number;
    crypto_generichash_STATEBYTES: number;
    crypto_generichash_init(state: Bytes, key: Bytes | null, outputLength: number): void;
    crypto_generichash_update(state: Bytes, input: Bytes): void;
    crypto_generichash_final(state: Bytes, out: Bytes): void;
    randombytes_buf(out: Bytes): void;
    sodium_memcmp(a: Bytes, b: Bytes): boolean;
    sodium_memzero(buf: Bytes): void;
    crypto_pwhash_async(
      out: Bytes,
      passwd: Bytes,
      salt: Bytes,
      opslimit: number,
      memlimit: number,
      alg: number,
    ): Promise<void>;
    crypto_box_keypair(pk: Bytes, sk: Bytes): void;
    crypto_box_seal(c: Bytes, m: Bytes, pk: Bytes): void;
    crypto_box_seal_open(m: Bytes, c: Bytes, pk: Bytes, sk: Bytes): boolean;
    crypto_box_easy(c: Bytes, m: Bytes, n: Bytes, pk: Bytes, sk: Bytes): void;
    crypto_box_open_easy(m: Bytes, c: Bytes, n: Bytes, pk: Bytes, sk: Bytes): boolean;
    crypto_scalarmult_base(q: Bytes, n: Bytes): void;
  };
  export default sodium;
}
