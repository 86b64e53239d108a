/** What Bayou needs to know about a state: a deterministic apply and encodings. */
export interface StateMachine<S, Op> {
  empty(): S;
  /**
   * Deterministic; may update `state` in place and return it (Bayou keeps checkpoints encoded and
   * decodes a fresh state to rebuild, so no older state is shared). `at` is the timestamp of the
   * op's row, the same on every computer.
   */
  apply(state: S, op: Op, at: string): S;
  encodeOp(op: Op): Uint8Array;
  decodeOp(bytes: Uint8Array): Op;
  encodeState(state: S): Uint8Array;
  decodeState(bytes: Uint8Array): S;
}
