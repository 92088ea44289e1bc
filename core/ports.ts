/**
 * The ports of the chat core: every interface the core depends on and something outside it
 * implements. The history, ban and mute stores live in `store/` (memory and SQLite), the
 * secrets and read budget in `security/` and `server.ts`, and the sinks in `transport/`. The
 * core never touches a file or a socket itself.
 *
 * @module
 */

import type { Awaitable } from "./awaitable.ts";
import type { FloodLimits, LeaveReason } from "../protocol/frames.ts";
import type { Deliverable, Outgoing } from "../protocol/outgoing.ts";
import type { KeySource } from "./identity.ts";
import type { CommittedBatch, LiveBatch } from "./cluster.ts";

// The core speaks in the protocol's frames (in from the codecs, out to the sinks): its public
// API names them, so they are re-exported with the ports for the core's documentation.
export type * from "../protocol/frames.ts";
export type { Deliverable, Outgoing, OutgoingBatch } from "../protocol/outgoing.ts";
export type { FrameCodec } from "../protocol/codec.ts";

/** A room message as stored. */
export interface StoredMessage {
  /** The message's id: unique and increasing across restarts (see {@linkcode HistoryStore.nextId}). */
  id: number;
  /** Room name as displayed. */
  room: string;
  /** The author's nick as it was when they spoke. */
  from: string;
  /** The text, already cleaned by the core (security/unicode.ts). */
  text: string;
  /** When the core accepted it, in milliseconds since the epoch. */
  ts: number;
  /** True for a `/me` action. */
  action?: boolean;
  /** True for a notice (IRC `NOTICE`); never set with `action`. */
  notice?: boolean;
}

/** A slice of history for replay. */
export interface HistorySlice {
  /** Messages, oldest first. */
  messages: StoredMessage[];
  /** Messages that matched but are not in `messages` (cut by a limit or already pruned). */
  missed: number;
  /** About how many bytes were read to build it (what a per-address read budget is charged). */
  bytes: number;
}

/**
 * Durable storage for room messages, topics and the id counter. Reads and writes may answer at
 * once (SQLite, memory) or with a promise (an engine across the network): the hub awaits once
 * per batch, never once per message, and keeps its events in order while it waits (see
 * `awaitable.ts`). The id counter is read once, at start. Failures throw (or reject) with errors
 * whose message names the cause in a clause people can read ("the disk is full"), fit to be
 * shown as it is. Reads never write, so they keep working on a full disk.
 */
