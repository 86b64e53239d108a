/** One verdict of `doctor`: what was checked, how it went, and the fix when it did not pass. */
export type Verdict = "pass" | "warn" | "fail" | "skip";

export interface Check {
  name: string;
  status: Verdict;
  detail: string;
  fix?: string;
}
