export { Bayou, type BayouOptions, type Schedule } from "./bayou.ts";
export type { StateMachine } from "./stateMachine.ts";
export type { SyncMark, SyncWitness } from "./witness.ts";
export { newTimestamp, timestampAt, timestampMs, isTimestamp } from "./timestamp.ts";
export type { SnapshotKeeper } from "./localSnapshot.ts";
export { readFirstSync, type FirstReads } from "./firstReads.ts";
