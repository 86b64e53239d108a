/** Types for test-compile.mjs (plain JavaScript: run-tests.mjs runs before anything is compiled). */
export declare function linkTwin(code: string, path: string, root: string, jsDir: string): string;
