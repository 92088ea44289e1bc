/**
 * {@linkcode HistoryStore} on embedded SQLite (`node:sqlite`). WAL mode; every append is one
 * transaction, committed before the hub acknowledges or relays anything in it. The database is
 * bounded (see store/sqlite/bounds.ts): retention per room and a byte cap in that transaction,
 * the age limit on a timer. Reads never write, and every failure is a {@linkcode StoreError}
 * that names its cause ("the disk is full"); upkeep failures are reported, never thrown.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { HistorySlice, HistoryStore, StoredMessage } from "../../core/ports.ts";
import { roomKey } from "../../core/room.ts";
import {
  STORE_UPKEEP_BACKLOG_DELAY_MS,
  STORE_UPKEEP_BATCHES,
  STORE_UPKEEP_INTERVAL_MS,
} from "../../config/limits.ts";
import {
  guarded,
  inTransaction,
  openDatabase,
  SLOW_FAULT_MS,
  type StoreFault,
  type SyncMode,
} from "./db.ts";
import { StoreBounds } from "./bounds.ts";
import { SqliteModeration } from "./moderation.ts";
import { SqliteAccounts } from "./accounts.ts";
import { SqliteClaims } from "./claims.ts";
import { kindCode, setKind } from "./batch_codec.ts";
import { type StoreError, storeError } from "../store_error.ts";

export type { StoreFault, SyncMode };

/** Options for {@linkcode SqliteHistory}. */
export interface SqliteHistoryOptions {
  /** Database file, or `:memory:` to keep nothing. */
  path: string;
  /** Messages kept per room; older ones are pruned as new ones arrive. */
  retention: number;
  /**
   * `normal`: a commit reaches the OS before the ack (survives a process crash; the last
   * commits may be lost on power loss). `full`: fsync on every commit (survives power loss).
   * @default "normal"
   */
  sync?: SyncMode;
  /**
   * Bytes the database file may use; past it the oldest messages of any room are deleted. The
   * file may pass it by one commit's worth (plus SQLite's write-ahead log). 0: no cap.
   * @default 0
   */
  maxBytes?: number;
  /**
   * Messages older than this (ms) are deleted, and rooms with no messages and no members for
   * longer are forgotten, by the upkeep timer. 0: kept until the other bounds remove them.
   * @default 0
   */
  maxAgeMs?: number;
  /** Whether a room (by key) has members now; such rooms are never forgotten. @default none do */
  roomInUse?: (key: string) => boolean;
  /** How often upkeep runs; 0: only when {@linkcode SqliteHistory.upkeep} is called. @default 600000 */
  upkeepIntervalMs?: number;
  /** Told of every upkeep failure (upkeep retries at its next run). @default nothing */
  onUpkeepError?: (error: StoreError) => void;
  /** Clock, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Test hook: simulate a full disk, a read-only database or a stalled disk. @default none */
  fault?: StoreFault;
}

interface Row {
  id: number;
  room: string;
  nick: string;
  text: string;
  ts: number;
  /** The message's kind, in the column named for the first one there was (see kindCode). */
  action: number;
}

/** SQLite-backed history, with the ban and mute tables beside it. */
export class SqliteHistory implements HistoryStore {
  readonly #db: DatabaseSync;
  readonly #bounds: StoreBounds;
  /** The bans and mutes tables, for the {@linkcode BanList}. */
  readonly moderation: SqliteModeration;
  /** The accounts table (registered nicks), for the core's accounts. */
  readonly accounts: SqliteAccounts;
  /** The room claims table (`/register #room`), for the core's claimed rooms. */
  readonly claims: SqliteClaims;
  readonly #now: () => number;
  readonly #onUpkeepError: (error: StoreError) => void;
  readonly #upkeepIntervalMs: number;
  readonly #insert: StatementSync;
  readonly #setNextId: StatementSync;
  readonly #recent: StatementSync;
  readonly #after: StatementSync;
  readonly #countAfter: StatementSync;
  readonly #before: StatementSync;
  readonly #countBefore: StatementSync;
  readonly #afterOldest: StatementSync;
  readonly #firstFrom: StatementSync;
  readonly #idRange: StatementSync;
  readonly #prunedThrough: StatementSync;
  readonly #forgottenThrough: StatementSync;
  readonly #getTopic: StatementSync;
  readonly #putTopic: StatementSync;
  /** An id counter handed to saveNextId and not yet written (written on the next commit). */
  #unsavedNextId = 0;
  #upkeepTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #fault: StoreFault | undefined;

