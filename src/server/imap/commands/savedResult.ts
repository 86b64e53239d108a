/**
 * RFC 5182 §2.1: a SEARCH (or SORT) with the SAVE result option that fails leaves `$` empty, not
 * holding an older result the client would then act on by mistake. The parser's refusals of such
 * a command (BAD, or NO [BADCHARSET]) empty it too (session/connection.ts).
 */
import type { TaggedResult } from "../protocol/errorResponse.ts";
import type { Session } from "../session/session.ts";

export async function emptyingSavedOnFailure(
  session: Session,
  saves: boolean,
  work: () => Promise<TaggedResult>,
): Promise<TaggedResult> {
  if (!saves) return work();
  try {
    const result = await work();
    if (result.status !== "OK") session.savedSearch = [];
    return result;
  } catch (err) {
    session.savedSearch = [];
    throw err;
  }
}
