export function runFor(_a: string) {
  return async (): Promise<number> => 10;
}
