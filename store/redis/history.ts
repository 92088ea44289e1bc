/**
 * {@linkcode HistoryStore} on Redis, shared by every node of a cluster (`serve --redis`). One
 * Lua script per batch allocates the ids (`sc:id`) and `ts`, adds each message to its room's
 * Stream (entry id `<msgid>-0`, so a room reads by message id) and the batch to the shared log
 * (`sc:log`) in one atomic step: log order is id order, and an ack is sent only once Redis has
 * accepted the batch (durable as far as Redis's `appendfsync` makes it).
 *
 * Reads come from the room streams, bounded by the node's delivered watermark (see
 * {@linkcode RedisHistory.delivered}), and keep the SQLite store's contract: `maxBytes`, the
 * `missed` counts (each stream entry carries its number in the room, so a count is two
 * lookups, not a walk), `bytes` charged alike, and a resume over messages that are gone
 * (trimmed, or lost when Redis came back empty: below the room's floor) counts as missed.
 *
 * Bounds: `--retention` is each stream's `MAXLEN` (approximate past 1000, which Redis trims in
 * whole nodes), `--max-age` an upkeep sweep that trims each stream by `MINID` at the first
 * message young enough (found by bisection in Redis). `--max-db-bytes` has no Redis
 * counterpart here: Redis's own `maxmemory` (with `noeviction`) caps it, and writes past it
 * fail as `store_failed`.
 *
 * @module
 */

import type { CommittedBatch, LiveBatch } from "../../core/cluster.ts";
import type { HistorySlice, HistoryStore, StoredMessage } from "../../core/ports.ts";
import { roomKey } from "../../core/room.ts";
import type { Arg, RedisConn } from "../../cluster/redis_conn.ts";
import { EpochWatch } from "../../cluster/epoch.ts";
import {
  BASE_KEY,
  EPOCH_KEY,
  ID_KEY,
  LOG_KEY,
  LOG_SEQ_KEY,
  roomMetaKey,
  ROOMS_KEY,
  roomStreamKey,
  TOPICS_KEY,
  TS_KEY,
} from "../../cluster/keys.ts";
import { DM_ID_BLOCK, DM_ID_REFILL_AT, LOG_MAXLEN } from "../../config/cluster_limits.ts";
import { STORE_UPKEEP_INTERVAL_MS } from "../../config/store_limits.ts";
import { StoreError, storeError } from "../store_error.ts";
import {
  APPEND,
  APPEND_ARGS_PER_MESSAGE,
  APPEND_FIXED_ARGS,
  APPEND_FIXED_KEYS,
  RESERVE,
  SNAPSHOT,
} from "./scripts.ts";
import { readIdAt, readNewest, readPage, strings } from "./history_reads.ts";
import { sweepAge } from "./retention.ts";
import { HistoryBudget } from "./budget.ts";

/** Retention at or past which streams are trimmed approximately (`MAXLEN ~`, whole nodes). */
const APPROXIMATE_TRIM_FROM = 1000;

/** Options for {@linkcode RedisHistory.open}. */
export interface RedisHistoryOptions {
  /** This node's id (written with each batch in the log). */
  node: string;
  /** Messages kept per room (`--retention`); 0 or Infinity: no cap. */
  retention: number;
  /** Messages older than this (ms) are trimmed by the upkeep sweep; 0: never. @default 0 */
  maxAgeMs?: number;
  /** `--max-db-bytes`: the bytes the history may hold in Redis (budget.ts); 0: none. @default 0 */
  maxBytes?: number;
  /** How often the upkeep sweep runs (one node at a time); 0: never. @default 600000 */
  upkeepIntervalMs?: number;
  /** Told of every upkeep failure (upkeep tries again at its next run). @default nothing */
  onUpkeepError?: (error: StoreError) => void;
  /** The epoch seen in Redis, shared with the bus. @default a new one */
  epoch?: EpochWatch;
  /** The highest id this node knows of from before (ids never restart below it). @default 0 */
  floor?: number;
  /** Clock, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /**
   * What an append waits for first, when it returns a promise: this node's events published
   * before it reaching the log (the bus's `written`), so the log keeps the node's order.
   * @default nothing
   */
  before?: () => Promise<void> | null;
  /**
   * Why appends are refused now (another process runs under this node id), or null.
   * @default never
   */
  refused?: () => string | null;
}

