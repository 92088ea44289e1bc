/**
 * What keeps the history database bounded: retention per room, a server-wide cap on the pages
 * the database uses (past it the oldest messages of any room go first), an age limit on
 * messages, and forgetting rooms that have been empty for longer than that limit.
 *
 * The cap is on the pages the file uses, read with two O(1) pragmas (its page count, and its
 * free pages once it has reached the cap): no running total to keep right across crashes, and
 * it bounds the file itself, indexes and topics included. A pragma call costs about as much as
 * a small insert, so the cap is looked at once per 64 KiB (or 1/64 of the cap) appended, which
 * is also about how far past the cap the file may go. Every deletion notes, per room, the newest id it
 * removed, so that a resume over the hole is told of a gap.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { STORE_PRUNE_BATCH, STORE_UPKEEP_BATCHES } from "../../config/limits.ts";
import { inTransaction } from "./db.ts";

/** Settings for {@linkcode StoreBounds}. */
export interface BoundsOptions {
  /** Messages kept per room. */
  retention: number;
  /** Bytes the database file may use; 0 for no cap. */
  maxBytes: number;
  /** Messages older than this are deleted, rooms empty for longer are forgotten; 0: never. */
  maxAgeMs: number;
  /** Whether a room (by key) has members now: such rooms are never forgotten. */
  roomInUse: (key: string) => boolean;
}

/**
 * A room is pruned once this many messages (or 1/16 of the retention, if more) have been added
 * since its last prune: a prune walks `retention` index entries, so this keeps its cost per
 * message small while letting a room exceed its cap by at most that much.
 */
const MIN_PRUNE_EVERY = 64;

/**
 * Rooms whose new messages are counted towards their next prune, at most. Past it the room
 * written longest ago is pruned at once and forgotten by the counter: the counter's memory stays
 * bounded however many rooms are written to.
 */
export const MAX_ROOMS_COUNTED = 10_000;

interface Deleted {
  id: number;
  room_key: string;
}

/** The bounds on one database. Methods marked "in a transaction" expect the caller's. */
export class StoreBounds {
  readonly #db: DatabaseSync;
  readonly #options: BoundsOptions;
  readonly #pageSize: number;
  readonly #capPages: number;
  /** Below the cap by this much after a prune, so that prunes come in batches. */
  readonly #slackPages: number;
  /** Bytes appended between looks at the cap: how far one look may let the file overshoot. */
  readonly #checkEvery: number;
  #unchecked = 0;
  readonly #pruneEvery: number;
  readonly #sincePrune = new Map<string, number>();
  readonly #pageCount: StatementSync;
  readonly #freePages: StatementSync;
  readonly #pruneCutOff: StatementSync;
  readonly #pruneRoom: StatementSync;
  readonly #pruneOldest: StatementSync;
  readonly #oldest: StatementSync;
  readonly #deleteThrough: StatementSync;
  readonly #notePruned: StatementSync;
  readonly #raiseNextId: StatementSync;
  readonly #staleRooms: StatementSync;
  readonly #hasMessages: StatementSync;
  readonly #forgetRoom: StatementSync;
  readonly #noteForgotten: StatementSync;

