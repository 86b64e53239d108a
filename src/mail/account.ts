/**
 * An account: the key root in storage (`keys/root`), opened with a password, and the mail it
 * protects. Subkeys for each purpose are derived from the master key, so a leak of one purpose's
 * key (say, a bug that logs an index key) does not open the others.
 */
import { KeyEpochs } from "../crypto/keyEpochs.ts";
import type { KeyRing } from "../crypto/aead.ts";
import {
  addPassword as addRootPassword,
  changePassword as changeRootPassword,
  createKeyRoot,
  deriveSubkey,
  parseKeyRoot,
  removePassword as removeRootPassword,
  serializeKeyRoot,
  unlockKeyRoot,
  wipeKeys,
  type UnlockedKeys,
} from "../crypto/keyRoot.ts";
import type { KdfParams } from "../crypto/passwordKey.ts";
import { loadSodium } from "../crypto/sodium.ts";
import { AlreadyExists, NotFound } from "../errors.ts";
import { createLogger, type Log } from "../log.ts";
import { join } from "node:path";
import type { RowEntry, Store } from "../storage/types.ts";
import {
  canonicalName,
  createMailbox,
  DEFAULT_MAILBOXES,
  deleteMailbox,
  liveNames,
  lookup,
  renameMailbox,
  setSubscribed,
  type MailboxEntry,
  type MailboxList,
  type SpecialUse,
} from "./mailboxList.ts";
import { MailboxListStore } from "./mailboxListStore.ts";
import { openMarkBook, type MarkBook } from "./localMarks.ts";
import { openJournalAhead } from "./markJournal.ts";
import { Mailbox, mailboxIndexPath } from "./mailbox.ts";
import { isMailId } from "./ids.ts";
import { holdsMessage } from "./uidIndex.ts";
import type { ShownMessages } from "./shownMessages.ts";
import { MarkWitness } from "./markWitness.ts";
import { indexSnapshots } from "./indexSnapshots.ts";
import { ListView } from "./listView.ts";
import { SharedListView } from "./sharedListView.ts";
import { holdsListView, SegmentsAhead } from "./listSegmentsAhead.ts";
import { readFirstSync, type FirstReads, type SnapshotKeeper } from "../sync/index.ts";
import { MessageStore } from "./messageStore.ts";
import { FiledDeliveries, FILED_SUBKEY } from "./incoming/filedDeliveries.ts";
import { IndexFiller } from "./search/indexFiller.ts";
import { KeptKeyRoot } from "./keptKeyRoot.ts";
import { SearchIndex } from "./search/searchIndex.ts";

const KEY_ROOT = "keys/root";

/** How long closing waits for the watch rows of the last writes (Account.close). */
const SETTLE_AT_CLOSE_MS = 5_000;
/**
 * How old a read of the mailbox list may be for an APPEND's name check (mailboxForWrite): a burst
 * of APPENDs shares one read per second instead of one each. A rename or deletion on another
 * computer reaches this one's writes that much later, as if it had come just after them (a
 * renamed mailbox keeps its messages; see docs/architecture.md for a deletion).
 */
const NAME_CHECK_MAX_AGE_MS = 1_000;

/**
 * How long after its opening started a mailbox opened at login (Account.openAhead) counts as just
 * synced for a client's first SELECT of it; later, that SELECT syncs it as any open mailbox's.
 */
const OPENED_AHEAD_FRESH_MS = 3_000;
/** How old a row read started at login (AccountOptions.readAtLogin) may be when it is taken. */
const LOGIN_READ_MAX_AGE_MS = 3_000;

export async function accountExists(store: Store): Promise<boolean> {
  return (await store.blobs.head(KEY_ROOT)) !== null;
}

function noAccount(): never {
  throw new NotFound("this storage holds no account yet: run `aerogramme-local init`");
}

async function readRoot(store: Store) {
  await loadSodium();
  const bytes = await store.blobs.get(KEY_ROOT);
  if (!bytes) noAccount();
  return parseKeyRoot(bytes);
}

/** Reads the key root and keeps it for the next unlock (a daemon, at start); false: no account. */
export async function readKeptKeyRoot(store: Store, kept: KeptKeyRoot): Promise<boolean> {
  const bytes = await store.blobs.get(KEY_ROOT);
  kept.remember(bytes);
  return bytes !== null;
}

