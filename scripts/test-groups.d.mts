/** Types for test-groups.mjs (plain JavaScript: run-tests.mjs runs before anything is compiled). */
import type { run } from "node:test";

export declare function writeGroupEntry(entry: string, members: { name: string; path: string }[]): void;
export declare function countTests(stream: ReturnType<typeof run>): {
  shortfalls(groups: Map<string, string[]>, label: (file: string) => string): string[];
};