  /** Bounds for `db`, whose schema is current (see db.ts). */
  constructor(db: DatabaseSync, options: BoundsOptions) {
    this.#db = db;
    this.#options = options;
    this.#pageSize = (db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
    this.#capPages = Math.floor(options.maxBytes / this.#pageSize);
    this.#slackPages = Math.min(1024, Math.max(4, this.#capPages >> 8));
    this.#checkEvery = Math.min(64 * 1024, Math.max(this.#pageSize, options.maxBytes >> 6));
    this.#pruneEvery = Math.max(MIN_PRUNE_EVERY, Math.ceil(options.retention / 16));
    // The file's size, for the byte cap.
    this.#pageCount = db.prepare("PRAGMA page_count");
    this.#freePages = db.prepare("PRAGMA freelist_count");
    // Pruning by retention and by the cap; every deletion notes, per room, where it stopped.
    // A room's prune reads one id (the newest it drops, found in the room's index) and deletes
    // through it: nothing deleted is read back, and that id is the room's new mark.
    this.#pruneCutOff = db.prepare(
      "SELECT id FROM messages WHERE room_key = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
    );
    this.#pruneRoom = db.prepare("DELETE FROM messages WHERE room_key = ? AND id <= ?");
    this.#pruneOldest = db.prepare(
      "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE id < ? ORDER BY id " +
        "LIMIT ?) RETURNING id, room_key",
    );
    this.#notePruned = db.prepare(
      "INSERT INTO rooms (room_key, pruned_through, touched) VALUES (?1, ?2, ?3) " +
        "ON CONFLICT (room_key) DO UPDATE SET pruned_through = max(pruned_through, ?2), " +
        "touched = ?3",
    );
    // The age sweep: ids must not go back even when it deletes the newest message.
    this.#oldest = db.prepare("SELECT id, ts FROM messages ORDER BY id LIMIT ?");
    this.#raiseNextId = db.prepare(
      "INSERT INTO meta (key, value) SELECT 'next_id', coalesce(max(id), 0) + 1 FROM messages " +
        "WHERE true ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    );
    this.#deleteThrough = db.prepare("DELETE FROM messages WHERE id <= ? RETURNING id, room_key");
    // Forgetting rooms left empty and untouched.
    this.#staleRooms = db.prepare(
      "SELECT room_key, pruned_through, touched FROM rooms WHERE touched < ?1 AND " +
        "(touched, room_key) > (?2, ?3) ORDER BY touched, room_key LIMIT ?4",
    );
    this.#hasMessages = db.prepare("SELECT 1 AS x FROM messages WHERE room_key = ? LIMIT 1");
    this.#forgetRoom = db.prepare("DELETE FROM rooms WHERE room_key = ?");
    this.#noteForgotten = db.prepare(
      "INSERT INTO meta (key, value) VALUES ('forgotten_through', ?1) " +
        "ON CONFLICT (key) DO UPDATE SET value = max(value, ?1)",
    );
  }

  /** Bytes of the database file in use (free pages, which new rows reuse, not counted). */
  usedBytes(): number {
    return this.#usedPages(true) * this.#pageSize;
  }

  /**
   * In a transaction: notes `count` new messages in room `key`, and prunes the room to its
   * retention when due.
   */
  added(key: string, count: number, now: number): void {
    const since = (this.#sincePrune.get(key) ?? 0) + count;
    // Re-inserted, so the map's first key is the room written longest ago.
    this.#sincePrune.delete(key);
    if (since >= this.#pruneEvery) {
      this.pruneRoom(key, now);
      return;
    }
    this.#sincePrune.set(key, since);
    if (this.#sincePrune.size > MAX_ROOMS_COUNTED) {
      // One entry per room ever written would grow for ever: prune the stalest room now (it
      // is within its retention plus a little) and stop counting for it.
      const stalest = this.#sincePrune.keys().next().value as string;
      this.pruneRoom(stalest, now);
    }
  }

  /** Rooms whose messages since their last prune are being counted (bounded). */
  get roomsCounted(): number {
    return this.#sincePrune.size;
  }

  /** In a transaction: drops all but the newest `retention` messages of room `key` now. */
  pruneRoom(key: string, now: number): void {
    this.#sincePrune.delete(key);
    const cutOff = this.#pruneCutOff.get(key, this.#options.retention) as
      | { id: number }
      | undefined;
    if (cutOff === undefined) return;
    // The cut-off row is among those deleted, so it is the newest id the room lost.
    if (Number(this.#pruneRoom.run(key, cutOff.id).changes) > 0) {
      this.#notePruned.run(key, cutOff.id, now);
    }
  }

  /**
   * In a transaction, after an append of about `bytes`: once that many bytes have been added
   * since the last look, checks the cap (two pragmas, so not on every commit); past it, deletes
   * the oldest messages of any room (none with an id from `keepFrom` on: the batch being
   * committed) until the file is a little under again, at most `maxBatches` batches. Rooms empty
   * and unused go too if messages are not enough. True if still over (the next call looks
   * again at once).
   */
  enforceCap(
    keepFrom: number,
    now: number,
    bytes: number,
    maxBatches = STORE_UPKEEP_BATCHES,
  ): boolean {
    if (this.#capPages === 0) return false;
    this.#unchecked += bytes;
    if (this.#unchecked < this.#checkEvery) return false;
    this.#unchecked = 0;
    let used = this.#usedPages(false);
    if (used <= this.#capPages) return false;
    // Small steps first, growing while still over: a small cap is not emptied by one big batch.
    for (
      let i = 0, batch = 8;
      i < maxBatches;
      i++, batch = Math.min(2 * batch, STORE_PRUNE_BATCH)
    ) {
      if (used <= this.#capPages - this.#slackPages) return false;
      const rows = this.#pruneOldest.all(keepFrom, batch) as unknown as Deleted[];
      if (rows.length > 0) this.#noteDeleted(rows, now);
      else if (this.#forgetRooms(Number.MAX_SAFE_INTEGER).forgotten === 0) return false;
      used = this.#usedPages(true);
    }
    if (used <= this.#capPages) return false;
    this.#unchecked = this.#checkEvery;
    return true;
  }

  /**
   * Deletes messages older than the age limit, oldest first, one transaction per batch, at
   * most `batches` of them. True if there may be more to do.
   */
  sweepAge(now: number, batches: number): boolean {
    if (this.#options.maxAgeMs === 0) return false;
    const cutoff = now - this.#options.maxAgeMs;
    for (let i = 0; i < batches; i++) {
      const done = inTransaction(this.#db, () => {
        // Ids grow with time, so the old messages are the first ones in id order: read a batch
        // from the start and stop at the first young one (no scan of the whole table).
        const rows = this.#oldest.all(STORE_PRUNE_BATCH) as { id: number; ts: number }[];
        let last = 0;
        for (const row of rows) {
          if (row.ts >= cutoff) break;
          last = row.id;
        }
        if (last === 0) return true;
        // Age may take every message: keep the id counter above the ones it removes.
        this.#raiseNextId.run();
        this.#noteDeleted(this.#deleteThrough.all(last) as unknown as Deleted[], now);
        return rows.length < STORE_PRUNE_BATCH || rows.at(-1)?.id !== last;
      });
      if (done) return false;
    }
    return true;
  }

  /**
   * Forgets rooms (their topic and prune mark) that have no messages, no members, and were last
   * touched before the age limit: one transaction per batch, at most `batches`. True if there
   * may be more to do.
   */
  sweepRooms(now: number, batches: number): boolean {
    if (this.#options.maxAgeMs === 0) return false;
    let after: [number, string] = [-1, ""];
    for (let i = 0; i < batches; i++) {
      const { seen, last } = inTransaction(
        this.#db,
        () => this.#forgetRooms(now - this.#options.maxAgeMs, after),
      );
      if (seen < STORE_PRUNE_BATCH || last === null) return false;
      after = last;
    }
    return true;
  }

  /** One batch of rooms touched before `cutoff`, after `after` in (touched, key) order. */
  #forgetRooms(
    cutoff: number,
    after: [number, string] = [-1, ""],
  ): { seen: number; forgotten: number; last: [number, string] | null } {
    const rows = this.#staleRooms.all(cutoff, after[0], after[1], STORE_PRUNE_BATCH) as {
      room_key: string;
      pruned_through: number;
      touched: number;
    }[];
    let forgotten = 0;
    let through = 0;
    for (const row of rows) {
      if (this.#hasMessages.get(row.room_key) !== undefined) continue;
      if (this.#options.roomInUse(row.room_key)) continue;
      this.#forgetRoom.run(row.room_key);
      this.#sincePrune.delete(row.room_key);
      through = Math.max(through, row.pruned_through);
      forgotten++;
    }
    // A resume into a forgotten room must still hear of the messages it lost.
    if (through > 0) this.#noteForgotten.run(through);
    const end = rows.at(-1);
    return {
      seen: rows.length,
      forgotten,
      last: end === undefined ? null : [end.touched, end.room_key],
    };
  }

  /** Notes, per room, the newest id deleted, for resume gaps; the room counts as touched now. */
  #noteDeleted(rows: Deleted[], now: number): void {
    const newest = new Map<string, number>();
    for (const row of rows) {
      newest.set(row.room_key, Math.max(newest.get(row.room_key) ?? 0, row.id));
    }
    for (const [key, id] of newest) this.#notePruned.run(key, id, now);
  }

  /** Pages in use. Unless `exact`, a file within the cap is not asked for its free pages. */
  #usedPages(exact: boolean): number {
    const pages = (this.#pageCount.get() as { page_count: number }).page_count;
    if (!exact && pages <= this.#capPages) return pages;
    return pages - (this.#freePages.get() as { freelist_count: number }).freelist_count;
  }
}