/** How this computer runs an account: where it keeps its marks of what storage held, and its log. */
export interface AccountOptions {
  /**
   * The folder of this computer's sealed marks (localMarks.ts), kept across runs; without it the
   * marks last for the run only.
   */
  marksDir?: string;
  /** Where refusals are logged (default: stderr, from "info" up). */
  log?: Log;
  /**
   * The folder of this computer's sealed snapshots of mailbox indexes (indexSnapshots.ts), so the
   * first SELECT of a run need not replay every op row; without it, every run replays them.
   */
  snapshotsDir?: string;
  /**
   * The folder of this computer's sealed list views (listView.ts), so a client's message list
   * opens one object per 1,000 messages instead of one per message; without it, every list opens
   * each message's meta.
   */
  listViewDir?: string;
  /**
   * Whether the list view is shared through the bucket (sharedListView.ts); by default on a
   * remote store only. Tests turn it on over a memory store.
   */
  shareListView?: boolean;
  /** UIDs per shared list segment: listSegments.ts's SHARED_SPAN; tests use fewer. */
  listSegmentSpan?: number;
  /**
   * The folder of this computer's search indexes (mail/search/), one sealed index per account in
   * it; without it every SEARCH scans.
   */
  searchIndexDir?: string;
  /** How long after the first login the index's first background pass waits (default 3 s). */
  searchIndexDelayMs?: number;
  /**
   * How long a background pass waits for a lull before it begins anyway (indexFiller.ts,
   * START_WAIT_MAX_MS, 10 s); a test of that bound shortens it.
   */
  searchIndexStartWaitMs?: number;
  /**
   * Every message stored waits for its index build with its bytes in memory, not only the first
   * 2 MiB of them (mail/search/indexFiller.ts): `import`, a batch whose process ends after it, so
   * that what still waits at its close is indexed then, on a remote store too.
   */
  searchIndexHoldsAll?: boolean;
  /**
   * Rows that what follows the unlock reads (the daemon's: the registry of delivery senders),
   * read by openAccount beside the key root, during Argon2id; `takeLoginRead` hands each out once.
   */
  readAtLogin?: { pk: string; sk: string }[];
  /**
   * The key root as last read (the daemon reads it at start): openAccount starts Argon2id on it
   * beside its own read of `keys/root`, which decides (keptKeyRoot.ts).
   */
  keptKeyRoot?: KeptKeyRoot;
  /**
   * INBOX's mailbox id as this computer last saw it, kept in clear by the caller (the daemon:
   * config/inboxHint.ts), and `learned`, told the id the sealed list gives at openAhead("INBOX")
   * when it is another. On a remote store openAccount starts INBOX's first-sync reads by it beside
   * Argon2id; openAhead hands them to INBOX's first sync only when the sealed list, opened after
   * the unlock, gives INBOX that same id (else they are dropped: a wrong hint costs reads only).
   * Without a list view here (listViewDir), INBOX's shared list segments likewise
   * (listSegmentsAhead.ts), for its fill.
   */
  inboxHint?: { id: string | undefined; learned?: (id: string) => void };
}

export async function createAccount(
  store: Store,
  opts: { user: string; password: string; kdf?: KdfParams } & AccountOptions,
): Promise<Account> {
  await loadSodium();
  if (await accountExists(store)) {
    throw new AlreadyExists("this storage already holds an account: open it with its password instead");
  }
  const { root, keys } = await createKeyRoot(opts.password, opts.kdf);
  await store.blobs.put(KEY_ROOT, serializeKeyRoot(root));
  const account = new Account(store, keys, opts);
  // From the start, so that a missing record later means the host removed it (incoming/filedDeliveries.ts).
  await account.filedDeliveries().ensureExists();
  await account.mailboxList.update((list, stamp) => {
    let next = list;
    for (const [name, use] of DEFAULT_MAILBOXES) {
      if (!lookup(next, name)) next = createMailbox(next, name, stamp, use);
      next = setSubscribed(next, name, true, stamp);
    }
    return [next, undefined];
  });
  return account;
}

