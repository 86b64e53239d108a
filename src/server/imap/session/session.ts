/**
 * One client connection: its state (RFC 3501 §3), the account it opened, the selected mailbox view,
 * and what it ENABLEd. Commands run one at a time, in order; pipelined commands wait their turn.
 */
import type { Account } from "../../../mail/account.ts";
import type { AccountDirectory } from "../../../mail/accountDirectory.ts";
import type { Mailbox } from "../../../mail/mailbox.ts";
import type { Log } from "../../../log.ts";
import type { ResponseWriter } from "../protocol/responseWriter.ts";
import { SelectedView, type ViewUpdate } from "./selectedView.ts";
import { compactSet } from "../protocol/wire.ts";
import { AnnouncedFlags } from "./announcedFlags.ts";

export type SessionState = "notAuthenticated" | "authenticated" | "selected" | "logout";

export interface Selected {
  name: string;
  mailbox: Mailbox;
  view: SelectedView;
  readOnly: boolean;
  /** The keywords the client was told of in FLAGS (RFC 3501 §7.2.6). */
  flags: AnnouncedFlags;
  /**
   * The UIDs this session sees as \Recent (RFC 3501 §2.3.2): claimed from the mailbox at SELECT
   * and as new messages arrive; EXAMINE sees them without claiming them.
   */
  recent: Set<number>;
  /** Unsubscribes from the mailbox's in-process change events. */
  unlisten: () => void;
}

export interface ServerContext {
  directory: AccountDirectory;
  tlsAvailable: boolean;
  appendLimit: number;
  log: Log;
}

export class Session {
  state: SessionState = "notAuthenticated";
  account: Account | undefined;
  selected: Selected | undefined;
  /** RFC 5161 ENABLE; CONDSTORE is also turned on by its first use (RFC 7162 §3.1). */
  readonly enabled = new Set<string>();
  tlsActive = false;
  /** Set by the IDLE command while it waits for DONE. */
  idleDone: (() => void) | undefined;
  /** Called when the selected mailbox changes (IDLE listens here). */
  changeListener: (() => void) | undefined;
  /** RFC 5182 `$`: the UIDs saved by the last SEARCH RETURN (SAVE). */
  savedSearch: number[] = [];

  constructor(
    readonly server: ServerContext,
    readonly out: ResponseWriter,
  ) {}

  notifyChange(): void {
    this.changeListener?.();
  }

  /** The unlocked account; only called in the authenticated and selected states. */
  get requireAccount(): Account {
    if (!this.account) throw new Error("no account in an authenticated state");
    return this.account;
  }

  get requireSelected(): Selected {
    if (!this.selected) throw new Error("no mailbox in the selected state");
    return this.selected;
  }

  get condstore(): boolean {
    return this.enabled.has("CONDSTORE") || this.enabled.has("QRESYNC");
  }

  get qresync(): boolean {
    return this.enabled.has("QRESYNC");
  }

  /**
   * ENABLE IMAP4rev2 (RFC 9051): no \Recent and no RECENT responses, SEARCH answers in ESEARCH,
   * SELECT sends LIST and no UNSEEN, mailbox names in UTF-8.
   */
  get rev2(): boolean {
    return this.enabled.has("IMAP4REV2");
  }

  /** Mailbox names go both ways as UTF-8, not modified UTF-7 (RFC 6855 §3, RFC 9051 §5.1). */
  get utf8Names(): boolean {
    return this.rev2 || this.enabled.has("UTF8=ACCEPT");
  }

  async select(name: string, mailbox: Mailbox, readOnly: boolean, onChange: () => void): Promise<Selected> {
    this.unselect();
    this.savedSearch = [];
    const unlisten = mailbox.onChange(onChange);
    this.selected = {
      name,
      mailbox,
      view: new SelectedView(mailbox.index),
      readOnly,
      flags: new AnnouncedFlags(mailbox.index.shown.flagListsInUse()),
      // An IMAP4rev2 session has no \Recent (RFC 9051 §2.3.2): it leaves new messages to others.
      recent: new Set(this.rev2 ? [] : mailbox.unclaimedRecent(!readOnly)),
      unlisten,
    };
    this.state = "selected";
    return this.selected;
  }

