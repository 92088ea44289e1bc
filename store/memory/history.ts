/**
 * {@linkcode HistoryStore} in memory, with the ban and mute tables beside it: what the core's
 * unit tests run on, and a store for a server that should keep nothing. It keeps the SQLite
 * store's contract (store/sqlite/history.ts): an append is all or nothing, a room keeps its
 * newest `retention` messages, reads stop at about `maxBytes` and say what they `missed` (a
 * resume over pruned messages counts at least 1), `bytes` charges the rows read and the
 * messages counted alike, and ids never go back. Failures are
 * {@linkcode StoreError}s naming their cause; {@linkcode MemoryHistory.fail} makes writes (or
 * reads) fail on purpose, as a full disk would.
 *
 * @module
 */

import type {
  Ban,
  BanStore,
  HistorySlice,
  HistoryStore,
  Mute,
  MuteStore,
  RecordTable,
  StoredMessage,
} from "../../core/ports.ts";
import { roomKey } from "../../core/room.ts";
import { StoreError } from "../store_error.ts";
import { MemoryAccounts } from "./accounts.ts";
import { MemoryClaims } from "./claims.ts";

export type { Ban, BanStore, HistorySlice, HistoryStore, Mute, MuteStore, StoredMessage };

/** Options for {@linkcode MemoryHistory}. */
export interface MemoryHistoryOptions {
  /** Messages kept per room; older ones are dropped as new ones arrive. @default Infinity */
  retention?: number;
}

/** What {@linkcode MemoryHistory.fail} breaks: every write, or reads too. */
export type MemoryFault = { cause: string; reads: boolean };

/**
 * Bytes a row costs beyond its text and nick. The same estimate as the SQLite store's, so that a
 * per-address read budget is charged alike whichever store runs.
 */
const ROW_OVERHEAD_BYTES = 64;

/**
 * A `missed` count stops here, and counting one message is charged this much, as in the SQLite
 * store (where counting walks an index): a gap of MAX_COUNTED means "at least this many".
 */
const MAX_COUNTED = 100_000;
const INDEX_ENTRY_BYTES = 16;

function rowBytes(m: StoredMessage): number {
  return ROW_OVERHEAD_BYTES + m.text.length + m.from.length + m.room.length;
}

interface RoomHistory {
  /** Oldest first; ids ascending. */
  messages: StoredMessage[];
  /** Newest id dropped by retention (a resume from before it is told of a gap); 0 if none. */
  prunedThrough: number;
  topic: string;
}

/**
 * History, topics, bans and mutes held in memory.
 *
 * @example
 * ```ts
 * import { BanList } from "../../core/moderation.ts";
 * import { MemoryHistory } from "./history.ts";
 *
 * const store = new MemoryHistory({ retention: 100 });
 * const bans = new BanList(store.moderation, { mutes: store.moderation });
 * store.append([{ id: 1, room: "#lobby", from: "alice", text: "hi", ts: 0 }]);
 * store.recent("#lobby", 50).messages.length; // 1
 * ```
 */
export class MemoryHistory implements HistoryStore {
  readonly #retention: number;
  readonly #rooms = new Map<string, RoomHistory>();
  #nextId = 1;
  /** The newest id appended. */
  #lastAppended = 0;
  /** The `ts` of the message with that id. */
  #newestTs = 0;
  #fault: MemoryFault | null = null;
  #closed = false;
  /** The bans and mutes tables, for the {@linkcode BanList}. */
  readonly moderation: MemoryModeration;
  /** The accounts table; writes fail when the store does. */
  readonly accounts: MemoryAccounts;
  /** The room claims table; writes fail when the store does. */
  readonly claims: MemoryClaims;

