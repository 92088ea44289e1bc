/**
 * One sockchat node's whole Redis engine, opened in one call (`serve --redis`): the
 * connection, the shared history ({@linkcode RedisHistory}), the record tables
 * ({@linkcode RedisTables}), the bus ({@linkcode RedisBus}) and, once the hub exists, the log
 * reader ({@linkcode LogReader}) that feeds it. The order matters and is kept here: the
 * history fixes where the log is read from before anything can be missed, the tables are
 * loaded before the hub reads them, and the reader starts only once the hub can take entries.
 *
 * @example
 * ```ts ignore
 * const engine = await ClusterNode.open({ url: "redis://127.0.0.1:6379", node: "a", retention: 10000 });
 * const hub = new Hub({ store: engine.history, cluster: engine.bus, bans: new BanList(engine.tables.moderation, { mutes: engine.tables.moderation }), accounts: engine.tables, claims: engine.tables, ... });
 * await engine.start(hub);
 * // ...
 * await engine.close();
 * ```
 *
 * @module
 */

import type { Awaitable } from "../core/awaitable.ts";
import type { ClusterEnvelope, CommittedBatch } from "../core/cluster.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { RedisConn } from "./redis_conn.ts";
import { EpochWatch } from "./epoch.ts";
import { type LogGap, LogReader } from "./log_reader.ts";
import { RedisBus } from "./redis_bus.ts";
import { RedisHistory } from "../store/redis/history.ts";
import { RedisTables } from "../store/redis/tables.ts";
import type { StoreError } from "../store/store_error.ts";
import { CLUSTER_CLOSE_MS } from "../config/cluster_limits.ts";

/** Options for {@linkcode ClusterNode.open}. */
export interface ClusterNodeOptions {
  /** `redis://[user:password@]HOST:PORT[/DB]` or `rediss://...` (`--redis`). */
  url: string;
  /** This node's id (`--node-id`). */
  node: string;
  /** Messages kept per room (`--retention`). */
  retention: number;
  /** Messages older than this are trimmed (`--max-age`, ms); 0: never. @default 0 */
  maxAgeMs?: number;
  /** `--max-db-bytes`: bytes the history may hold in Redis (store/redis/budget.ts); 0: none. @default 0 */
  maxBytes?: number;
  /** Node lease (ms). @default NODE_LEASE_MS */
  leaseMs?: number;
  /** Lease renewal interval (ms). @default LEASE_REFRESH_MS */
  refreshMs?: number;
  /** Lost-node check interval (ms). @default NODE_CHECK_MS */
  checkMs?: number;
  /** How long `close()` may spend leaving the cluster (ms). @default CLUSTER_CLOSE_MS */
  closeMs?: number;
  /** Told when Redis is lost (a sentence) and when it is back (null). @default nothing */
  onState?: (problem: string | null) => void;
  /** Told of failures no caller waits for (upkeep, background writes). @default nothing */
  onError?: (message: string) => void;
  /**
   * Told once that another process took this node id (see `RedisBus.usurped`): this run no
   * longer serves cluster writes; log it at error level. @default console.error
   */
  onUsurped?: (message: string) => void;
}

/** What the engine feeds: the hub's cluster methods (`Hub.committed`, ...). */
export interface ClusterHubLink {
  /** A committed batch from the log, any node's, in log order. */
  committed(batch: CommittedBatch): Awaitable<void>;
  /** Another node's event from the log, in log order. */
  applyRemote(envelope: ClusterEnvelope): Awaitable<void>;
  /** A direct message routed here for the local user `key`; false if there is none. */
  applyDirect(key: string, frame: ServerFrame): Awaitable<boolean>;
  /**
   * This node's lease was found gone (declared lost while stalled, or Redis came back empty)
   * and taken again: announce every local user again (`hello`, rooms included), and end those
   * whose folded nick is in `taken` (another node holds it now). @default nothing
   */
  rejoin?(taken: string[]): Awaitable<void>;
  /** Log entries may be missing (this node fell behind the log's cap, or Redis lost it). */
  logGap?(gap: LogGap): Awaitable<void>;
}

/** A node's Redis engine; see the module documentation. */
export class ClusterNode {
  /** The main connection (commands and scripts). */
  readonly conn: RedisConn;
  /** The shared history: the hub's `store`. */
  readonly history: RedisHistory;
  /** The bus: the hub's `cluster`. */
  readonly bus: RedisBus;
  /** Bans, mutes (`tables.moderation`), accounts and claims (`tables` itself). */
  readonly tables: RedisTables;
  /** The epoch, shared by the history and the bus. */
  readonly epoch: EpochWatch;
  #reader: LogReader | null = null;
  readonly #onError: (message: string) => void;
  readonly #closeMs: number;
  #closed = false;

  private constructor(
    conn: RedisConn,
    history: RedisHistory,
    bus: RedisBus,
    tables: RedisTables,
    epoch: EpochWatch,
    onError: (message: string) => void,
    closeMs: number,
  ) {
    this.conn = conn;
    this.history = history;
    this.bus = bus;
    this.tables = tables;
    this.epoch = epoch;
    this.#onError = onError;
    this.#closeMs = closeMs;
  }