/** Where a node's log reader starts: just past the log's tail when the store opened. */
export interface LogPosition {
  /** The last log entry's id (`0-0` for an empty log). */
  id: string;
  /** Its number in the epoch's log (0 for none). */
  seq: number;
}

/** The shared, Redis-backed history; see the module documentation. */
export class RedisHistory implements HistoryStore {
  /** {@inheritDoc HistoryStore.sharedIds} */
  readonly sharedIds = true;
  /** The epoch as this node last saw it. */
  readonly epoch: EpochWatch;
  /** Where this node's log reader starts (see {@linkcode LogPosition}). */
  readonly logStart: LogPosition;
  /** The epoch {@linkcode RedisHistory.logStart} belongs to ("" if Redis had none yet). */
  readonly logEpoch: string;
  readonly #conn: RedisConn;
  readonly #node: string;
  readonly #nodeJson: string;
  readonly #retention: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #onUpkeepError: (error: StoreError) => void;
  readonly #upkeepIntervalMs: number;
  readonly #before: () => Promise<void> | null;
  readonly #budget: HistoryBudget;
  readonly #refused: () => string | null;
  readonly #newestTs: number;
  /** The newest id this node's hub has delivered: reads see nothing newer. */
  #watermark: number;
  /** The highest id this node has seen anywhere: the floor a new epoch starts above. */
  #seen: number;
  /** Epoch tokens (used only when a script finds no epoch): one random part, then a count. */
  readonly #tokenBase = crypto.randomUUID();
  #tokens = 0;
  /** The DM id block: the next id to hand out and the last one reserved. */
  #dmNext = 0;
  #dmLast = -1;
  #refilling = false;
  #upkeepTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(conn: RedisConn, options: RedisHistoryOptions, snapshot: Snapshot) {
    this.#conn = conn;
    this.#node = options.node;
    this.#nodeJson = JSON.stringify(options.node);
    const retention = options.retention;
    this.#retention = Number.isFinite(retention) && retention > 0 ? Math.floor(retention) : 0;
    this.#maxAgeMs = options.maxAgeMs ?? 0;
    this.#now = options.now ?? Date.now;
    this.#onUpkeepError = options.onUpkeepError ?? (() => {});
    this.#before = options.before ?? (() => null);
    this.#budget = new HistoryBudget(conn, {
      maxBytes: options.maxBytes ?? 0,
      onError: (error) => this.#onUpkeepError(error),
    });
    this.#refused = options.refused ?? (() => null);
    this.epoch = options.epoch ?? new EpochWatch();
    this.epoch.observe(snapshot.epoch);
    this.logStart = { id: snapshot.logId, seq: snapshot.logSeq };
    this.logEpoch = snapshot.epoch;
    this.#watermark = snapshot.id;
    this.#seen = Math.max(snapshot.id, options.floor ?? 0);
    this.#newestTs = snapshot.ts;
    const interval = this.#upkeepIntervalMs = options.upkeepIntervalMs ??
      STORE_UPKEEP_INTERVAL_MS;
    if (this.#maxAgeMs > 0 && interval > 0) {
      this.#upkeepTimer = setInterval(() => void this.upkeep(), interval);
      // Upkeep alone must not keep a process alive.
      Deno.unrefTimer(this.#upkeepTimer);
    }
  }

  /**
   * Opens the history on `conn`: reads the id counter, newest ts, epoch and log tail at one
   * instant, and reserves the first block of DM ids (starting an epoch if Redis is empty).
   * Rejects with a StoreError when Redis cannot be reached.
   */
  static async open(conn: RedisConn, options: RedisHistoryOptions): Promise<RedisHistory> {
    const reply = await conn.run(SNAPSHOT, [ID_KEY, TS_KEY, EPOCH_KEY, LOG_KEY, LOG_SEQ_KEY], []);
    const [id, ts, epoch, logId, logSeq] = strings(reply);
    const history = new RedisHistory(conn, options, {
      id: Number(id),
      ts: Number(ts),
      epoch,
      logId,
      logSeq: Number(logSeq),
    });
    await history.#reserve();
    return history;
  }

  /** The newest id this node's hub has delivered (reads see nothing newer). */
  get watermark(): number {
    return this.#watermark;
  }

  /** The highest id this node has seen (a new epoch starts above it). */
  get highestSeen(): number {
    return this.#seen;
  }

  /**
   * Raises the shared id counter to the highest id this node has seen, if it is below (Redis
   * came back empty or from an older state, and this node saw further than whoever ran the
   * first script after it): ids never go back for this node's clients. Rejects with a
   * StoreError when Redis cannot be reached.
   */
  async raiseFloor(): Promise<void> {
    const reply = await this.#conn.run(RESERVE, [ID_KEY, EPOCH_KEY, BASE_KEY], [
      this.#seen,
      crypto.randomUUID(),
      0,
    ]);
    this.epoch.observe(strings(reply)[0]);
  }

  /** Notes an id seen in the log before it is delivered (raises the floor only). */
  seen(id: number): void {
    if (id > this.#seen) this.#seen = id;
  }

  /** {@inheritDoc HistoryStore.append} */
  async append(messages: readonly StoredMessage[], live?: LiveBatch): Promise<void> {
    if (messages.length === 0) return;
    const refusal = this.#refused();
    if (refusal !== null) throw new StoreError(refusal);
    const earlier = this.#before();
    if (earlier !== null) await earlier;
    const rooms = new Map<string, number>();
    const keys = [ID_KEY, TS_KEY, EPOCH_KEY, BASE_KEY, LOG_KEY, LOG_SEQ_KEY, ROOMS_KEY];
    const perMessage: Arg[] = [];
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const key = roomKey(m.room);
      let index = rooms.get(key);
      if (index === undefined) {
        rooms.set(key, index = rooms.size + 1);
        keys.push(roomStreamKey(m.room), roomMetaKey(m.room));
      }
      const body: Omit<StoredMessage, "id" | "ts"> = { room: m.room, from: m.from, text: m.text };
      if (m.action) body.action = true;
      if (m.notice) body.notice = true;
      const breaks = live?.breaks[i];
      perMessage.push(
        index,
        m.ts,
        JSON.stringify(body).slice(1, -1),
        breaks === undefined ? "" : JSON.stringify(breaks),
      );
    }
    const args: Arg[] = [
      this.#seen,
      this.#epochToken(),
      this.#node,
      this.#nodeJson,
      live?.token ?? 0,
      messages.length,
      this.#retention,
      this.#retention >= APPROXIMATE_TRIM_FROM ? 1 : 0,
      LOG_MAXLEN,
      ...perMessage,
      // Last: the history budget (budget.ts), which the script checks before it writes.
      this.#budget.maxBytes,
    ];
    if (keys.length !== APPEND_FIXED_KEYS + 2 * rooms.size) throw new Error("append keys");
    if (args.length !== APPEND_FIXED_ARGS + APPEND_ARGS_PER_MESSAGE * messages.length + 1) {
      throw new Error("append args");
    }
    const reply = await this.#conn.run(APPEND, keys, args);
    const [epoch, first, ...ts] = strings(reply);
    this.#budget.admitted(reply, ts[messages.length]);
    this.epoch.observe(epoch);
    const firstId = Number(first);
    for (let i = 0; i < messages.length; i++) {
      // The relay's messages are its own objects: the store fills in what Redis decided.
      const m = messages[i] as StoredMessage;
      m.id = firstId + i;
      m.ts = Number(ts[i]);
    }
    this.seen(firstId + messages.length - 1);
  }

  /** {@inheritDoc HistoryStore.unstoredId} */
  unstoredId(): number {
    if (this.#dmLast - this.#dmNext < DM_ID_REFILL_AT) void this.#refill();
    // Past the block (Redis unreachable for a whole block's worth of DMs) ids go on counting:
    // unique on this node, and DMs are never resumed.
    return this.#dmNext++;
  }

  /** {@inheritDoc HistoryStore.delivered} */
  delivered(batch: CommittedBatch): void {
    const last = batch.messages[batch.messages.length - 1]?.id ?? 0;
    if (last > this.#watermark) this.#watermark = last;
    this.seen(last);
  }

  /** {@inheritDoc HistoryStore.saveNextId} */
  saveNextId(_nextId: number): void {
    // The cluster's counter in Redis is the only one; DM ids come from reserved blocks.
  }

  /** {@inheritDoc HistoryStore.nextId} */
  nextId(): number {
    return this.#seen + 1;
  }

  /** {@inheritDoc HistoryStore.newestTs} */
  newestTs(): number {
    return this.#newestTs;
  }

  /** {@inheritDoc HistoryStore.recent} */
  recent(room: string, limit: number, maxBytes = Infinity): Promise<HistorySlice> {
    return readNewest(this.#conn, room, "recent", this.#watermark, 0, limit, maxBytes);
  }

  /** {@inheritDoc HistoryStore.after} */
  after(room: string, afterId: number, limit: number, maxBytes = Infinity): Promise<HistorySlice> {
    return readNewest(this.#conn, room, "after", this.#watermark, afterId, limit, maxBytes);
  }

  /** {@inheritDoc HistoryStore.before} */
  before(
    room: string,
    beforeId: number,
    limit: number,
    maxBytes = Infinity,
  ): Promise<HistorySlice> {
    return readPage(this.#conn, room, "before", this.#watermark, beforeId, limit, maxBytes);
  }

  /** {@inheritDoc HistoryStore.afterOldest} */
  afterOldest(
    room: string,
    afterId: number,
    limit: number,
    maxBytes = Infinity,
  ): Promise<HistorySlice> {
    return readPage(this.#conn, room, "oldest", this.#watermark, afterId, limit, maxBytes);
  }

  /**
   * {@inheritDoc HistoryStore.idAt}
   *
   * Bisects inside Redis (one script, about 50 stream lookups): one round trip.
   */
  idAt(room: string, tsMs: number): Promise<number> {
    return readIdAt(this.#conn, room, tsMs, this.#watermark);
  }

  /** {@inheritDoc HistoryStore.topic} */
  async topic(room: string): Promise<string> {
    const reply = await this.#conn.command(["HGET", TOPICS_KEY, roomKey(room)]);
    return typeof reply === "string" ? reply : "";
  }

  /** {@inheritDoc HistoryStore.setTopic} */
  async setTopic(room: string, topic: string): Promise<void> {
    await this.#conn.command(["HSET", TOPICS_KEY, roomKey(room), topic]);
  }

  /**
   * Trims every room's stream by age (`maxAgeMs`), when no other node is doing it this
   * interval. Never throws: failures go to `onUpkeepError`. Resolves with the entries deleted.
   */
  async upkeep(): Promise<number> {
    if (this.#closed || this.#maxAgeMs <= 0) return 0;
    try {
      return await sweepAge(this.#conn, {
        node: this.#node,
        // One node per interval: the sweep is the same work whoever does it.
        lockMs: this.#upkeepIntervalMs > 0 ? this.#upkeepIntervalMs : STORE_UPKEEP_INTERVAL_MS,
        cutoff: this.#now() - this.#maxAgeMs,
        stopped: () => this.#closed,
      });
    } catch (error) {
      this.#onUpkeepError(storeError(error));
      return 0;
    }
  }

  /** {@inheritDoc HistoryStore.close} */
  close(): void {
    this.#closed = true;
    clearInterval(this.#upkeepTimer);
    this.#budget.close();
  }

  /**
   * A token for a new epoch, unique per call (a second empty Redis gets a new one): cheaper
   * than a random UUID per append, and the script reads it only when Redis has no epoch.
   */
  #epochToken(): string {
    return `${this.#tokenBase}-${++this.#tokens}`;
  }

  /** Reserves the next block of DM ids (and, on an empty Redis, starts the epoch). */
  async #reserve(): Promise<void> {
    const reply = await this.#conn.run(RESERVE, [ID_KEY, EPOCH_KEY, BASE_KEY], [
      this.#seen,
      crypto.randomUUID(),
      DM_ID_BLOCK,
    ]);
    const [epoch, last] = strings(reply);
    this.epoch.observe(epoch);
    const end = Number(last);
    this.#dmNext = end - DM_ID_BLOCK + 1;
    this.#dmLast = end;
    this.seen(end);
  }

  async #refill(): Promise<void> {
    if (this.#refilling || this.#closed) return;
    this.#refilling = true;
    try {
      await this.#reserve();
    } catch {
      // Tried again at the next DM; until then ids go on past the block (see unstoredId).
    } finally {
      this.#refilling = false;
    }
  }
}

interface Snapshot {
  id: number;
  ts: number;
  epoch: string;
  logId: string;
  logSeq: number;
}
