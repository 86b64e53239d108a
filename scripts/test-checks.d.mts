/** Types for test-checks.mjs (plain JavaScript: run-tests.mjs runs before anything is compiled). */
export declare const PRETTIER_ARGS: readonly string[];
export declare function startChecks(
  root: string,
): Promise<{ name: string; status: number; wall: number; output: string }[]>;
export declare function reportChecks(
  results: { name: string; status: number; wall: number; output: string }[],
  write: (text: string) => void,
): boolean;