/** Opens the account; AuthFailed when the password opens no entry. */
export async function openAccount(
  store: Store,
  password: string,
  options: AccountOptions = {},
): Promise<Account> {
  // The mailbox list, which a client asks for right after LOGIN, is read beside the key root.
  const listStartedAt = performance.now();
  const listRow = MailboxListStore.readRow(store.rows);
  listRow.catch(() => undefined); // the first load reads again
  const rows = (options.readAtLogin ?? []).map(({ pk, sk }) => {
    const row = store.rows.read(pk, sk);
    row.catch(() => undefined); // its taker reads again
    return { pk, sk, row };
  });
  if (options.marksDir) void openJournalAhead(options.marksDir, options.log ?? createLogger("info"));
  // One unlock path: without a root kept by the daemon, nothing starts before the read.
  const kept = options.keptKeyRoot ?? new KeptKeyRoot();
  const rootRead = store.blobs.get(KEY_ROOT);
  const unlocking = kept.unlockRead(rootRead, password, noAccount);
  // INBOX's first sync needs no key for its reads: by this computer's hint they go beside
  // Argon2id (issue 11: a second computer's SELECT waited on them after the unlock). Only on a
  // remote store: a local one has no round trip to hide.
  const hinted = options.inboxHint?.id;
  const inboxReads =
    hinted !== undefined && isMailId(hinted) && store.readParallelism !== undefined
      ? readFirstSync(store, mailboxIndexPath(hinted))
      : undefined;
  // And its shared list segments, for a computer without a list view (the header list met their
  // GETs, open and inflate after INBOX's first sync): after the reads above, which the unlock
  // and the first SELECT wait on, in the same pool.
  const segmentsAhead =
    inboxReads && options.listViewDir !== undefined && (options.shareListView ?? true)
      ? new SegmentsAhead(store.blobs, hinted!, {
          when: holdsListView(options.listViewDir).then((held) => !held),
          after: Promise.allSettled([
            rootRead,
            inboxReads.watch,
            inboxReads.rows,
            inboxReads.listing,
            inboxReads.early,
          ]),
          parallelism: store.readParallelism!(),
        })
      : undefined;
  let keys: UnlockedKeys;
  try {
    keys = await unlocking;
  } catch (err) {
    segmentsAhead?.drop();
    throw err;
  }
  const account = new Account(store, keys, options);
  account.mailboxList.prime(listRow, listStartedAt);
  for (const { pk, sk, row } of rows) account.primeRow(pk, sk, row, listStartedAt);
  if (inboxReads) account.primeFirstSync(inboxReads, segmentsAhead);
  return account;
}

export async function addPassword(
  store: Store,
  current: string,
  added: string,
  kdf?: KdfParams,
): Promise<void> {
  const root = await readRoot(store);
  const keys = await unlockKeyRoot(root, current);
  try {
    await store.blobs.put(KEY_ROOT, serializeKeyRoot(await addRootPassword(root, keys, added, kdf)));
  } finally {
    wipeKeys(keys);
  }
}

export async function changePassword(
  store: Store,
  current: string,
  next: string,
  kdf?: KdfParams,
): Promise<void> {
  const root = await readRoot(store);
  await store.blobs.put(KEY_ROOT, serializeKeyRoot(await changeRootPassword(root, current, next, kdf)));
}

export async function removePassword(store: Store, password: string): Promise<void> {
  const root = await readRoot(store);
  await store.blobs.put(KEY_ROOT, serializeKeyRoot(await removeRootPassword(root, password)));
}

export interface MailboxInfo {
  name: string;
  id: string;
  uidvalidity: number;
  subscribed: boolean;
  specialUse?: SpecialUse;
}

