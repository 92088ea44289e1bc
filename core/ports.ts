/**
 * The chat core's view of message history: a port the hub writes to and replays from.
 * The SQLite adapter lives in `store/`; the core never touches files itself.
 *
 * @module
 */

/** A room message as stored. */
export interface StoredMessage {
  id: number;
  /** Room name as displayed. */
  room: string;
  from: string;
  text: string;
  ts: number;
  /** True for a `/me` action. */
  action?: boolean;
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
 * Durable storage for room messages, topics and the id counter. Every call is synchronous.
 * Failures throw errors whose message names the cause in a clause people can read ("the disk
 * is full"), fit to be shown as it is. Reads never write, so they keep working on a full disk.
 */
export interface HistoryStore {
  /**
   * Commits messages in one transaction. Throws on failure. The next id to hand out is implied
   * by the newest message, or by a mark the store keeps when it deletes the newest ones.
   */
  append(messages: readonly StoredMessage[]): void;
  /**
   * Notes the next id to hand out (ids used by messages that are not stored). Never fails: a
   * store may keep it in memory and write it later, so a direct message needs no disk.
   */
  saveNextId(nextId: number): void;
  /** The id the server should hand out next: greater than every id ever committed. */
  nextId(): number;
  /**
   * The last `limit` messages of a room, oldest first. Reads newest first and stops once about
   * `maxBytes` have been read, so a request costs what can be sent, not what was asked for.
   */
  recent(room: string, limit: number, maxBytes?: number): HistorySlice;
  /**
   * Messages of a room newer than `afterId`, oldest first: the newest `limit` of them, read
   * newest first within about `maxBytes`.
   */
  after(room: string, afterId: number, limit: number, maxBytes?: number): HistorySlice;
  /** A room's saved topic, or "" when none. */
  topic(room: string): string;
  /** Saves a room's topic. */
  setTopic(room: string, topic: string): void;
  /** Releases the store. */
  close(): void;
}
