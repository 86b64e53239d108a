/** The value the crash writer stores for write number n: 50 to 4,000 bytes, all derived from n. */
export function crashValue(n: number): Uint8Array {
  const length = 50 + ((n * 2654435761) % 3950);
  return Uint8Array.from({ length }, (_, i) => (n * 31 + i * 7) & 0xff);
}
