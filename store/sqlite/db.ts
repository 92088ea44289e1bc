/**
 * Opening sockchat's SQLite file and running transactions on it. Opening writes nothing to a
 * database whose schema is already current, so that a server can start (and serve everything
 * that needs no disk) while its disk is full; every error leaves as a {@linkcode StoreError}.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { storeError } from "../store_error.ts";

/** How hard each commit is pushed to disk. */
export type SyncMode = "normal" | "full";

/**
 * A fault to simulate, for tests: `full` keeps the file from growing past its size at open, as a
 * full disk would (SQLite's `max_page_count`: writes that need a new page fail with "database or
 * disk is full"); `read-only` refuses every write (`query_only`); `slow` makes every append take
 * {@linkcode SLOW_FAULT_MS} longer, as a stalled disk would (the thread that commits waits).
 */
export type StoreFault = "full" | "read-only" | "slow";

/** How much longer each append takes under the `slow` fault. */
export const SLOW_FAULT_MS = 300;

/** Tables and indexes, by name, in creation order. */
const SCHEMA: readonly (readonly [string, string])[] = [
  [
    "messages",
    `CREATE TABLE messages (
      id INTEGER PRIMARY KEY,
      room_key TEXT NOT NULL,
      room TEXT NOT NULL,
      nick TEXT NOT NULL,
      text TEXT NOT NULL,
      ts INTEGER NOT NULL,
      action INTEGER NOT NULL DEFAULT 0
    )`,
  ],
  ["messages_by_room", "CREATE INDEX messages_by_room ON messages (room_key, id)"],
  // touched: when the topic was last set or the room last lost messages (for forgetting it).
  [
    "rooms",
    `CREATE TABLE rooms (
      room_key TEXT PRIMARY KEY,
      topic TEXT NOT NULL DEFAULT '',
      pruned_through INTEGER NOT NULL DEFAULT 0,
      touched INTEGER NOT NULL DEFAULT 0
    )`,
  ],
  ["rooms_by_touched", "CREATE INDEX rooms_by_touched ON rooms (touched, room_key)"],
  ["meta", "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"],
  [
    "bans",
    `CREATE TABLE bans (
      kind TEXT NOT NULL,
      target TEXT NOT NULL,
      until INTEGER NOT NULL,
      reason TEXT NOT NULL,
      by TEXT NOT NULL,
      PRIMARY KEY (kind, target)
    )`,
  ],
  [
    "mutes",
    `CREATE TABLE mutes (
      kind TEXT NOT NULL,
      target TEXT NOT NULL,
      until INTEGER NOT NULL,
      by TEXT NOT NULL,
      PRIMARY KEY (kind, target)
    )`,
  ],
  // Registered nicks: a key fingerprint or an scrypt hash, never a password (issue 13).
  [
    "accounts",
    `CREATE TABLE accounts (
      nick_key TEXT PRIMARY KEY,
      nick TEXT NOT NULL,
      kind TEXT NOT NULL,
      fingerprint TEXT,
      source TEXT,
      hash TEXT,
      created INTEGER NOT NULL
    )`,
  ],
  // Claimed rooms (issue 15): modes as letters (t, m, i), the key and limit, and JSON lists of
  // the accounts opped and voiced on joining and of the bans.
  [
    "room_claims",
    `CREATE TABLE room_claims (
      room_key TEXT PRIMARY KEY,
      room TEXT NOT NULL,
      owner_key TEXT NOT NULL,
      modes TEXT NOT NULL DEFAULT '',
      room_key_secret TEXT,
      user_limit INTEGER,
      ops TEXT NOT NULL DEFAULT '[]',
      voices TEXT NOT NULL DEFAULT '[]',
      bans TEXT NOT NULL DEFAULT '[]',
      created INTEGER NOT NULL
    )`,
  ],
];

/**
 * Opens (or creates) the database at `path` in WAL mode and brings its schema up to date.
 * Throws a {@linkcode StoreError}.
 */
export function openDatabase(
  path: string,
  sync: SyncMode,
  now: number,
  fault?: StoreFault,
): DatabaseSync {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    const mode = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
    if (mode.journal_mode !== "wal") db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    db.exec("PRAGMA busy_timeout = 5000");
    migrate(db, now);
    if (fault === "full") db.exec("PRAGMA max_page_count = 1"); // clamped to the current size
    if (fault === "read-only") db.exec("PRAGMA query_only = ON");
    return db;
  } catch (error) {
    try {
      db?.close();
    } catch {
      // the open error is the one to report
    }
    throw storeError(error);
  }
}

/** Creates what is missing; a database made before rooms had `touched` gains it. */
function migrate(db: DatabaseSync, now: number): void {
  const have = new Set(
    (db.prepare("SELECT name FROM sqlite_master").all() as { name: string }[]).map((r) => r.name),
  );
  const steps: string[] = [];
  if (have.has("rooms")) {
    const columns = db.prepare("PRAGMA table_info(rooms)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "touched")) {
      // Rooms already there count as touched now, so an upgrade forgets none of them at once.
      steps.push(
        "ALTER TABLE rooms ADD COLUMN touched INTEGER NOT NULL DEFAULT 0",
        `UPDATE rooms SET touched = ${Math.floor(now)}`,
      );
    }
  }
  for (const [name, sql] of SCHEMA) if (!have.has(name)) steps.push(sql);
  if (steps.length === 0) return;
  inTransaction(db, () => {
    for (const sql of steps) db.exec(sql);
  });
}

/**
 * Runs `body` in one IMMEDIATE transaction and commits it; on failure rolls back and throws a
 * {@linkcode StoreError}. SQLite rolls back by itself after some errors (a full disk is one), so
 * the ROLLBACK runs only if a transaction is still open: a second failure must not hide the
 * first, which is the one that names the cause.
 */
export function inTransaction<T>(db: DatabaseSync, body: () => T): T {
  try {
    db.exec("BEGIN IMMEDIATE");
    const result = body();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.isOpen && db.isTransaction) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // the error that got us here is the one to report
      }
    }
    throw storeError(error);
  }
}

/** Runs a read (or a single statement), turning its failure into a {@linkcode StoreError}. */
export function guarded<T>(body: () => T): T {
  try {
    return body();
  } catch (error) {
    throw storeError(error);
  }
}