export class Account {
  readonly mailboxList: MailboxListStore;
  readonly messages: MessageStore;
  private readonly indexKey: KeyRing;
  /** The master keys by key epoch; every store of this account seals through its rings. */
  readonly epochs: KeyEpochs;
  /** Checks every mailbox index against this computer's marks (DESIGN.md §6). */
  private readonly witness: MarkWitness;
  /** This computer's marks of what storage held, for the indexes, the list and the filed record. */
  private readonly marks: MarkBook;
  private readonly snapshots: SnapshotKeeper | undefined;
  private readonly open = new Map<string, Promise<Mailbox>>();
  /** Mailboxes openAhead opened that no mailboxOpened call took yet, with when their opening started. */
  private readonly openedAhead = new Map<string, number>();
  /** A mailbox's first-sync reads started at login by the hint (openAccount), until openAhead. */
  private firstSyncReads: FirstReads | undefined;
  /** Its shared list segments fetched at login (listSegmentsAhead.ts), likewise until openAhead. */
  private segmentsAhead: SegmentsAhead | undefined;
  private readonly inboxLearned: ((id: string) => void) | undefined;
  private readonly inboxHinted: string | undefined;
  /** Row reads started at login (readAtLogin), by "pk/sk", until taken. */
  private readonly loginReads = new Map<string, { at: number; row: Promise<RowEntry | null> }>();
  /**
   * Told of each mailbox a mailboxOpened call opened (the cache fill: mail/newestBodies.ts), and,
   * with `ahead` true, of INBOX opened at login (openAhead) before any client asked for it.
   */
  private readonly openedListeners = new Set<(mailbox: Mailbox, ahead: boolean) => void>();
  private closed = false;
  /** The local search index and what keeps it up (mail/search/); absent without a folder for it. */
  readonly searchIndex: SearchIndex | undefined;
  private readonly indexFiller: IndexFiller | undefined;
  private readonly log: Log;

  constructor(
    readonly store: Store,
    keys: UnlockedKeys,
    options: AccountOptions = {},
  ) {
    this.log = options.log ?? createLogger("info");
    this.inboxHinted = options.inboxHint?.id;
    this.inboxLearned = options.inboxHint?.learned;
    const epochs = (this.epochs = new KeyEpochs(keys));
    const marks = (this.marks = openMarkBook({
      ...(options.marksDir ? { marksDir: options.marksDir } : {}),
      key: epochs.ring("local-marks"),
      accountName: keys.accountName,
      log: this.log,
    }));
    this.mailboxList = new MailboxListStore(store.rows, epochs.ring("mailbox-list"), marks);
    this.messages = new MessageStore(store, epochs.ring("message-meta"));
    this.indexKey = epochs.ring("uid-index");
    this.witness = new MarkWitness(marks, (path) => this.deleted(path));
    this.snapshots = options.snapshotsDir ? indexSnapshots(options.snapshotsDir, keys.masterKey) : undefined;
    // A network store has a pool that follows the round trip (Store.readParallelism); a local one none.
    const remote = store.readParallelism !== undefined;
    if (options.listViewDir) {
      const view = (this.messages.listView = new ListView(options.listViewDir, keys.masterKey, this.log, () =>
        this.messages.activity.lull(),
      ));
      // Shared through the bucket only from a remote store: on a local one the view is at hand.
      if (options.shareListView ?? remote)
        this.messages.sharedList = new SharedListView(
          store.blobs,
          epochs.ring("shared-list-view"),
          view,
          () => this.messages.readParallelism(),
          this.log,
          options.listSegmentSpan,
        );
    }
    if (options.searchIndexDir) {
      const folder = Buffer.from(deriveSubkey(keys.masterKey, "search-index-folder")).subarray(0, 12);
      const log = options.log ?? createLogger("info");
      const index = new SearchIndex(
        join(options.searchIndexDir, folder.toString("hex")),
        deriveSubkey(keys.masterKey, "search-index"),
        log,
      );
      this.searchIndex = index;
      this.indexFiller = new IndexFiller(
        index,
        {
          messages: this.messages,
          mailboxMessages: () => this.mailboxMessages(),
          storeIsLocal: !remote,
        },
        log,
        {
          firstPassDelayMs: options.searchIndexDelayMs,
          startWaitMaxMs: options.searchIndexStartWaitMs,
          holdsAll: options.searchIndexHoldsAll,
        },
      );
      this.messages.observer = this.indexFiller;
    }
  }

  /**
   * Keeps a mailbox's first-sync reads started at login, and its shared list segments fetched then,
   * for openAhead to take or drop.
   */
  primeFirstSync(reads: FirstReads, segments?: SegmentsAhead): void {
    this.firstSyncReads = reads;
    this.segmentsAhead = segments;
  }

  /** Keeps a read of row `pk`/`sk` started at login (at `startedAt`) for `takeLoginRead`. */
  primeRow(pk: string, sk: string, row: Promise<RowEntry | null>, startedAt: number): void {
    this.loginReads.set(`${pk}/${sk}`, { at: startedAt, row });
  }

