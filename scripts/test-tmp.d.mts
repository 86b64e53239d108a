/** Types for test-tmp.mjs (plain JavaScript: run-tests.mjs runs before anything is compiled). */
export declare function memoryTempFolder(): string | undefined;