export interface HistoryStore {
  /**
   * True for a store shared by several nodes (`serve --redis`): it hands out the ids and `ts`
   * itself, and a committed batch reaches the rooms only through the cluster log
   * (`Hub.committed`), never straight from the relay. @default false
   */
  readonly sharedIds?: boolean;
  /**
   * Commits messages in one transaction. Throws on failure. The next id to hand out is implied
   * by the newest message, or by a mark the store keeps when it deletes the newest ones. A
   * {@linkcode HistoryStore.sharedIds} store sets each message's `id` and `ts` in place (ids
   * from the shared counter, `ts` never below the newest handed out) and appends the batch,
   * with `live` (its token and join offsets), to the cluster log in the same atomic step.
   */
  append(messages: readonly StoredMessage[], live?: LiveBatch): Awaitable<void>;
  /**
   * An id for a message that is never stored (a direct message), unique cluster-wide (from
   * blocks the store reserves); not ordered with room ids, since direct messages are never
   * resumed. Absent: the relay hands out ids from {@linkcode HistoryStore.nextId} itself.
   */
  unstoredId?(): number;
  /**
   * Told by the hub, in its event queue, right after it delivered a committed batch to its
   * local users: the node's read watermark. A shared store answers reads with nothing newer
   * than the last batch told here, so a join's replay plus live delivery has no duplicate and
   * no hole (a watermark advanced outside the hub's queue would race with a join). Absent:
   * nothing to do.
   */
  delivered?(batch: CommittedBatch): void;
  /**
   * Notes the next id to hand out (ids used by messages that are not stored). Never fails: a
   * store may keep it in memory and write it later, so a direct message needs no disk.
   */
  saveNextId(nextId: number): void;
  /** The id the server should hand out next: greater than every id ever committed. */
  nextId(): number;
  /**
   * The `ts` of the newest committed message (the one with the greatest id), 0 if there is
   * none: the relay starts its clock there, so `ts` never goes back as ids go up, even across
   * a restart with a clock behind the last run's (`idAt` and IRC `timestamp=` rely on it).
   */
  newestTs(): number;
  /**
   * The last `limit` messages of a room, oldest first. Reads newest first and stops once about
   * `maxBytes` have been read, so a request costs what can be sent, not what was asked for.
   */
  recent(room: string, limit: number, maxBytes?: number): Awaitable<HistorySlice>;
  /**
   * Messages of a room newer than `afterId`, oldest first: the newest `limit` of them, read
   * newest first within about `maxBytes`.
   */
  after(
    room: string,
    afterId: number,
    limit: number,
    maxBytes?: number,
  ): Awaitable<HistorySlice>;
  /**
   * Messages of a room older than `beforeId`, oldest first: the newest `limit` of them, read
   * newest first within about `maxBytes` (scroll-back, `/history N before ID`). `missed` is 1
   * when older messages remain stored, else 0: it is not counted further, so a page costs what
   * it reads, not what the room holds, and pruned messages are not counted, since no page can
   * reach them.
   */
  before(
    room: string,
    beforeId: number,
    limit: number,
    maxBytes?: number,
  ): Awaitable<HistorySlice>;
  /**
   * Messages of a room newer than `afterId`, oldest first: the **oldest** `limit` of them, read
   * oldest first within about `maxBytes` (paging forward, IRC `CHATHISTORY AFTER`; compare
   * {@linkcode HistoryStore.after}, which gives the newest). `missed` is 1 when newer messages
   * remain stored past the page, else 0, as {@linkcode HistoryStore.before} counts: the next
   * page starts after the last id returned. Messages pruned between `afterId` and the first one
   * stored are not counted, since no page can reach them.
   */
  afterOldest(
    room: string,
    afterId: number,
    limit: number,
    maxBytes?: number,
  ): Awaitable<HistorySlice>;
  /**
   * The smallest id of a message stored in `room` whose `ts` is `tsMs` or later; when there is
   * none, an id past every stored one (the store's next id). Found by bisection, which is exact
   * because the relay never lets `ts` go back as ids go up (IRC `timestamp=` references).
   */
  idAt(room: string, tsMs: number): Awaitable<number>;
  /** A room's saved topic, or "" when none. */
  topic(room: string): Awaitable<string>;
  /** Saves a room's topic. */
  setTopic(room: string, topic: string): Awaitable<void>;
  /** Releases the store; an engine that writes elsewhere resolves once its writes are done. */
  close(): Awaitable<void>;
}

/** A per-address allowance of bytes read from the history store. */
export interface ReadBudget {
  /** Bytes `address` may read now (0 or less: none). */
  available(address: string): number;
  /** Charges `address` for `bytes` read. */
  charge(address: string, bytes: number): void;
}

/** Something that can check a secret without revealing it. */
export interface Verifier {
  /** True if `candidate` is the secret (false when it is missing). */
  matches(candidate: string | undefined): boolean;
}

/** Where the core sends a connection's frames. Implemented by each transport's peer. */
export interface PeerSink {
  /**
   * Queues a frame for the peer. Never blocks and never throws; a peer that cannot keep up is
   * the sink's business (it closes itself as `too_slow`).
   */
  deliver(out: Deliverable): void;
  /** Ends the connection once what is queued has been flushed (or a grace period passed). */
  close(reason: LeaveReason): void;
  /** Bytes waiting to be sent, when the transport knows (history replay leaves room for them). */
  readonly queuedBytes?: number;
  /** The flood control this peer's frames pass, for the welcome to advertise; absent: none. */
  readonly flood?: FloodLimits;
  /**
   * False when the reader asks for history itself (IRC `draft/chathistory`): a join or a login
   * then replays nothing, so the store is not read and the address's history allowance is not
   * charged for lines nobody would see. @default true
   */
  readonly replaysOnJoin?: boolean;
  /**
   * What a replayed history frame costs on this peer's wire, when its reader renders frames its
   * own way (IRC: a line per line of text, each with the sender's mask and tags), so that a
   * replay's budget is counted in the bytes its queue will hold; undefined: the replay counts
   * `frameBytes`.
   */
  replayBytes?(out: Outgoing): number | undefined;
  /**
   * Asks the client to show it is still there (a ping it answers), when the transport can: false
   * when it cannot (netcat users are never pinged). Used before a takeover of a nick this
   * session holds, to tell a live client from a dead connection not yet noticed.
   */
  probe?(): boolean;
  /** Milliseconds since the client last sent anything, when the transport knows. */
  quietMs?(): number;
}