  /** An empty store. */
  constructor(options: MemoryHistoryOptions = {}) {
    this.#retention = options.retention ?? Infinity;
    this.moderation = new MemoryModeration(() => this.#check(true));
    this.accounts = new MemoryAccounts(() => this.#check(true));
    this.claims = new MemoryClaims(() => this.#check(true));
  }

  /**
   * Makes every write (and, with `reads`, every read) throw a StoreError saying `cause`, such as
   * "the disk is full"; null mends the store. Bans and mutes fail with it.
   */
  fail(cause: string | null, reads = false): void {
    this.#fault = cause === null ? null : { cause, reads };
  }

  /** Messages stored in `room` now (for tests). */
  size(room: string): number {
    return this.#rooms.get(roomKey(room))?.messages.length ?? 0;
  }

  /** {@inheritDoc HistoryStore.append} */
  append(messages: readonly StoredMessage[]): void {
    this.#check(true);
    // Ids only go up (a resume relies on it); SQLite's primary key would refuse a reused one.
    let last = this.#lastAppended;
    for (const m of messages) {
      if (m.id <= last) throw new StoreError(`message id ${m.id} was not newer than ${last}`);
      last = m.id;
    }
    this.#lastAppended = last;
    if (messages.length > 0) this.#newestTs = messages[messages.length - 1].ts;
    for (const m of messages) {
      const room = this.#room(m.room);
      room.messages.push({ ...m });
      const excess = room.messages.length - this.#retention;
      if (excess > 0) {
        const dropped = room.messages.splice(0, excess);
        room.prunedThrough = Math.max(room.prunedThrough, dropped[dropped.length - 1].id);
      }
      this.#nextId = Math.max(this.#nextId, m.id + 1);
    }
  }

  /** {@inheritDoc HistoryStore.saveNextId} */
  saveNextId(nextId: number): void {
    this.#nextId = Math.max(this.#nextId, nextId);
  }

  /** {@inheritDoc HistoryStore.nextId} */
  nextId(): number {
    this.#check(false);
    return this.#nextId;
  }

  /** {@inheritDoc HistoryStore.newestTs} */
  newestTs(): number {
    this.#check(false);
    return this.#newestTs;
  }

  /** {@inheritDoc HistoryStore.recent} */
  recent(room: string, limit: number, maxBytes = Infinity): HistorySlice {
    this.#check(false);
    const all = this.#rooms.get(roomKey(room))?.messages ?? [];
    const { messages, bytes } = readWithin(all, limit, maxBytes);
    const total = Math.min(all.length, MAX_COUNTED);
    return {
      messages,
      missed: Math.max(0, total - messages.length),
      bytes: bytes + total * INDEX_ENTRY_BYTES,
    };
  }

  /** {@inheritDoc HistoryStore.after} */
  after(room: string, afterId: number, limit: number, maxBytes = Infinity): HistorySlice {
    this.#check(false);
    const history = this.#rooms.get(roomKey(room));
    const newer = (history?.messages ?? []).filter((m) => m.id > afterId);
    const { messages, bytes } = readWithin(newer, limit, maxBytes);
    const total = Math.min(newer.length, MAX_COUNTED);
    // Messages after afterId that were dropped count as missed too (at least 1).
    const pruned = (history?.prunedThrough ?? 0) > afterId ? 1 : 0;
    return {
      messages,
      missed: Math.max(0, total - messages.length) + pruned,
      bytes: bytes + total * INDEX_ENTRY_BYTES,
    };
  }

  /** {@inheritDoc HistoryStore.before} */
  before(room: string, beforeId: number, limit: number, maxBytes = Infinity): HistorySlice {
    this.#check(false);
    const all = this.#rooms.get(roomKey(room))?.messages ?? [];
    // Ids ascend: the older ones are a prefix.
    let end = all.length;
    while (end > 0 && all[end - 1].id >= beforeId) end--;
    const { messages, bytes } = readWithin(all.slice(0, end), limit, maxBytes);
    // Counting stops one past the page, as in the SQLite store: enough to say "more".
    const counted = Math.min(end, messages.length + 1);
    return {
      messages,
      missed: counted - messages.length,
      bytes: bytes + counted * INDEX_ENTRY_BYTES,
    };
  }

  /** {@inheritDoc HistoryStore.afterOldest} */
  afterOldest(room: string, afterId: number, limit: number, maxBytes = Infinity): HistorySlice {
    this.#check(false);
    const all = this.#rooms.get(roomKey(room))?.messages ?? [];
    const start = firstIndex(all, (m) => m.id > afterId);
    const messages: StoredMessage[] = [];
    let bytes = 0;
    for (let i = start; i < all.length && messages.length < limit; i++) {
      bytes += rowBytes(all[i]);
      if (bytes > maxBytes) break;
      messages.push({ ...all[i] });
    }
    // Counting stops one past the page, as in the SQLite store: enough to say "more".
    const counted = Math.min(all.length - start, messages.length + 1);
    return {
      messages,
      missed: counted - messages.length,
      bytes: bytes + counted * INDEX_ENTRY_BYTES,
    };
  }

  /** {@inheritDoc HistoryStore.idAt} */
  idAt(room: string, tsMs: number): number {
    this.#check(false);
    const all = this.#rooms.get(roomKey(room))?.messages ?? [];
    return all[firstIndex(all, (m) => m.ts >= tsMs)]?.id ?? this.#nextId;
  }

  /** {@inheritDoc HistoryStore.topic} */
  topic(room: string): string {
    this.#check(false);
    return this.#rooms.get(roomKey(room))?.topic ?? "";
  }

  /** {@inheritDoc HistoryStore.setTopic} */
  setTopic(room: string, topic: string): void {
    this.#check(true);
    this.#room(room).topic = topic;
  }

  /** {@inheritDoc HistoryStore.close} */
  close(): void {
    this.#closed = true;
  }

  #room(name: string): RoomHistory {
    const key = roomKey(name);
    let room = this.#rooms.get(key);
    if (room === undefined) {
      room = { messages: [], prunedThrough: 0, topic: "" };
      this.#rooms.set(key, room);
    }
    return room;
  }

  /** Throws what a real store would: closed, or failing as {@linkcode fail} asked. */
  #check(write: boolean): void {
    if (this.#closed) throw new StoreError("the database is closed");
    if (this.#fault !== null && (write || this.#fault.reads)) {
      throw new StoreError(this.#fault.cause);
    }
  }
}

/**
 * The newest `limit` of `messages` (oldest first), read newest first until about `maxBytes`:
 * as in the SQLite store, the row that crosses the budget is read (and charged) but left out.
 */
function readWithin(
  messages: readonly StoredMessage[],
  limit: number,
  maxBytes: number,
): { messages: StoredMessage[]; bytes: number } {
  const kept: StoredMessage[] = [];
  let bytes = 0;
  for (let i = messages.length - 1; i >= 0 && kept.length < limit; i--) {
    bytes += rowBytes(messages[i]);
    if (bytes > maxBytes) break;
    kept.push({ ...messages[i] });
  }
  return { messages: kept.reverse(), bytes };
}

/** The first index of `messages` where `from` holds (it holds for all after it): a bisection. */
function firstIndex(
  messages: readonly StoredMessage[],
  from: (m: StoredMessage) => boolean,
): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (from(messages[mid])) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** One table of bans or mutes in memory, keyed by kind and target; records are copied in and out. */
export class MemoryTable<T extends { kind: string; target: string; until: number }>
  implements RecordTable<T> {
  readonly #check: () => void;
  readonly #records = new Map<string, T>();

  /** An empty table whose writes first call `check`, which throws when the store is failing. */
  constructor(check: () => void) {
    this.#check = check;
  }

  /** {@inheritDoc RecordTable.load} */
  load(): T[] {
    return [...this.#records.values()].map((r) => ({ ...r }));
  }

  /** {@inheritDoc RecordTable.save} */
  save(record: T): void {
    this.#check();
    this.#records.set(`${record.kind}:${record.target}`, { ...record });
  }

  /** {@inheritDoc RecordTable.delete} */
  delete(kind: T["kind"], target: string): void {
    this.#check();
    this.#records.delete(`${kind}:${target}`);
  }

  /** Deletes the records that ended by `now` (`until` 0 never ends); the caller checks. */
  purgeExpired(now: number): void {
    for (const [key, record] of this.#records) {
      if (record.until > 0 && record.until <= now) this.#records.delete(key);
    }
  }
}

/** Bans and mutes in memory; writes fail when the {@linkcode MemoryHistory} beside them does. */
export class MemoryModeration implements BanStore, MuteStore {
  readonly #check: () => void;
  /** {@inheritDoc BanStore.bans} */
  readonly bans: MemoryTable<Ban>;
  /** {@inheritDoc MuteStore.mutes} */
  readonly mutes: MemoryTable<Mute>;

  /** Tables whose writes first call `check`, which throws when the store is failing. */
  constructor(check: () => void) {
    this.#check = check;
    this.bans = new MemoryTable(check);
    this.mutes = new MemoryTable(check);
  }

  /** Deletes bans and mutes that ended by `now` (the store's upkeep). */
  purgeExpired(now: number): void {
    this.#check();
    this.bans.purgeExpired(now);
    this.mutes.purgeExpired(now);
  }
}