  unselect(): void {
    this.selected?.unlisten();
    this.selected = undefined;
    if (this.state === "selected") this.state = "authenticated";
  }

  /**
   * Sends what changed in the selected mailbox since the client last heard, as the rules allow.
   * `echo` is a STORE's own set: with `silent` its flag echoes are dropped (unless CONDSTORE wants
   * them, RFC 7162 §3.1.3); without, every message of the set gets a FETCH even if unchanged.
   * Returns false when the session must end (UIDVALIDITY changed under it).
   */
  async reportChanges(
    allowExpunge: boolean,
    echo?: { uids: Set<number>; silent: boolean },
  ): Promise<boolean> {
    const sel = this.selected;
    if (!sel) return true;
    const updates = sel.view.catchUp(sel.mailbox.index, {
      allowExpunge,
      qresync: this.qresync,
      condstore: this.condstore,
    });
    const told = new Set<number>();
    const index = sel.mailbox.index;
    const shown = updates.flatMap((u) => (u.kind === "flags" ? [u.flags] : []));
    if (echo && !echo.silent) for (const uid of echo.uids) shown.push(index.byUid.get(uid)?.flags ?? []);
    await this.announceFlags(shown);
    for (const u of updates) {
      if (u.kind === "flags" && echo?.uids.has(u.uid)) {
        if (echo.silent && !this.condstore) continue;
        told.add(u.uid);
      }
      const line = this.updateLine(u);
      if (line === null) {
        await this.out.untagged(
          "BYE [UIDVALIDITY] the mailbox was changed by two computers at once; reconnect",
        );
        return false;
      }
      await this.out.untagged(line);
      if (u.kind === "exists" && !this.rev2) await this.out.untagged(`${this.claimRecent(sel)} RECENT`);
    }
    if (echo && !echo.silent) {
      for (const uid of echo.uids) {
        const entry = sel.mailbox.index.byUid.get(uid);
        const seq = sel.view.seqOf(uid);
        if (told.has(uid) || !entry || seq === 0) continue;
        await this.out.untagged(
          this.updateLine({ kind: "flags", seq, uid, flags: entry.flags, modseq: entry.modseq })!,
        );
      }
    }
    return true;
  }

  /**
   * Sends FLAGS and PERMANENTFLAGS when one of these flag lists holds a keyword the client was not
   * told of (RFC 3501 §7.2.6); call before the FETCH responses that show them.
   */
  async announceFlags(flagLists: Iterable<readonly string[]>): Promise<void> {
    const sel = this.selected;
    if (!sel) return;
    let added = false;
    for (const flags of flagLists) if (sel.flags.learn(flags)) added = true;
    if (!added) return;
    for (const line of sel.flags.lines(sel.readOnly)) await this.out.untagged(line);
  }

  /** A message's flags as this session shows them: \Recent added where it is recent to it. */
  flagsOf(uid: number, flags: readonly string[]): readonly string[] {
    return this.selected?.recent.has(uid) ? [...flags, "\\Recent"] : flags;
  }

  /** Takes the messages just announced by EXISTS that no session has had as \Recent; the count. */
  private claimRecent(sel: Selected): number {
    for (const uid of sel.mailbox.unclaimedRecent(!sel.readOnly)) sel.recent.add(uid);
    let count = 0;
    for (const uid of sel.recent) if (sel.mailbox.index.byUid.has(uid)) count++;
    return count;
  }

  private updateLine(u: ViewUpdate): string | null {
    switch (u.kind) {
      case "expunge":
        return `${u.seq} EXPUNGE`;
      case "vanished":
        return `VANISHED ${compactSet(u.uids)}`;
      case "exists":
        return `${u.count} EXISTS`;
      case "flags": {
        const modseq = this.condstore ? ` MODSEQ (${u.modseq})` : "";
        return `${u.seq} FETCH (UID ${u.uid} FLAGS (${this.flagsOf(u.uid, u.flags).join(" ")})${modseq})`;
      }
    }
  }

  close(): void {
    this.unselect();
    this.state = "logout";
    this.idleDone?.();
  }
}
