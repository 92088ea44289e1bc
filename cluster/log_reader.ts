/**
 * A node's reader of the shared log (`sc:log`): one dedicated connection doing `XREAD BLOCK`
 * from the last entry it took, handing committed batches (`m`, every node's, its own too) and
 * other nodes' events (`e`) to its owner one at a time, in log order, awaiting each. After a
 * lost connection it reads on from the same entry, so nothing is lost or delivered twice.
 * Each entry carries its number in the epoch's log; a number that does not follow the last one
 * (the log was trimmed past this node while it was away, or Redis came back without it) is a
 * gap, which the owner hears of before the entries after it.
 *
 * The reader never goes back over entries it took: when Redis comes back from an older state
 * of the same epoch (an RDB snapshot, an AOF `everysec` that lost its last second, a replica a
 * few writes behind) the log ends before the last entry taken; the reader goes on after that
 * entry (new entries get later ids) and reports a `restarted` gap, since what other nodes wrote
 * meanwhile may be lost. Only a new epoch (Redis came back empty) starts it at the beginning.
 * Its blocking read has its own deadline ({@linkcode LOG_BLOCK_MS} plus
 * {@linkcode LOG_READ_MARGIN_MS}): a connection that does not answer is made again.
 *
 * @module
 */

import type { Awaitable } from "../core/awaitable.ts";
import type { ClusterEnvelope, CommittedBatch } from "../core/cluster.ts";
import { type RedisConn, type Reply, Script } from "./redis_conn.ts";
import { EPOCH_KEY, LOG_KEY } from "./keys.ts";
import type { LogPosition } from "../store/redis/history.ts";
import { readBatch, readEvent, readNode, readSeq } from "./validate.ts";
import { NDJSON } from "../protocol/ndjson/encode.ts";
import {
  LOG_BLOCK_MS,
  LOG_READ_COUNT,
  LOG_READ_MARGIN_MS,
  REDIS_RECONNECT_MAX_MS,
} from "../config/cluster_limits.ts";

/**
 * Where the log stands, at one instant. KEYS: epoch, log. Returns the epoch ("" when none),
 * the last entry's id ("0-0" when empty) and its number in the epoch's log ("0").
 */
const TAIL = new Script(`
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id, seq = '0-0', '0'
if #last > 0 then
  id = last[1][1]
  for i = 1, #last[1][2], 2 do
    if last[1][2][i] == 's' then seq = last[1][2][i + 1] end
  end
end
return {redis.call('GET', KEYS[1]) or '', id, seq}
`);

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
  /** The epoch `from` belongs to ("" when not known: the first one seen is taken). @default "" */
  epoch?: string;
  /** A committed batch, any node's, in log order. */
  onBatch: (batch: CommittedBatch) => Awaitable<void>;
  /** Another node's event, in log order. */
  onEvent: (envelope: ClusterEnvelope) => Awaitable<void>;
  /** Entries may be missing before the next one. @default nothing */
  onGap?: (gap: LogGap) => Awaitable<void>;
  /** Told of each batch's last id before it is handed over (the history's floor). */
  onSeen?: (id: number) => void;
  /**
   * The highest id this node has seen: a batch with an id far above it is skipped as bad
   * (cluster/validate.ts). @default no bound but 2^53
   */
  ceiling?: () => number;
  /** A handler threw or an entry could not be read; reading goes on. @default nothing */
  onError?: (error: unknown) => void;
}

/** Reads the log on its own connection until closed; see the module documentation. */
export class LogReader {
  readonly #conn: RedisConn;
  readonly #options: LogReaderOptions;
  #position: LogPosition;
  /** The epoch of the log being read ("" until known). */
  #epoch: string;
  #closed = false;
  readonly #done: Promise<void>;
  /** Wakes a wait for the connection when the reader closes. */
  #wake: (() => void) | null = null;

