/**
 * The base subject of RFC 5256 §2.1, which SORT SUBJECT and both THREAD algorithms compare: the
 * subject without "Re:", "Fwd:", "[list]" prefixes, "(fwd)" trailers and "[fwd: ...]" wrappers.
 * Takes the decoded subject (encoded words already turned into text, step 1's first half).
 */

const BLOB = String.raw`\[[^[\]]*\][ \t]*`;
/** subj-leader (step 3): *subj-blob subj-refwd, or one whitespace. */
const LEADER = new RegExp(String.raw`^(?:(?:${BLOB})*(?:re|fwd?)[ \t]*(?:${BLOB})?:|[ \t])`, "i");
const LEADING_BLOB = new RegExp(`^${BLOB}`);
/** subj-trailer (step 2). */
const TRAILER = /(?:\(fwd\)|[ \t])$/i;
/** subj-fwd-hdr ... subj-fwd-trl (step 5). */
const FWD_WRAPPER = /^\[fwd:([\s\S]*)\]$/i;

export interface BaseSubject {
  /** Compared with i;ascii-casemap (RFC 5256 §2.1 last paragraph): ASCII letters upper-cased. */
  key: string;
  /** A "Re:"/"Fwd:" leader, a "(fwd)" trailer or a "[fwd: ]" wrapper was removed (THREAD REFERENCES). */
  isReplyOrForward: boolean;
}

export function baseSubject(subject: string): BaseSubject {
  // Step 1: folding whitespace becomes one space.
  let s = subject.replace(/[\t\r\n ]+/g, " ");
  let isReplyOrForward = false;
  for (;;) {
    // Step 2.
    while (TRAILER.test(s)) {
      if (s.endsWith(")")) isReplyOrForward = true;
      s = s.slice(0, s.endsWith(")") ? -5 : -1);
    }
    // Steps 3 and 4, until neither removes anything.
    for (let changed = true; changed;) {
      changed = false;
      const leader = LEADER.exec(s);
      if (leader) {
        if (leader[0].trim() !== "") isReplyOrForward = true;
        s = s.slice(leader[0].length);
        changed = true;
        continue;
      }
      const blob = LEADING_BLOB.exec(s);
      if (blob && blob[0].length < s.length) {
        s = s.slice(blob[0].length);
        changed = true;
      }
    }
    // Step 5.
    const wrapped = FWD_WRAPPER.exec(s);
    if (!wrapped) break;
    s = wrapped[1]!;
    isReplyOrForward = true;
  }
  return { key: s.replace(/[a-z]+/g, (m) => m.toUpperCase()), isReplyOrForward };
}