  /**
   * Connects and opens everything but the log reader. Rejects with a StoreError naming the
   * server ("Redis at HOST:PORT is unreachable") when it cannot be reached.
   */
  static async open(options: ClusterNodeOptions): Promise<ClusterNode> {
    const onError = options.onError ?? (() => {});
    const conn = await RedisConn.open(options.url, {
      name: `sockchat:${options.node}`,
      onState: options.onState,
    });
    let history: RedisHistory | undefined;
    try {
      const epoch = new EpochWatch();
      // The bus comes second (it needs the history's floor); appends wait for its events.
      const later: { bus?: RedisBus } = {};
      history = await RedisHistory.open(conn, {
        node: options.node,
        retention: options.retention,
        maxAgeMs: options.maxAgeMs,
        maxBytes: options.maxBytes,
        epoch,
        before: () => later.bus?.written() ?? null,
        refused: () => later.bus?.usurped ?? null,
        onUpkeepError: (error: StoreError) => onError(`history upkeep failed: ${error.message}`),
      });
      const bus = await RedisBus.open(conn, {
        node: options.node,
        epoch,
        floor: () => history?.highestSeen ?? 0,
        leaseMs: options.leaseMs,
        refreshMs: options.refreshMs,
        checkMs: options.checkMs,
        onError,
        onUsurped: options.onUsurped ?? ((message) => console.error(`sockchat: ${message}`)),
      });
      later.bus = bus;
      const tables = await RedisTables.open(conn, {
        publish: (event) => bus.publish(event),
        onError,
      }).catch(async (error) => {
        await bus.close({ leave: false });
        throw error;
      });
      const node = new ClusterNode(
        conn,
        history,
        bus,
        tables,
        epoch,
        onError,
        options.closeMs ?? CLUSTER_CLOSE_MS,
      );
      epoch.onChange(() => node.#newEpoch());
      return node;
    } catch (error) {
      history?.close();
      conn.close();
      throw error;
    }
  }

  /**
   * Starts feeding `hub`: the log from where the history opened, direct messages, rejoins.
   * Rejects with a StoreError when Redis cannot be reached.
   */
  async start(hub: ClusterHubLink): Promise<void> {
    this.bus.attach({
      onDirect: (key, frame) => {
        void Promise.resolve(hub.applyDirect(key, frame)).catch((error) =>
          this.#onError(`a direct message failed: ${(error as Error).message}`)
        );
      },
      onRejoin: (taken) => {
        void Promise.resolve(hub.rejoin?.(taken)).catch((error) =>
          this.#onError(`announcing users again failed: ${(error as Error).message}`)
        );
      },
    });
    this.#reader = await LogReader.open(this.conn, {
      node: this.bus.node,
      from: this.history.logStart,
      epoch: this.history.logEpoch,
      onBatch: (batch) => hub.committed(batch),
      onEvent: (envelope) => {
        // The tables' cache follows other nodes' records (what a re-seed writes back).
        if (envelope.event.t === "record") this.tables.applyRemote(envelope.event.change);
        return hub.applyRemote(envelope);
      },
      onGap: (gap) => {
        // Redis came back with less than this node saw: ids go on above all of it.
        this.#raiseFloor();
        return hub.logGap?.(gap);
      },
      onSeen: (id) => this.history.seen(id),
      ceiling: () => this.history.highestSeen,
      onError: (error) => this.#onError(`a log entry failed: ${(error as Error).message}`),
    });
  }

  /**
   * Stops: the log reader, then the bus (leaving the cluster, unless `leave: false`, which
   * stops as a killed node would), the history and the connection. Leaving takes at most
   * `closeMs` ({@linkcode CLUSTER_CLOSE_MS}): with Redis stalled or away the node stops anyway
   * (the others declare it lost when its lease runs out).
   */
  async close(options: { leave?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const leaving = (async () => {
      await this.#reader?.close();
      await this.bus.close(options);
      // A ban saved just before a shutdown is written before the connection goes.
      if (options.leave !== false) await this.tables.settled();
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = await Promise.race([
      leaving.then(() => false, () => false),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), this.#closeMs)),
    ]);
    clearTimeout(timer);
    if (late) {
      this.#onError(
        `leaving the cluster took longer than ${this.#closeMs} ms (Redis at ${this.conn.where} ` +
          "stalled or away): stopping without it",
      );
    }
    this.history.close();
    this.tables.close();
    // Rejects whatever still waits on Redis, so the steps above end at once.
    this.conn.close();
    await leaving.catch(() => {});
  }

  /**
   * A new epoch (Redis came back empty): first the id counter goes up to what this node saw,
   * so no node hands out an id this node's clients already hold, then the tables are re-seeded.
   */
  #newEpoch(): void {
    this.#raiseFloor();
    this.#reseed();
  }

  #raiseFloor(): void {
    this.history.raiseFloor().catch((error) =>
      this.#onError(`raising the id floor failed: ${(error as Error).message}`)
    );
  }

  #reseed(): void {
    this.tables.reseed().catch((error) =>
      this.#onError(`re-seeding the record tables failed: ${(error as Error).message}`)
    );
  }
}