  /**
   * The read of `pk`/`sk` started at login (AccountOptions.readAtLogin), once, if it started at
   * most LOGIN_READ_MAX_AGE_MS ago; else undefined, and the caller reads. What it holds may be as
   * old as the login's start: as if the caller's own read had been slow.
   */
  takeLoginRead(pk: string, sk: string): Promise<RowEntry | null> | undefined {
    const key = `${pk}/${sk}`;
    const read = this.loginReads.get(key);
    this.loginReads.delete(key);
    if (!read || performance.now() - read.at > LOGIN_READ_MAX_AGE_MS) return undefined;
    return read.row;
  }

  /**
   * Starts opening the mailbox `name` (INBOX, a client's likely first SELECT) from the list read at
   * login, so that its first sync, with all its checks, runs while the client is still busy with
   * LOGIN, CAPABILITY and LIST. Call it once the account is trusted (the key pin checked): an
   * opening may write (a checkpoint, a crashed APPEND's withdrawal). Nothing when there is no such
   * read or mailbox; a failure (the list's own rollback check's too) is left to the SELECT, which
   * opens it again and meets it.
   */
  openAhead(name: string): void {
    const list = this.mailboxList.loginList();
    const started = this.firstSyncReads;
    const segments = this.segmentsAhead;
    this.firstSyncReads = undefined; // taken below, or dropped: never kept past this opening
    this.segmentsAhead = undefined;
    if (!list) {
      segments?.drop();
      return;
    }
    let startedAt = performance.now();
    void list.opened.then(
      (l) => {
        const entry = lookup(l, name);
        if (!entry || this.closed || this.open.has(entry.id)) {
          segments?.drop();
          return;
        }
        // The reads started at login by the hint count only when the sealed list gives this
        // mailbox the id they read; the state they give is as old as their start.
        const reads = started?.path === mailboxIndexPath(entry.id) ? started : undefined;
        if (reads) startedAt = reads.startedAt;
        // Likewise its segments, opened from now on (the key is here), beside the first sync:
        // the fill, after it, checks their ids against the index and adopts them.
        const shared = this.messages.sharedList;
        if (segments && reads && segments.mailboxId === entry.id && shared) shared.takeAhead(segments);
        else segments?.drop();
        this.openedAhead.set(entry.id, startedAt);
        // Its sync goes beside the list's check against the mark (a disk flush); the opening is
        // handed out only once the checked list still holds it, as mailboxOpened's early one.
        const live = list.checked.then((checked) => stillLive(checked, entry));
        if (canonicalName(name) === "INBOX" && entry.id !== this.inboxHinted)
          void live.then((still) => still && this.inboxLearned?.(entry.id)).catch(() => undefined);
        this.startOpening(entry, live, reads).then(
          (mbx) => {
            // A second computer's shared list segments are fetched while the client is still on
            // LOGIN's answer, CAPABILITY and LIST (mailboxOpened's fill then finds them looked for).
            void this.messages.sharedList?.fill(mbx);
            // And the newest bodies, the end of a client's first sync (mail/cacheFill.ts).
            this.tellOpened(mbx, true);
          },
          () => {
            this.openedAhead.delete(entry.id);
            this.messages.sharedList?.dropAhead(entry.id);
          },
        );
      },
      () => undefined, // the client's LIST or SELECT reads the list again and meets the error
    );
  }

  /** Starts bringing the search index up to date in the background (once per call; see indexFiller.ts). */
  indexInBackground(): void {
    this.indexFiller?.start();
  }

  /** The messages of every live mailbox, as their UidIndexes keep them (no string per message). */
  private async mailboxMessages(): Promise<ShownMessages[]> {
    const boxes: ShownMessages[] = [];
    for (const info of (await this.listMailboxes()).mailboxes)
      boxes.push((await this.listedMailbox(info)).index.shown);
    return boxes;
  }

  /** Whether the mailbox whose index lives at `path` was deleted: no live name holds its id. */
  private async deleted(path: string): Promise<boolean> {
    const id = path.slice(path.indexOf("/") + 1);
    const list = await this.mailboxList.load();
    return ![...list.values()].some((entry) => entry.id === id);
  }

  /** The public key of the current key epoch: what deliveries are sealed to. */
  get publicKey(): Uint8Array {
    return this.epochs.current.publicKey;
  }

