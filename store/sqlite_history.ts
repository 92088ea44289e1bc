/**
 * {@linkcode HistoryStore} on embedded SQLite (`node:sqlite`). WAL mode; every append is one
 * transaction, committed before the hub acknowledges or relays anything in it.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { HistorySlice, HistoryStore, StoredMessage } from "../core/history.ts";
import { roomKey } from "../core/room.ts";
import type { Ban, BanStore } from "../core/moderation.ts";

/** How hard each commit is pushed to disk. */
export type SyncMode = "normal" | "full";

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
}

interface Row {
  id: number;
  room: string;
  nick: string;
  text: string;
  ts: number;
  action: number;
}

/**
 * A room is pruned once this many messages (or 1/16 of the retention, if more) have been added
 * since its last prune: a prune walks `retention` index entries, so this keeps its cost per
 * message small while letting a room exceed its cap by at most that much.
 */
const MIN_PRUNE_EVERY = 64;

/** SQLite-backed history (and ban list). */
export class SqliteHistory implements HistoryStore, BanStore {
  readonly #db: DatabaseSync;
  readonly #retention: number;
  readonly #insert: StatementSync;
  readonly #setMeta: StatementSync;
  readonly #recent: StatementSync;
  readonly #after: StatementSync;
  readonly #countAfter: StatementSync;
  readonly #prune: StatementSync;
  readonly #prunedThrough: StatementSync;
  readonly #notePruned: StatementSync;
  readonly #getTopic: StatementSync;
  readonly #putTopic: StatementSync;
  readonly #pruneEvery: number;
  #sincePrune = new Map<string, number>();

