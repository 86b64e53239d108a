/** Types for sourceStamp.js (plain JavaScript, since the launcher runs before any TypeScript). */
export declare const stampFile: string;
export declare function sourceStamp(srcDir: string): string;