  /** The keys of one purpose of this account's records in every epoch held, e.g. the incoming queue's. */
  subkey(purpose: string): KeyRing {
    return this.epochs.ring(purpose);
  }

  /**
   * The record of filed deliveries (incoming/filedDeliveries.ts), checked against this computer's
   * mark of it: one per mover, whose state lasts as long as it does.
   */
  filedDeliveries(now?: () => number): FiledDeliveries {
    return new FiledDeliveries(this.store.rows, this.subkey(FILED_SUBKEY), now, this.marks);
  }

  /** Seals this computer's mark of `path` again under the current key epoch (a rekey). */
  resealMark(path: string): Promise<void> {
    return this.marks.reseal(path);
  }

  /**
   * Live mailboxes and subscriptions, fresh from storage; `loginRead`: a read started at login may
   * answer, if nothing read the list since (a client's LIST: MailboxListStore.prime).
   */
  async listMailboxes(
    options: { loginRead?: boolean } = {},
  ): Promise<{ list: MailboxList; mailboxes: MailboxInfo[] }> {
    const list = await this.mailboxList.load(options);
    const mailboxes = liveNames(list).map((name) => toInfo(name, list.get(name)!));
    return { list, mailboxes };
  }

  /**
   * The mailbox called `name` for a write that should not wait for a read of the mailbox list (an
   * APPEND: one round trip to storage, docs/architecture.md). When the list as last read names an
   * open mailbox, that one comes at once, with `stillNamed`: a read of the list, to run beside the
   * write (or one started at most NAME_CHECK_MAX_AGE_MS ago), which says whether the name still
   * leads there (another computer may have renamed or deleted it meanwhile; the caller then
   * withdraws its write and asks `mailbox` again). Otherwise
   * the mailbox comes as `mailbox` gives it, and `stillNamed` is true.
   */
  async mailboxForWrite(name: string): Promise<{ mailbox: Mailbox; stillNamed: Promise<boolean> }> {
    const known = lookup(await this.mailboxList.current(), name);
    const opening = known ? this.open.get(known.id) : undefined;
    const open = opening ? await opening.catch(() => undefined) : undefined;
    if (!known || !open) return { mailbox: await this.mailbox(name), stillNamed: Promise.resolve(true) };
    const stillNamed = this.mailboxList.loadRecent(NAME_CHECK_MAX_AGE_MS).then((list) => {
      const now = lookup(list, name);
      return now?.id === known.id && now.uidvalidity === known.uidvalidity;
    });
    stillNamed.catch(() => undefined); // the caller awaits it; not unhandled meanwhile
    return { mailbox: open, stillNamed };
  }

  /** The mailbox called `name`, synced; one shared instance per mailbox for the whole process. */
  async mailbox(name: string): Promise<Mailbox> {
    return (await this.mailboxOpened(name)).mailbox;
  }

  /**
   * A mailbox a list just read holds, opened by its id: for walks over every mailbox (deleting
   * content, status, the search index, the cache, a rekey). Another computer may rename or delete
   * one meanwhile; by name, the walk then failed with NotFound (issue 17: a DELETE whose tombstone
   * had landed answered "does not exist"). A renamed one keeps its id and its mail; a deleted one
   * opens empty.
   */
  listedMailbox(info: { id: string; uidvalidity: number }): Promise<Mailbox> {
    return this.open.get(info.id) ?? this.startOpening(info, Promise.resolve(true));
  }

