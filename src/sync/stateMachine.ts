/** What Bayou needs to know about a state: a deterministic apply, a clone, and encodings. */
export interface StateMachine<S, Op> {
  empty(): S;
  /** Deterministic; may update `state` in place and return it (Bayou clones what it keeps). */
  apply(state: S, op: Op): S;
  clone(state: S): S;
  encodeOp(op: Op): Uint8Array;
  decodeOp(bytes: Uint8Array): Op;
  encodeState(state: S): Uint8Array;
  decodeState(bytes: Uint8Array): S;
}
