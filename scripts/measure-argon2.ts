// Measures Argon2id (crypto_pwhash) cost on this machine: `npx tsx scripts/measure-argon2.ts`.
import { loadSodium } from "../src/crypto/sodium.ts";
import { derivePasswordKey, newSalt } from "../src/crypto/passwordKey.ts";

await loadSodium();
const settings: [number, number][] = [
  [2, 64],
  [4, 64],
  [3, 64],
  [3, 128],
  [2, 256],
  [3, 256],
];
console.log("| opslimit | memlimit | runs | min ms | median ms |");
console.log("| --- | --- | --- | --- | --- |");
for (const [ops, mib] of settings) {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await derivePasswordKey("a password", newSalt(), { opslimit: ops, memlimit: mib * 1024 * 1024 });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`| ${ops} | ${mib} MiB | 3 | ${times[0]!.toFixed(0)} | ${times[1]!.toFixed(0)} |`);
}