  /**
   * As `mailbox`, and whether this call opened it (a mailbox openAhead opened counts as opened by
   * the first call that takes it); `synced`: its sync ran during the call, and a SELECT need not
   * sync it again. When the list as last read names a mailbox that is not open yet, its first sync
   * (with its own rollback check; it may start a checkpoint, as any sync) goes beside the read of
   * the list instead of after it: a second computer's first SELECT waits one round trip less. One
   * already open syncs beside that read too (a client's SELECT again: one round trip, not two). The
   * fresh list is still awaited, and checked against this computer's mark, before the mailbox is
   * handed out; the opening ends (recovering interrupted writes) only once the list has passed
   * that check.
   */
  async mailboxOpened(name: string): Promise<{ mailbox: Mailbox; opened: boolean; synced: boolean }> {
    const listed = this.mailboxList.load();
    const last = this.mailboxList.peek();
    const guess = last ? lookup(last, name) : undefined;
    const running = guess ? this.open.get(guess.id) : undefined;
    const ahead = guess !== undefined && this.takeOpenedAhead(guess.id);
    const early =
      guess && !running
        ? this.startOpening(
            guess,
            listed.then((list) => stillLive(list, guess)),
          )
        : undefined;
    early?.catch(() => undefined); // awaited below when the list confirms it; else nobody's failure
    // Opened at login a moment ago: its first sync is as fresh as this one would be.
    const besideList = running && !ahead ? running.then((mbx) => mbx.sync()) : undefined;
    besideList?.catch(() => undefined); // awaited below when the list confirms the guess
    const entry = lookup(await listed, name);
    if (!entry) throw new NotFound(`mailbox "${name}" does not exist`);
    const known = this.open.get(entry.id);
    const opening = known ?? this.startOpening(entry, Promise.resolve(true));
    const mailbox = await opening;
    // Taken ahead: the guess's, or one openAhead started after this call looked (a late list).
    const tookAhead =
      (ahead && known === running) ||
      (known !== undefined && known !== running && this.takeOpenedAhead(entry.id));
    const opened = known === undefined || known === early || tookAhead;
    if (opened) {
      // Started at once (its GETs overlap the SELECT's answer) and before the listeners: the meta
      // read ahead (metaAhead.ts) skips what the shared list segments hold.
      const shared = this.messages.sharedList;
      if (shared) void shared.fill(mailbox).then(() => shared.share(mailbox));
      // Right after the caller's answer (a SELECT's), not before it: the cache fill's listener
      // starts reading every meta row ahead, ~20-40 ms of CPU at 10,000 messages.
      setImmediate(() => this.tellOpened(mailbox, false));
    }
    if (besideList && known === running) await besideList;
    return { mailbox, opened, synced: opened || (besideList !== undefined && known === running) };
  }

  /** Whether `id` was opened by openAhead recently enough to count as just synced; forgets it. */
  private takeOpenedAhead(id: string): boolean {
    const startedAt = this.openedAhead.get(id);
    this.openedAhead.delete(id);
    return startedAt !== undefined && performance.now() - startedAt <= OPENED_AHEAD_FRESH_MS;
  }

  private tellOpened(mailbox: Mailbox, ahead: boolean): void {
    if (this.closed) return;
    for (const listener of this.openedListeners) listener(mailbox, ahead);
  }

  /**
   * Calls `listener` with each mailbox a mailboxOpened call opens (a client's first SELECT of it
   * in this process), on the event loop's next turn after the call returns (once a SELECT wrote
   * its answer), and with `ahead` true as openAhead's opening ends (INBOX at login: the SELECT
   * that takes it then calls it again with false); the listener must not throw or block. Returns
   * the unsubscribe.
   */
  onMailboxOpened(listener: (mailbox: Mailbox, ahead: boolean) => void): () => void {
    this.openedListeners.add(listener);
    return () => this.openedListeners.delete(listener);
  }

  /**
   * Opens a mailbox once for the whole process. It is handed out once `live` says the list still
   * holds it; otherwise (deleted meanwhile) it is not kept, and left to the garbage collector as
   * one whose sync failed always was.
   */
  private startOpening(
    entry: { id: string; uidvalidity: number },
    live: Promise<boolean>,
    firstReads?: FirstReads,
  ): Promise<Mailbox> {
    const opening = (async () => {
      const mbx = new Mailbox(
        entry.id,
        entry.uidvalidity,
        this.store,
        this.indexKey,
        this.messages,
        (ids, except) => this.heldElsewhere(ids, except),
        this.witness,
        this.snapshots,
        firstReads,
      );
      const [, stillThere] = await Promise.all([mbx.sync(), live]);
      if (!stillThere) throw new NotFound(`mailbox "${entry.id}" was deleted while it was opened`);
      const withdrawn = await mbx.recoverInterrupted();
      if (withdrawn > 0)
        this.log("warn", `${withdrawn} message(s) cut short by a crash were withdrawn from a mailbox`);
      return mbx;
    })();
    this.open.set(entry.id, opening);
    opening.catch(() => {
      if (this.open.get(entry.id) === opening) this.open.delete(entry.id);
    });
    return opening;
  }