/** One ban. `until` 0 means forever. */
export interface Ban {
  /** `nick` bans match the nick case-insensitively; `address` bans match an address block. */
  kind: "nick" | "address";
  /**
   * The nick as written (folded wherever it is compared; older rows hold it folded already), or
   * the address block as written (`203.0.113.0/24`, `2001:db8::/64`).
   */
  target: string;
  /** Milliseconds since the epoch when the ban ends; 0 for never. */
  until: number;
  /** Why, as the operator gave it (shown to whoever is refused). */
  reason: string;
  /** The operator's nick. */
  by: string;
}

/**
 * Durable storage for one kind of moderation record (bans, or mutes), each keyed by its kind and
 * target. Any method may throw a StoreError.
 */
export interface RecordTable<T extends { kind: string; target: string }> {
  /** Every record saved, expired ones included. */
  load(): T[];
  /** Saves a record, replacing the one with the same kind and target. */
  save(record: T): void;
  /** Removes the record with this kind and target, if there is one. */
  delete(kind: T["kind"], target: string): void;
}

/** What the ban list needs of a store: its table of bans. */
export interface BanStore {
  /** Every ban, kept across restarts. */
  readonly bans: RecordTable<Ban>;
}

/** One mute, by nick or by address. `until` 0 means until lifted. */
export interface Mute {
  /** By nick (case- and lookalike-insensitively) or by client address. */
  kind: "nick" | "address";
  /** The folded nick, or the address key (see `addressKey`: an IPv6 address counts as its /64). */
  target: string;
  /** Milliseconds since the epoch when the mute ends; 0 for when an operator lifts it. */
  until: number;
  /** The operator's nick. */
  by: string;
}

/** What the mute list needs of a store: its table of mutes. */
export interface MuteStore {
  /** Every mute, kept across restarts. */
  readonly mutes: RecordTable<Mute>;
}

/**
 * One registered nick as stored: a key account (the key's fingerprint) or a password account
 * (an scrypt hash with its salt and parameters). Never a password, never a private key: whoever
 * reads the database cannot log in with what is in it.
 */
export type AccountRecord =
  & {
    /** The folded nick (see `nickKey`): the one key an account is found by. */
    key: string;
    /** The nick as it was registered (display form). */
    nick: string;
    /** When it was registered, in milliseconds since the epoch. */
    created: number;
  }
  & (
    | {
      kind: "key";
      /** OpenSSH SHA256 fingerprint of the public key. */
      fingerprint: string;
      /** Where the key was proven when the nick was registered. */
      source: KeySource;
    }
    | {
      kind: "password";
      /** The encoded scrypt hash (see `security/password_hash.ts`). */
      hash: string;
    }
  );

/**
 * Durable storage for accounts, written through on every change and read once at start. Any
 * method may throw a StoreError.
 */
export interface AccountTable {
  /** Every account saved. */
  load(): AccountRecord[];
  /** Saves an account, replacing the one with the same key. */
  save(record: AccountRecord): void;
  /** Removes the account with this folded nick, if there is one. */
  delete(key: string): void;
}

/** What the accounts need of a store: its table of accounts. */
export interface AccountStore {
  /** Every account, kept across restarts. */
  readonly accounts: AccountTable;
}

/**
 * Hashes and checks account passwords (scrypt, off the event loop). A call made while too many
 * hashes are in progress returns null at once, so the caller can say "try again" rather than
 * queue unbounded work.
 */
export interface PasswordHasher {
  /** The encoded hash of `password` with a fresh salt, or null when busy. */
  hash(password: string): Promise<string> | null;
  /** True if `password` matches `encoded`, or null when busy. */
  verify(password: string, encoded: string): Promise<boolean> | null;
}