  private constructor(conn: RedisConn, options: LogReaderOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#position = { ...options.from };
    this.#epoch = options.epoch ?? "";
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
          LOG_BLOCK_MS + LOG_READ_MARGIN_MS,
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
    const expected = this.#position.seq + 1;
    const seq = readSeq(fields.get("s"), expected);
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
        // Checked before use (validate.ts): a bad entry is skipped, reported once by onError.
        const batch = readBatch(data, this.#options.ceiling?.() ?? Number.MAX_SAFE_INTEGER);
        const frames = fields.get("f");
        if (frames !== undefined) batch.encoded = readFrames(frames, batch);
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined) this.#options.onSeen?.(last.id);
        await this.#options.onBatch(batch);
      } else if (node !== this.#options.node) {
        await this.#options.onEvent({ node: readNode(node), event: readEvent(data) });
      }
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  /**
   * After a lost connection, looks at where the log stands. A new epoch (Redis came back
   * empty): the new log is read from its beginning (its first entry reports the gap). The same
   * epoch but a log ending before the last entry taken (Redis came back from an older state):
   * reading goes on after the last entry taken, never over it again, and the gap is reported
   * now; entry numbers go on from the log's.
   */
  async #checkRestart(): Promise<void> {
    const [epoch, tailId, tailSeq] =
      (await this.#conn.run(TAIL, [EPOCH_KEY, LOG_KEY], []) as Reply[]).map(String);
    if (this.#epoch !== "" && epoch !== this.#epoch) {
      // Entry numbers restart at 1 with the new log: the first one taken reports the gap.
      this.#epoch = epoch;
      this.#position = { id: "0-0", seq: Number.MAX_SAFE_INTEGER - 1 };
      return;
    }
    if (this.#epoch === "") this.#epoch = epoch;
    if (this.#position.id === "0-0" || compareIds(tailId, this.#position.id) >= 0) return;
    this.#position = { id: this.#position.id, seq: Number(tailSeq) };
    try {
      await this.#options.onGap?.({ reason: "restarted" });
    } catch (error) {
      this.#options.onError?.(error);
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

/** What begins every frame line the append script builds, up to the message's id. */
const FRAME_HEAD = new TextEncoder().encode('{"type":"msg","id":');
const encoder = new TextEncoder();
const NEWLINE = 0x0a;
const CLOSE = 0x7d; // }
const COMMA = 0x2c;

/**
 * A batch's NDJSON frames as the append script built them (the entry's `f`: one line per
 * message, an empty one where the node must encode it itself), encoded in one pass; undefined
 * (every message encoded as usual) unless each line is its message's `msg` frame by id, so an
 * entry written by anything else never reaches a client as some other frame.
 */
function readFrames(text: string, batch: CommittedBatch): CommittedBatch["encoded"] {
  const messages = batch.messages;
  const bytes = encoder.encode(text);
  const frames: (Uint8Array | undefined)[] = new Array(messages.length);
  let start = 0;
  for (let i = 0; i < messages.length; i++) {
    const end = bytes.indexOf(NEWLINE, start) + 1;
    if (end === 0) return undefined;
    if (end - start > 1) {
      if (!isFrameOf(bytes, start, end, messages[i].id)) return undefined;
      frames[i] = bytes.subarray(start, end);
    }
    start = end;
  }
  return start === bytes.length ? { slot: NDJSON.slot, frames } : undefined;
}

/** True if `bytes[start, end)` is `{"type":"msg","id":<id>,...}` and a newline. */
function isFrameOf(bytes: Uint8Array, start: number, end: number, id: number): boolean {
  if (end - start < FRAME_HEAD.length + 4 || bytes[end - 2] !== CLOSE) return false;
  for (let k = 0; k < FRAME_HEAD.length; k++) {
    if (bytes[start + k] !== FRAME_HEAD[k]) return false;
  }
  const digits = String(id);
  let at = start + FRAME_HEAD.length;
  for (let k = 0; k < digits.length; k++, at++) {
    if (bytes[at] !== digits.charCodeAt(k)) return false;
  }
  return bytes[at] === COMMA;
}

/** Orders two stream ids (`ms-seq`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am !== bm ? am - bm : as - bs;
}