  /**
   * Which of `mailIds` a live mailbox other than `except` holds (after an interrupted MOVE, one id
   * can sit in two mailboxes). Syncs each mailbox: expunges and deletions are rare enough to pay it.
   * Each is opened by its id (`listedMailbox`): one renamed meanwhile still holds its mail.
   */
  private async heldElsewhere(mailIds: string[], except: string): Promise<Set<string>> {
    const held = new Set<string>();
    const { mailboxes } = await this.listMailboxes();
    for (const info of mailboxes) {
      if (info.id === except) continue;
      const mbx = await this.listedMailbox(info);
      await mbx.sync();
      for (const id of mailIds) if (holdsMessage(mbx.index, id)) held.add(id);
    }
    return held;
  }

  async createMailbox(name: string, specialUse?: SpecialUse): Promise<void> {
    await this.mailboxList.update((list, stamp) => [createMailbox(list, name, stamp, specialUse), undefined]);
  }

  /** Deletes the mailbox and all of its mail. */
  async deleteMailbox(name: string): Promise<void> {
    const entry = lookup(await this.mailboxList.load(), name);
    if (!entry) throw new NotFound(`mailbox "${name}" does not exist`);
    const mbx = await this.mailbox(name);
    await this.mailboxList.update((list, stamp) => deleteMailbox(list, name, stamp));
    // The mailbox is gone once its tombstone is written. What fails after it leaves mail behind
    // (space, as a crash here would), and must not tell the client the DELETE failed: one told NO
    // that tried again heard "does not exist" (issue 17).
    try {
      await mbx.destroy();
    } catch (err) {
      this.log("warn", `a deleted mailbox's mail was not all deleted: ${(err as Error).message}`);
    } finally {
      mbx.close();
      this.open.delete(entry.id);
    }
  }

  async renameMailbox(from: string, to: string): Promise<void> {
    await this.mailboxList.update((list, stamp) => [renameMailbox(list, from, to, stamp), undefined]);
  }

  async subscribe(name: string, subscribed: boolean): Promise<void> {
    await this.mailboxList.update((list, stamp) => [setSubscribed(list, name, subscribed, stamp), undefined]);
  }

  /** Mailbox names with message counts, for `status`. */
  async summary(): Promise<{ mailboxes: { name: string; messages: number }[] }> {
    const { mailboxes } = await this.listMailboxes();
    const out = [];
    for (const m of mailboxes)
      out.push({ name: m.name, messages: (await this.listedMailbox(m)).index.uids.length });
    return { mailboxes: out };
  }

  /** Closes mailboxes and wipes the keys from memory (as far as the runtime allows). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.segmentsAhead?.drop();
    this.segmentsAhead = undefined;
    await this.indexFiller?.close();
    await this.searchIndex?.close();
    // A mailbox that failed to open gave its error to whoever opened it; there is nothing to close.
    const opened = await Promise.all([...this.open.values()].map((o) => o.catch(() => undefined)));
    // Pushes signal other computers after they are acknowledged (the watch row): give that a few
    // seconds. What is left undone is marked, and redone at the next start (sync/bayou.ts rule 3).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(opened.flatMap((mbx) => (mbx ? [mbx.flushSignals().catch(() => undefined)] : []))),
      new Promise((resolve) => (timer = setTimeout(resolve, SETTLE_AT_CLOSE_MS))),
    ]);
    clearTimeout(timer);
    for (const mbx of opened) {
      // A snapshot that cannot be written only makes the next start replay more rows.
      await mbx?.flushSnapshot().catch(() => undefined);
      mbx?.close();
    }
    // Likewise the list view: what it could not write is read from meta next time.
    await this.messages.listView?.flush().catch(() => undefined);
    this.open.clear();
    this.epochs.wipe();
  }
}

/** Whether `list` still names the mailbox `entry` (under any name: a rename keeps the mailbox). */
function stillLive(list: MailboxList, entry: MailboxEntry & { id: string }): boolean {
  for (const e of list.values()) if (e.id === entry.id && e.uidvalidity === entry.uidvalidity) return true;
  return false;
}

function toInfo(name: string, entry: MailboxEntry): MailboxInfo {
  return {
    name,
    id: entry.id!,
    uidvalidity: entry.uidvalidity,
    subscribed: entry.subscribed,
    ...(entry.specialUse ? { specialUse: entry.specialUse } : {}),
  };
}