  /**
   * Opens (or creates) the database and starts the upkeep timer. Throws a StoreError naming
   * the cause if the file cannot be opened or its schema brought up to date.
   */
  constructor(options: SqliteHistoryOptions) {
    this.#now = options.now ?? Date.now;
    this.#db = openDatabase(options.path, options.sync ?? "normal", this.#now(), options.fault);
    this.#fault = options.fault;
    this.#onUpkeepError = options.onUpkeepError ?? (() => {});
    this.#upkeepIntervalMs = options.upkeepIntervalMs ?? STORE_UPKEEP_INTERVAL_MS;
    this.#bounds = new StoreBounds(this.#db, {
      retention: options.retention,
      maxBytes: options.maxBytes ?? 0,
      maxAgeMs: options.maxAgeMs ?? 0,
      roomInUse: options.roomInUse ?? (() => false),
    });
    this.moderation = new SqliteModeration(this.#db);
    this.accounts = new SqliteAccounts(this.#db);
    this.claims = new SqliteClaims(this.#db);
    this.#insert = this.#db.prepare(
      "INSERT INTO messages (id, room_key, room, nick, text, ts, action) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#setNextId = this.#db.prepare(
      "INSERT INTO meta (key, value) VALUES ('next_id', ?) " +
        "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    );
    this.#recent = this.#db.prepare(
      "SELECT id, room, nick, text, ts, action FROM messages WHERE room_key = ? " +
        "ORDER BY id DESC LIMIT ?",
    );
    this.#after = this.#db.prepare(
      "SELECT id, room, nick, text, ts, action FROM messages WHERE room_key = ? AND id > ? " +
        "ORDER BY id DESC LIMIT ?",
    );
    // Counting is bounded too: a read's cost must not grow with the room (see MAX_COUNTED).
    this.#countAfter = this.#db.prepare(
      "SELECT count(*) AS n FROM (SELECT 1 FROM messages WHERE room_key = ? AND id > ? LIMIT ?)",
    );
    this.#before = this.#db.prepare(
      "SELECT id, room, nick, text, ts, action FROM messages WHERE room_key = ? AND id < ? " +
        "ORDER BY id DESC LIMIT ?",
    );
    this.#countBefore = this.#db.prepare(
      "SELECT count(*) AS n FROM (SELECT 1 FROM messages WHERE room_key = ? AND id < ? LIMIT ?)",
    );
    this.#afterOldest = this.#db.prepare(
      "SELECT id, room, nick, text, ts, action FROM messages WHERE room_key = ? AND id > ? " +
        "ORDER BY id ASC LIMIT ?",
    );
    this.#firstFrom = this.#db.prepare(
      "SELECT id, ts FROM messages WHERE room_key = ? AND id >= ? ORDER BY id ASC LIMIT 1",
    );
    this.#idRange = this.#db.prepare(
      "SELECT min(id) AS low, max(id) AS high FROM messages WHERE room_key = ?",
    );
    this.#prunedThrough = this.#db.prepare(
      "SELECT pruned_through AS p FROM rooms WHERE room_key = ?",
    );
    this.#forgottenThrough = this.#db.prepare(
      "SELECT value AS p FROM meta WHERE key = 'forgotten_through'",
    );
    this.#getTopic = this.#db.prepare("SELECT topic FROM rooms WHERE room_key = ?");
    this.#putTopic = this.#db.prepare(
      "INSERT INTO rooms (room_key, topic, touched) VALUES (?1, ?2, ?3) " +
        "ON CONFLICT (room_key) DO UPDATE SET topic = ?2, touched = ?3",
    );
    this.#scheduleUpkeep(this.#upkeepIntervalMs);
  }

  /** {@inheritDoc HistoryStore.append} */
  append(messages: readonly StoredMessage[]): void {
    if (messages.length === 0) return;
    const now = this.#now();
    const unsaved = this.#unsavedNextId;
    inTransaction(this.#db, () => {
      // A batch is usually one room's: its key is computed once, and the per-room counts need
      // a map only when the room changes within the batch.
      let room = messages[0].room;
      let key = roomKey(room);
      let count = 0;
      let counts: Map<string, number> | undefined;
      let bytes = 0;
      for (const m of messages) {
        if (m.room !== room) {
          counts ??= new Map();
          counts.set(key, (counts.get(key) ?? 0) + count);
          room = m.room;
          key = roomKey(room);
          count = 0;
        }
        this.#insert.run(m.id, key, room, m.from, m.text, m.ts, kindCode(m));
        count++;
        bytes += rowBytes(m.text, m.from, room);
      }
      if (counts === undefined) this.#bounds.added(key, count, now);
      else {
        counts.set(key, (counts.get(key) ?? 0) + count);
        for (const [k, n] of counts) this.#bounds.added(k, n, now);
      }
      this.#bounds.enforceCap(messages[0].id, now, bytes);
      if (unsaved !== 0) this.#setNextId.run(unsaved);
    });
    if (this.#unsavedNextId === unsaved) this.#unsavedNextId = 0;
    if (this.#fault === "slow") {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SLOW_FAULT_MS);
    }
  }

  /** Drops all but the newest `retention` messages of a room right away. */
  prune(room: string): void {
    inTransaction(this.#db, () => this.#bounds.pruneRoom(roomKey(room), this.#now()));
  }

  /**
   * {@inheritDoc HistoryStore.saveNextId}
   *
   * Never writes (and so never fails): the counter is written with the next commit, by upkeep,
   * or on close. Ids of stored messages never depend on it (see {@linkcode nextId}).
   */
  saveNextId(nextId: number): void {
    this.#unsavedNextId = Math.max(this.#unsavedNextId, nextId);
  }

  /** {@inheritDoc HistoryStore.nextId} */
  nextId(): number {
    return guarded(() => {
      const meta = this.#db.prepare("SELECT value FROM meta WHERE key = 'next_id'").get() as
        | { value: number }
        | undefined;
      const max = this.#db.prepare("SELECT max(id) AS m FROM messages").get() as {
        m: number | null;
      };
      return Math.max(meta?.value ?? 1, (max.m ?? 0) + 1, this.#unsavedNextId);
    });
  }

  /** {@inheritDoc HistoryStore.newestTs} */
  newestTs(): number {
    return guarded(() => {
      const row = this.#db.prepare("SELECT ts FROM messages ORDER BY id DESC LIMIT 1").get() as
        | { ts: number }
        | undefined;
      return row?.ts ?? 0;
    });
  }

  /** Rooms whose new messages are being counted towards a prune (bounded; for tests). */
  get roomsCounted(): number {
    return this.#bounds.roomsCounted;
  }

  /** {@inheritDoc HistoryStore.recent} */
  recent(room: string, limit: number, maxBytes = Infinity): HistorySlice {
    return guarded(() => {
      const key = roomKey(room);
      const { rows, bytes } = readWithin(this.#recent.iterate(key, limit), maxBytes);
      const total = (this.#countAfter.get(key, 0, MAX_COUNTED) as { n: number }).n;
      return {
        messages: rows.reverse().map(toMessage),
        missed: Math.max(0, total - rows.length),
        bytes: bytes + total * INDEX_ENTRY_BYTES,
      };
    });
  }

  /** {@inheritDoc HistoryStore.after} */
  after(room: string, afterId: number, limit: number, maxBytes = Infinity): HistorySlice {
    return guarded(() => {
      const key = roomKey(room);
      const { rows, bytes } = readWithin(this.#after.iterate(key, afterId, limit), maxBytes);
      const total = (this.#countAfter.get(key, afterId, MAX_COUNTED) as { n: number }).n;
      const mark = this.#prunedThrough.get(key) as { p: number } | undefined;
      // A room forgotten by age has lost its own mark: the newest id any forgotten room lost
      // stands in for it (a room that never lost a message has nothing that old to resume).
      const pruned = mark?.p ??
        (afterId > 0 ? (this.#forgottenThrough.get() as { p: number } | undefined)?.p ?? 0 : 0);
      // Messages after afterId that were deleted count as missed too (at least 1).
      const prunedMissed = pruned > afterId ? 1 : 0;
      return {
        messages: rows.reverse().map(toMessage),
        missed: Math.max(0, total - rows.length) + prunedMissed,
        bytes: bytes + total * INDEX_ENTRY_BYTES,
      };
    });
  }

  /** {@inheritDoc HistoryStore.before} */
  before(room: string, beforeId: number, limit: number, maxBytes = Infinity): HistorySlice {
    return guarded(() => {
      const key = roomKey(room);
      const { rows, bytes } = readWithin(this.#before.iterate(key, beforeId, limit), maxBytes);
      // One past the page is enough to say whether older messages remain.
      const total = (this.#countBefore.get(key, beforeId, rows.length + 1) as { n: number }).n;
      return {
        messages: rows.reverse().map(toMessage),
        missed: total - rows.length,
        bytes: bytes + total * INDEX_ENTRY_BYTES,
      };
    });
  }

  /** {@inheritDoc HistoryStore.afterOldest} */
  afterOldest(room: string, afterId: number, limit: number, maxBytes = Infinity): HistorySlice {
    return guarded(() => {
      const key = roomKey(room);
      const { rows, bytes } = readWithin(this.#afterOldest.iterate(key, afterId, limit), maxBytes);
      // One past the page is enough to say whether newer messages remain.
      const total = (this.#countAfter.get(key, afterId, rows.length + 1) as { n: number }).n;
      return {
        messages: rows.map(toMessage),
        missed: total - rows.length,
        bytes: bytes + total * INDEX_ENTRY_BYTES,
      };
    });
  }

  /**
   * {@inheritDoc HistoryStore.idAt}
   *
   * Bisects the id range through the room's index (no index on `ts` to keep up on every
   * append): about 50 index probes at most, whatever the room holds.
   */
  idAt(room: string, tsMs: number): number {
    return guarded(() => {
      const key = roomKey(room);
      const range = this.#idRange.get(key) as { low: number | null; high: number | null };
      if (range.low === null || range.high === null) return this.nextId();
      const first = (from: number) =>
        this.#firstFrom.get(key, from) as { id: number; ts: number } | undefined;
      // The smallest x whose first stored message at or after it is at tsMs or later (or is
      // none): that message is the answer.
      let low = range.low;
      let high = range.high + 1;
      while (low < high) {
        const mid = Math.floor((low + high) / 2);
        const row = first(mid);
        if (row === undefined || row.ts >= tsMs) high = mid;
        else low = row.id + 1;
      }
      return first(low)?.id ?? this.nextId();
    });
  }

  /** {@inheritDoc HistoryStore.topic} */
  topic(room: string): string {
    return guarded(() =>
      (this.#getTopic.get(roomKey(room)) as { topic: string } | undefined)?.topic ?? ""
    );
  }

  /** {@inheritDoc HistoryStore.setTopic} */
  setTopic(room: string, topic: string): void {
    guarded(() => this.#putTopic.run(roomKey(room), topic, this.#now()));
  }

  /** Bytes of the database file in use (its free pages, which new rows reuse, not counted). */
  usedBytes(): number {
    return guarded(() => this.#bounds.usedBytes());
  }

  /**
   * The side path: writes a pending id counter, purges expired bans and mutes, deletes messages
   * past the age limit and forgets rooms empty for longer (each in bounded batches). Never
   * throws: each failure goes to `onUpkeepError` and is retried at the next run. True if a
   * backlog remains (the timer then comes back soon).
   */
  upkeep(): boolean {
    if (this.#closed) return false;
    const now = this.#now();
    let more = false;
    const step = (work: () => void) => {
      try {
        work();
      } catch (error) {
        this.#onUpkeepError(storeError(error));
      }
    };
    step(() => this.#writeNextId());
    step(() => this.moderation.purgeExpired(now));
    // A cap lowered since the last run is worked down here too, in bounded steps.
    step(() =>
      more = inTransaction(
        this.#db,
        () => this.#bounds.enforceCap(Number.MAX_SAFE_INTEGER, now, Infinity),
      ) || more
    );
    step(() => (more = this.#bounds.sweepAge(now, STORE_UPKEEP_BATCHES) || more));
    step(() => (more = this.#bounds.sweepRooms(now, STORE_UPKEEP_BATCHES) || more));
    return more;
  }

  /** {@inheritDoc HistoryStore.close} */
  close(): void {
    if (this.#closed) return;
    clearTimeout(this.#upkeepTimer);
    try {
      this.#writeNextId();
    } catch {
      // Best effort: a DM id may be handed out again after the restart, nothing worse.
    }
    this.#closed = true;
    try {
      this.#db.close();
    } catch {
      // already closed
    }
  }

  #writeNextId(): void {
    const unsaved = this.#unsavedNextId;
    if (unsaved === 0) return;
    guarded(() => this.#setNextId.run(unsaved));
    if (this.#unsavedNextId === unsaved) this.#unsavedNextId = 0;
  }

  #scheduleUpkeep(delay: number): void {
    if (this.#upkeepIntervalMs === 0 || this.#closed) return;
    this.#upkeepTimer = setTimeout(() => {
      const more = this.upkeep();
      this.#scheduleUpkeep(more ? STORE_UPKEEP_BACKLOG_DELAY_MS : this.#upkeepIntervalMs);
    }, delay);
    // Upkeep alone must not keep a process alive.
    Deno.unrefTimer(this.#upkeepTimer);
  }
}

/** Bytes a stored row costs beyond its text and nick: ids, times, room, framing. */
const ROW_OVERHEAD_BYTES = 64;

/**
 * A gap's `missed` count stops here: counting walks the room's index, and that walk must stay
 * small whatever `--retention` allows. A gap of this many means "at least this many".
 */
export const MAX_COUNTED = 100_000;

/** What counting one message costs, charged to the reader like bytes read. */
const INDEX_ENTRY_BYTES = 16;

/** About what a row costs, to read or to store (UTF-16 units: cheap, and close for most text). */
function rowBytes(text: string, nick: string, room: string): number {
  return ROW_OVERHEAD_BYTES + text.length + nick.length + room.length;
}

/**
 * Takes rows (newest first) until about `maxBytes` have been read: the row that crosses the
 * budget is the last one read, and is left out. The statement stops there, so nothing past the
 * budget is read from disk.
 */
function readWithin(rows: Iterable<unknown>, maxBytes: number): { rows: Row[]; bytes: number } {
  const kept: Row[] = [];
  let bytes = 0;
  for (const item of rows) {
    const row = item as Row;
    bytes += rowBytes(row.text, row.nick, row.room);
    if (bytes > maxBytes) break;
    kept.push(row);
  }
  return { rows: kept, bytes };
}

function toMessage(row: Row): StoredMessage {
  return setKind(
    { id: row.id, room: row.room, from: row.nick, text: row.text, ts: row.ts },
    row.action,
  );
}
