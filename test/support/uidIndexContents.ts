/**
 * What a UidIndex holds, as plain data for assert.deepEqual: two states that show the same thing
 * can differ in how their columns are laid out (mail/shownMessages.ts: id arena, hash table, flag
 * table order), so tests compare this instead of the states themselves.
 */
import type { MailEntry, UidIndex, Vanished } from "../../src/mail/uidIndex.ts";

export interface UidIndexContents {
  uidvalidity: number;
  uidnext: number;
  highestModseq: number;
  shown: MailEntry[];
  unplaced: Map<string, MailEntry>;
  vanished: Vanished[];
  vanishedUids: Set<number>;
}

export function uidIndexContents(state: UidIndex): UidIndexContents {
  return {
    uidvalidity: state.uidvalidity,
    uidnext: state.uidnext,
    highestModseq: state.highestModseq,
    shown: [...state.byUid.values()],
    unplaced: new Map([...state.unplaced].map(([id, e]) => [id, { ...e }])),
    vanished: state.vanished.map((v) => ({ ...v })),
    vanishedUids: new Set(state.vanishedUids),
  };
}