  constructor(options: SqliteHistoryOptions) {
    this.#db = new DatabaseSync(options.path);
    this.#retention = options.retention;
    this.#pruneEvery = Math.max(MIN_PRUNE_EVERY, Math.ceil(options.retention / 16));
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${options.sync === "full" ? "FULL" : "NORMAL"};
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY,
        room_key TEXT NOT NULL,
        room TEXT NOT NULL,
        nick TEXT NOT NULL,
        text TEXT NOT NULL,
        ts INTEGER NOT NULL,
        action INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room_key, id);
      CREATE TABLE IF NOT EXISTS rooms (
        room_key TEXT PRIMARY KEY,
        topic TEXT NOT NULL DEFAULT '',
        pruned_through INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS bans (
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        until INTEGER NOT NULL,
        reason TEXT NOT NULL,
        by TEXT NOT NULL,
        PRIMARY KEY (kind, target)
      );
    `);
    this.#insert = this.#db.prepare(
      "INSERT INTO messages (id, room_key, room, nick, text, ts, action) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#setMeta = this.#db.prepare(
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
    this.#countAfter = this.#db.prepare(
      "SELECT count(*) AS n FROM messages WHERE room_key = ? AND id > ?",
    );
    this.#prune = this.#db.prepare(
      "DELETE FROM messages WHERE room_key = ?1 AND id <= (SELECT id FROM messages " +
        "WHERE room_key = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2) RETURNING id",
    );
    this.#prunedThrough = this.#db.prepare(
      "SELECT pruned_through AS p FROM rooms WHERE room_key = ?",
    );
    this.#notePruned = this.#db.prepare(
      "INSERT INTO rooms (room_key, pruned_through) VALUES (?1, ?2) ON CONFLICT (room_key) " +
        "DO UPDATE SET pruned_through = max(pruned_through, ?2)",
    );
    this.#getTopic = this.#db.prepare("SELECT topic FROM rooms WHERE room_key = ?");
    this.#putTopic = this.#db.prepare(
      "INSERT INTO rooms (room_key, topic) VALUES (?1, ?2) " +
        "ON CONFLICT (room_key) DO UPDATE SET topic = ?2",
    );
  }

  /** {@inheritDoc HistoryStore.append} */
  append(messages: readonly StoredMessage[]): void {
    const touched = new Set<string>();
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const m of messages) {
        const key = roomKey(m.room);
        this.#insert.run(m.id, key, m.room, m.from, m.text, m.ts, m.action ? 1 : 0);
        touched.add(key);
        this.#sincePrune.set(key, (this.#sincePrune.get(key) ?? 0) + 1);
      }
      for (const key of touched) {
        if ((this.#sincePrune.get(key) ?? 0) >= this.#pruneEvery) this.#pruneRoom(key);
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Drops all but the newest `retention` messages of a room right away. */
  prune(room: string): void {
    this.#pruneRoom(roomKey(room));
  }

  #pruneRoom(key: string): void {
    this.#sincePrune.set(key, 0);
    const removed = this.#prune.all(key, this.#retention) as { id: number }[];
    if (removed.length > 0) {
      this.#notePruned.run(key, Math.max(...removed.map((r) => r.id)));
    }
  }

  /** {@inheritDoc HistoryStore.saveNextId} */
  saveNextId(nextId: number): void {
    this.#setMeta.run(nextId);
  }

  /** {@inheritDoc HistoryStore.nextId} */
  nextId(): number {
    const meta = this.#db.prepare("SELECT value FROM meta WHERE key = 'next_id'").get() as
      | { value: number }
      | undefined;
    const max = this.#db.prepare("SELECT max(id) AS m FROM messages").get() as { m: number | null };
    return Math.max(meta?.value ?? 1, (max.m ?? 0) + 1);
  }

  /** {@inheritDoc HistoryStore.recent} */
  recent(room: string, limit: number, maxBytes = Infinity): HistorySlice {
    const key = roomKey(room);
    const { rows, bytes } = readWithin(this.#recent.iterate(key, limit), maxBytes);
    const total = (this.#countAfter.get(key, 0) as { n: number }).n;
    return {
      messages: rows.reverse().map(toMessage),
      missed: Math.max(0, total - rows.length),
      bytes,
    };
  }

  /** {@inheritDoc HistoryStore.after} */
  after(room: string, afterId: number, limit: number, maxBytes = Infinity): HistorySlice {
    const key = roomKey(room);
    const { rows, bytes } = readWithin(this.#after.iterate(key, afterId, limit), maxBytes);
    const total = (this.#countAfter.get(key, afterId) as { n: number }).n;
    const pruned = (this.#prunedThrough.get(key) as { p: number } | undefined)?.p ?? 0;
    // Messages after afterId that retention already removed count as missed too (at least 1).
    const prunedMissed = pruned > afterId ? 1 : 0;
    return {
      messages: rows.reverse().map(toMessage),
      missed: Math.max(0, total - rows.length) + prunedMissed,
      bytes,
    };
  }

  /** {@inheritDoc HistoryStore.topic} */
  topic(room: string): string {
    return (this.#getTopic.get(roomKey(room)) as { topic: string } | undefined)?.topic ?? "";
  }

  /** {@inheritDoc HistoryStore.setTopic} */
  setTopic(room: string, topic: string): void {
    this.#putTopic.run(roomKey(room), topic);
  }

  /** {@inheritDoc BanStore.loadBans} */
  loadBans(): Ban[] {
    return this.#db.prepare("SELECT kind, target, until, reason, by FROM bans")
      .all() as unknown as Ban[];
  }

  /** {@inheritDoc BanStore.saveBan} */
  saveBan(ban: Ban): void {
    this.#db.prepare(
      "INSERT OR REPLACE INTO bans (kind, target, until, reason, by) VALUES (?, ?, ?, ?, ?)",
    ).run(ban.kind, ban.target, ban.until, ban.reason, ban.by);
  }

  /** {@inheritDoc BanStore.deleteBan} */
  deleteBan(kind: Ban["kind"], target: string): void {
    this.#db.prepare("DELETE FROM bans WHERE kind = ? AND target = ?").run(kind, target);
  }

  /** {@inheritDoc HistoryStore.close} */
  close(): void {
    try {
      this.#db.close();
    } catch {
      // already closed
    }
  }
}

/** Bytes a stored row costs beyond its text and nick: ids, times, room, framing. */
const ROW_OVERHEAD_BYTES = 64;

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
    const size = ROW_OVERHEAD_BYTES + row.text.length + row.nick.length + row.room.length;
    bytes += size;
    if (bytes > maxBytes) break;
    kept.push(row);
  }
  return { rows: kept, bytes };
}

function toMessage(row: Row): StoredMessage {
  const m: StoredMessage = {
    id: row.id,
    room: row.room,
    from: row.nick,
    text: row.text,
    ts: row.ts,
  };
  if (row.action) m.action = true;
  return m;
}
