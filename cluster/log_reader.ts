/**
 * A node's reader of the shared log (`sc:log`): one dedicated connection doing `XREAD BLOCK`
 * from the last entry it took, handing committed batches (`m`, every node's, its own too) and
 * other nodes' events (`e`) to its owner one at a time, in log order, awaiting each. After a
 * lost connection it reads on from the same entry, so nothing is lost or delivered twice.
 * Each entry carries its number in the epoch's log; a number that does not follow the last one
 * (the log was trimmed past this node while it was away, or Redis came back without it) is a
 * gap, which the owner hears of before the entries after it.
 *
 * @module
 */

import type { Awaitable } from "../core/awaitable.ts";
import type { ClusterEnvelope, ClusterEvent, CommittedBatch } from "../core/cluster.ts";
import type { RedisConn, Reply } from "./redis_conn.ts";
import { LOG_KEY } from "./keys.ts";
import type { LogPosition } from "../store/redis/history.ts";
import {
  LOG_BLOCK_MS,
  LOG_READ_COUNT,
  REDIS_COMMAND_TIMEOUT_MS,
  REDIS_RECONNECT_MAX_MS,
} from "../config/cluster_limits.ts";

/** Why entries may be missing before the next one (see {@linkcode LogReaderOptions.onGap}). */
export type LogGap =
  /** Entries between the last one taken and the next were trimmed (`MAXLEN`) unread. */
  | { reason: "trimmed"; missed: number }
  /** The log started over (Redis came back without it): what was unread is gone. */
  | { reason: "restarted" };

/** What a {@linkcode LogReader} hands its owner. */
export interface LogReaderOptions {
  /** This node's id: its own events are not handed back (its batches are). */
  node: string;
  /** Where to start: after this entry (the history's {@linkcode RedisHistory.logStart}). */
  from: LogPosition;
  /** A committed batch, any node's, in log order. */
  onBatch: (batch: CommittedBatch) => Awaitable<void>;
  /** Another node's event, in log order. */
  onEvent: (envelope: ClusterEnvelope) => Awaitable<void>;
  /** Entries may be missing before the next one. @default nothing */
  onGap?: (gap: LogGap) => Awaitable<void>;
  /** Told of each batch's last id before it is handed over (the history's floor). */
  onSeen?: (id: number) => void;
  /** A handler threw or an entry could not be read; reading goes on. @default nothing */
  onError?: (error: unknown) => void;
}

/** Reads the log on its own connection until closed; see the module documentation. */
export class LogReader {
  readonly #conn: RedisConn;
  readonly #options: LogReaderOptions;
  #position: LogPosition;
  #closed = false;
  readonly #done: Promise<void>;
  /** Wakes a wait for the connection when the reader closes. */
  #wake: (() => void) | null = null;

  private constructor(conn: RedisConn, options: LogReaderOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#position = { ...options.from };
    this.#done = this.#loop();
  }

  /**
   * Starts reading on a new connection to the server `conn` is connected to. Rejects with a
   * StoreError when Redis cannot be reached.
   */
  static async open(conn: RedisConn, options: LogReaderOptions): Promise<LogReader> {
    const own = await conn.duplicate(`sockchat:${options.node}:log`);
    return new LogReader(own, options);
  }

  /** The last entry taken. */
  get position(): LogPosition {
    return { ...this.#position };
  }

  /** Stops reading (a handler in progress finishes first) and closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    this.#conn.close();
    await this.#done;
  }

  async #loop(): Promise<void> {
    let broken = false;
    while (!this.#closed) {
      let reply: Reply;
      try {
        if (broken) {
          await this.#checkRestart();
          broken = false;
        }
        reply = await this.#conn.command(
          [
            "XREAD",
            "COUNT",
            LOG_READ_COUNT,
            "BLOCK",
            LOG_BLOCK_MS,
            "STREAMS",
            LOG_KEY,
            this.#position.id,
          ],
          LOG_BLOCK_MS + REDIS_COMMAND_TIMEOUT_MS,
        );
      } catch {
        if (this.#closed) return;
        broken = true;
        await this.#waitForConnection();
        continue;
      }
      if (!Array.isArray(reply) || reply.length === 0) continue;
      const stream = reply[0];
      if (!Array.isArray(stream) || !Array.isArray(stream[1])) continue;
      for (const item of stream[1]) {
        if (this.#closed) return;
        await this.#take(item);
      }
    }
  }

  /** Takes one entry: checks its number follows, then hands it over. */
  async #take(item: Reply): Promise<void> {
    if (!Array.isArray(item) || typeof item[0] !== "string" || !Array.isArray(item[1])) return;
    const fields = new Map<string, string>();
    const raw = item[1];
    for (let i = 0; i + 1 < raw.length; i += 2) fields.set(String(raw[i]), String(raw[i + 1]));
    const seq = Number(fields.get("s") ?? 0);
    const expected = this.#position.seq + 1;
    this.#position = { id: item[0], seq };
    try {
      if (seq > expected) {
        await this.#options.onGap?.({ reason: "trimmed", missed: seq - expected });
      } else if (seq < expected) {
        await this.#options.onGap?.({ reason: "restarted" });
      }
      const node = fields.get("n") ?? "";
      const data = fields.get("d") ?? "null";
      if (fields.get("k") === "m") {
        const batch = JSON.parse(data) as CommittedBatch;
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined) this.#options.onSeen?.(last.id);
        await this.#options.onBatch(batch);
      } else if (node !== this.#options.node) {
        await this.#options.onEvent({ node, event: JSON.parse(data) as ClusterEvent });
      }
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  /**
   * After a lost connection: if the log now ends before the entry this reader last took, it
   * started over (Redis came back without it), and reading goes on from its beginning.
   */
  async #checkRestart(): Promise<void> {
    if (this.#position.id === "0-0") return;
    const tail = await this.#conn.command(["XREVRANGE", LOG_KEY, "+", "-", "COUNT", 1]);
    const lastId = Array.isArray(tail) && Array.isArray(tail[0]) ? String(tail[0][0]) : "0-0";
    if (compareIds(lastId, this.#position.id) < 0) {
      // Entry numbers restart at 1 with the new log: the first one taken reports the gap.
      this.#position = { id: "0-0", seq: Number.MAX_SAFE_INTEGER - 1 };
    }
  }

  /** Waits until the connection is back (or the reader closes). */
  async #waitForConnection(): Promise<void> {
    if (this.#conn.ready || this.#closed) {
      // A command failed on a live connection (a timeout): pause a moment before retrying.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, REDIS_RECONNECT_MAX_MS / 10);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
      return;
    }
    await new Promise<void>((resolve) => {
      const stop = this.#conn.onReady(() => finish());
      const timer = setTimeout(() => finish(), REDIS_RECONNECT_MAX_MS);
      const finish = () => {
        stop();
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      this.#wake = finish;
    });
  }
}

/** Orders two stream ids (`ms-seq`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am !== bm ? am - bm : as - bs;
}
