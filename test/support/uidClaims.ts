/**
 * What a mailbox's op log claims (issue 17): every UID each message was claimed at, by its add's
 * guess or a renumber, read by a replica of its own (no checkpoint may have folded the ops: a run
 * younger than Bayou's 60 s safety window). A message is only ever shown at one of its claims and a
 * UID never names two messages, so a client that fetches only above the last UID it holds
 * downloads a message at most once per claim: beyond one download each, at most the displaced
 * claims (per message, its claims minus its final one). Used by uidClash.test.ts and
 * bench/clashCost.ts.
 */
import type { Account } from "../../src/mail/account.ts";
import { uidIndexMachine } from "../../src/mail/mailbox.ts";
import type { UidIndex, UidOp } from "../../src/mail/uidIndex.ts";
import type { Store } from "../../src/storage/types.ts";
import { Bayou } from "../../src/sync/index.ts";

export interface LogClaims {
  /** By message id, every UID claimed for it. */
  claims: Map<string, Set<number>>;
  /** The message id at each UID shown at the end. */
  idAt: Map<number, string>;
}

export async function claimsInLog(store: Store, account: Account, name: string): Promise<LogClaims> {
  const info = (await account.listMailboxes()).mailboxes.find((m) => m.name === name);
  if (!info) throw new Error(`no mailbox ${name}`);
  const machine = uidIndexMachine(info.uidvalidity);
  const claims = new Map<string, Set<number>>();
  const claim = (id: string, uid: number) => claims.set(id, (claims.get(id) ?? new Set()).add(uid));
  const replay = new Bayou<UidIndex, UidOp>({
    store,
    key: account.subkey("uid-index"),
    path: `index/${info.id}`,
    machine: {
      ...machine,
      apply: (state, op, at) => {
        if (op.t === "add") claim(op.id, op.guessUid);
        if (op.t === "renumber") claim(op.id, op.uid);
        return machine.apply(state, op, at);
      },
    },
  });
  try {
    await replay.sync();
    return { claims, idAt: new Map([...replay.state.byUid].map(([uid, e]) => [uid, e.id])) };
  } finally {
    replay.close();
  }
}

/** Of the messages shown at the end: the displaced claims, and how many had more than two claims. */
export function displacement(log: LogClaims): { displaced: number; renumberedTwice: number } {
  let displaced = 0;
  let renumberedTwice = 0;
  for (const id of log.idAt.values()) {
    const n = log.claims.get(id)?.size ?? 0;
    displaced += Math.max(0, n - 1);
    if (n > 2) renumberedTwice += 1;
  }
  return { displaced, renumberedTwice };
}
