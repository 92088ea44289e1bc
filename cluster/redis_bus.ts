/**
 * {@linkcode ClusterBus} over Redis: events appended to the shared log in the order this node
 * published them (one writer per node, queued while Redis is away), nick leases held by Lua
 * scripts and renewed with the node's own lease, lost nodes found and announced once, and
 * direct messages sent over pub/sub to the node holding the recipient (never stored).
 *
 * The node's lease (`sc:node:<id>`, {@linkcode NODE_LEASE_MS}) is renewed every
 * {@linkcode LEASE_REFRESH_MS} together with every nick lease the node holds. Every
 * {@linkcode NODE_CHECK_MS} each node looks for members whose lease ran out; the first to find
 * one removes it and writes `node_lost` to the log under the lost node's id (its nicks are
 * freed at once). A node that finds its own lease gone (it was declared lost while stalled, or
 * Redis came back empty) takes it again, re-takes its nicks, and tells its owner
 * ({@linkcode BusHandlers.onRejoin}) which nicks another node holds now and that its users
 * must be announced again.
 *
 * @module
 */

import type { ClusterBus, ClusterEvent } from "../core/cluster.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { type Arg, RedisConn } from "./redis_conn.ts";
import { EpochWatch } from "./epoch.ts";
import {
  BASE_KEY,
  directChannel,
  EPOCH_KEY,
  heldKey,
  ID_KEY,
  KEY_PREFIX,
  LOG_KEY,
  LOG_SEQ_KEY,
  nickLeaseKey,
  nodeKey,
  NODES_KEY,
  rateKey,
} from "./keys.ts";
import { CLAIM, FIND_LOST, HEARTBEAT, JOIN, LEAVE, PUBLISH, RATE, RELEASE } from "./bus_scripts.ts";
import {
  LEASE_REFRESH_MS,
  LOG_MAXLEN,
  LOGIN_RATE_WINDOW_MS,
  NODE_CHECK_MS,
  NODE_LEASE_MS,
  PUBLISH_QUEUE_MAX,
  REDIS_CONNECT_TIMEOUT_MS,
  REDIS_RECONNECT_MAX_MS,
  CLUSTER_CLOSE_MS,
} from "../config/cluster_limits.ts";
import { StoreError } from "../store/store_error.ts";

/** Events one publish script writes at most. */
const PUBLISH_BATCH = 64;

/** What the bus tells its owner (the hub's wiring). Each may be set later with `attach`. */
export interface BusHandlers {
  /** A direct message for the local user whose folded nick is `key`. */
  onDirect?: (key: string, frame: ServerFrame) => void;
  /**
   * This node's lease was found gone and has been taken again: announce every local user again
   * (`hello`); `taken` are the folded nicks another node holds now (their users must go).
   */
  onRejoin?: (taken: string[]) => void;
  /** Events were dropped while Redis was away (the queue was full): announce users again. */
  onResync?: () => void;
  /** Other nodes this node declared lost (each already announced in the log). */
  onLost?: (nodes: string[]) => void;
  /**
   * Another process took this node id's lease (a twin started with the same `--node-id`
   * while this one was stalled): this run no longer serves cluster writes. `message` says so,
   * for an error-level log. @default nothing
   */
  onUsurped?: (message: string) => void;
  /** Something went wrong that no caller is waiting for (logged, never thrown). */
  onError?: (message: string) => void;
}

/** Options for {@linkcode RedisBus.open}. */
export interface RedisBusOptions extends BusHandlers {
  /** This node's id (`--node-id`). */
  node: string;
  /** The epoch seen in Redis, shared with the history. @default a new one */
  epoch?: EpochWatch;
  /** The highest id this node has seen (the heartbeat may start an epoch above it). */
  floor?: () => number;
  /** How long a lease lives without renewal (ms). @default NODE_LEASE_MS */
  leaseMs?: number;
  /** How often leases are renewed (ms). @default LEASE_REFRESH_MS */
  refreshMs?: number;
  /** How often other nodes' leases are checked (ms). @default NODE_CHECK_MS */
  checkMs?: number;
  /** Clock for the login-rate windows. @default Date.now */
  now?: () => number;
}

/** The Redis bus; see the module documentation. */
export class RedisBus implements ClusterBus {
  /** {@inheritDoc ClusterBus.node} */
  readonly node: string;
  /** The epoch as this node last saw it. */
  readonly epoch: EpochWatch;
  readonly #conn: RedisConn;
  readonly #sub: RedisConn;
  readonly #handlers: BusHandlers;
  readonly #leaseMs: number;
  readonly #floor: () => number;
  readonly #now: () => number;
  /** Folded nicks this node holds. */
  readonly #held = new Set<string>();
  /** Event JSON waiting for the log, oldest first. */
  #queue: string[] = [];
  #pumping: Promise<void> | null = null;
  #dropped = false;
  /** Counts queue drops, so a write in flight across one takes nothing off the new queue. */
  #generation = 0;
  /** Events published so far, and how many of them are written (or dropped). */
  #published = 0;
  #writtenCount = 0;
  /** Who waits for events up to a count to be written (see {@linkcode RedisBus.written}). */
  #writtenWaiters: { target: number; resolve: () => void }[] = [];
  #timers: ReturnType<typeof setInterval>[] = [];
  /** This run's instance token, held as the node lease's value (two runs of one id differ). */
  #token = "";
  /** Why this run stopped serving cluster writes (another run took its node id), or null. */
  #usurped: string | null = null;
  /** Nicks to give up once the events published before (their bye/nick) are written. */
  #releases: { target: number; key: string }[] = [];
  #closed = false;
  #beating = false;
  /** No node is declared lost before this (`performance.now()`): a grace after an outage. */
  #graceUntil = 0;
  #stopReady: () => void = () => {};
  /** Ends the pump's wait for Redis (when the bus closes). */
  #wakePause: (() => void) | null = null;
  #checking = false;

  private constructor(conn: RedisConn, sub: RedisConn, options: RedisBusOptions) {
    this.node = options.node;
    this.#conn = conn;
    this.#sub = sub;
    this.#handlers = { ...options };
    this.epoch = options.epoch ?? new EpochWatch();
    this.#leaseMs = options.leaseMs ?? NODE_LEASE_MS;
    this.#floor = options.floor ?? (() => 0);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Joins the cluster as `options.node`: takes the node's lease (a previous run under the same
   * id that was killed is declared lost first), subscribes to its direct messages and starts
   * the lease and node-check timers. Rejects with a StoreError when Redis cannot be reached.
   */
  static async open(conn: RedisConn, options: RedisBusOptions): Promise<RedisBus> {
    const leaseMs = options.leaseMs ?? NODE_LEASE_MS;
    const refresh = options.refreshMs ?? LEASE_REFRESH_MS;
    const token = crypto.randomUUID();
    await join(conn, options.node, leaseMs, refresh, token);
    const sub = await conn.duplicate(`sockchat:${options.node}:dm`);
    const bus = new RedisBus(conn, sub, options);
    bus.#token = token;
    try {
      await sub.subscribe(directChannel(options.node), (message) => bus.#received(message));
      await bus.heartbeat();
    } catch (error) {
      sub.close();
      throw error;
    }
    const check = options.checkMs ?? NODE_CHECK_MS;
    bus.#timers.push(setInterval(() => void bus.heartbeat(), refresh));
    bus.#timers.push(setInterval(() => void bus.findLost(), check));
    // Back from an outage every lease may have run out meanwhile: renew ours at once, and
    // declare nobody lost until the others have had time to reconnect and renew theirs (else
    // every node would see every other one lost, and all users would leave and come back).
    // Counted from when this node's connection is back: another node's reconnect may take a
    // whole connect attempt that hangs, plus the backoff, plus a beat.
    bus.#stopReady = conn.onReady(() => {
      bus.#graceUntil = performance.now() + refresh + REDIS_CONNECT_TIMEOUT_MS +
        REDIS_RECONNECT_MAX_MS;
      void bus.heartbeat();
    });
    return bus;
  }

  /** Sets (or replaces) what the bus tells its owner. */
  attach(handlers: BusHandlers): void {
    Object.assign(this.#handlers, handlers);
  }

  /** Folded nicks this node holds. */
  get held(): ReadonlySet<string> {
    return this.#held;
  }

  /**
   * Why this run stopped serving cluster writes, or null: another process runs under the same
   * node id and holds the node's lease (see {@linkcode BusHandlers.onUsurped}).
   */
  get usurped(): string | null {
    return this.#usurped;
  }

  /** Events waiting for the log (Redis away, or a write in flight). */
  get queued(): number {
    return this.#queue.length;
  }

  /** {@inheritDoc ClusterBus.publish} */
  publish(event: ClusterEvent): void {
    if (this.#closed || this.#usurped !== null) return;
    if (this.#queue.length >= PUBLISH_QUEUE_MAX) {
      // A long outage: drop what waits and announce everyone again once Redis is back.
      this.#queue = [];
      this.#dropped = true;
      this.#generation++;
      this.#writtenCount = this.#published;
    }
    this.#queue.push(JSON.stringify(event));
    this.#published++;
    this.#pumping ??= this.#pump();
  }

  /**
   * Null when every event published so far is in the log; else a promise that resolves once
   * they are, or once a write of them failed (Redis away: whatever waits fails fast on its
   * own). The history awaits it before an append, so the log keeps this node's order across
   * events and messages (a join before the first words said in the room).
   */
  written(): Promise<void> | null {
    if (this.#writtenCount >= this.#published || this.#closed) return null;
    const target = this.#published;
    return new Promise((resolve) => this.#writtenWaiters.push({ target, resolve }));
  }

  /** Resolves once every event published so far is in the log (or the bus closed). */
  async flushed(): Promise<void> {
    while (this.#pumping !== null) await this.#pumping;
  }

  /** {@inheritDoc ClusterBus.claimNick} */
  async claimNick(key: string): Promise<boolean> {
    if (this.#usurped !== null) throw new StoreError(this.#usurped);
    const took = await this.#conn.run(CLAIM, [nickLeaseKey(key), heldKey(this.node)], [
      this.node,
      this.#leaseMs,
    ]);
    if (took === 1) {
      this.#held.add(key);
      // Taken again before an earlier release ran: that release must not free it.
      this.#releases = this.#releases.filter((release) => release.key !== key);
    }
    return took === 1;
  }

  /**
   * {@inheritDoc ClusterBus.releaseNick}
   *
   * Given up in Redis only once every event published before (the `bye` or `nick` that says
   * the nick is left) is in the log: else another node could take the nick and announce its
   * `hello` before that event, and a third node would drop the live user it mirrors.
   */
  releaseNick(key: string): void {
    this.#held.delete(key);
    if (this.#usurped !== null) return;
    this.#releases.push({ target: this.#published, key });
    this.#runReleases();
  }

  /** Gives up the nicks whose preceding events are written, in order. */
  #runReleases(): void {
    const through = this.#writtenCount;
    while (this.#releases.length > 0 && this.#releases[0].target <= through) {
      const { key } = this.#releases.shift() as { target: number; key: string };
      this.#conn.run(RELEASE, [nickLeaseKey(key), heldKey(this.node)], [this.node]).catch(
        (error) => this.#error(`could not release the nick ${key}: ${(error as Error).message}`),
      );
    }
  }

  /** {@inheritDoc ClusterBus.direct} */
  async direct(node: string, key: string, frame: ServerFrame): Promise<boolean> {
    try {
      const receivers = await this.#conn.command([
        "PUBLISH",
        directChannel(node),
        JSON.stringify({ key, frame }),
      ]);
      return typeof receivers === "number" && receivers > 0;
    } catch {
      return false;
    }
  }

  /**
   * Counts a login from `address` cluster-wide and returns the logins counted from it in the
   * current window ({@linkcode LOGIN_RATE_WINDOW_MS}). Rejects when Redis cannot be reached.
   */
  async loginRate(address: string): Promise<number> {
    const window = Math.floor(this.#now() / LOGIN_RATE_WINDOW_MS);
    const count = await this.#conn.run(RATE, [rateKey(address, window)], [
      LOGIN_RATE_WINDOW_MS * 2,
    ]);
    return Number(count);
  }

  /**
   * Renews the node's lease and its nicks' (run by the timer; exposed for tests). Never
   * throws: a failure is tried again at the next beat.
   */
  async heartbeat(): Promise<void> {
    if (this.#closed || this.#beating || this.#usurped !== null) return;
    this.#beating = true;
    try {
      const nicks = [...this.#held].map(nickLeaseKey);
      const keys = [ID_KEY, EPOCH_KEY, BASE_KEY, nodeKey(this.node), NODES_KEY];
      keys.push(heldKey(this.node), ...nicks);
      const args: Arg[] = [
        this.node,
        this.#leaseMs,
        this.#floor(),
        crypto.randomUUID(),
        this.#token,
      ];
      const reply = await this.#conn.run(HEARTBEAT, keys, args);
      if (!Array.isArray(reply)) return;
      const [epoch, had, ...taken] = reply.map(String);
      this.epoch.observe(epoch);
      if (had === "usurped") {
        this.#usurp();
        return;
      }
      const prefix = nickLeaseKey("");
      const lost = taken.map((key) => key.slice(prefix.length));
      for (const key of lost) this.#held.delete(key);
      if (had !== "1") this.#handlers.onRejoin?.(lost);
    } catch (error) {
      this.#error(`could not renew the node's lease: ${(error as Error).message}`);
    } finally {
      this.#beating = false;
    }
  }

  /**
   * Looks for lost nodes once (run by the timer; exposed for tests), except during the grace
   * after this node's connection came back. Never throws.
   */
  async findLost(): Promise<string[]> {
    if (this.#closed || this.#checking || performance.now() < this.#graceUntil) return [];
    if (this.#usurped !== null) return [];
    this.#checking = true;
    try {
      const reply = await this.#conn.run(FIND_LOST, [NODES_KEY, LOG_KEY, LOG_SEQ_KEY], [
        this.node,
        LOG_MAXLEN,
        KEY_PREFIX,
      ]);
      const lost = Array.isArray(reply) ? reply.map(String) : [];
      if (lost.length > 0) this.#handlers.onLost?.(lost);
      return lost;
    } catch {
      // Redis away: the connection reports it; the next check tries again.
      return [];
    } finally {
      this.#checking = false;
    }
  }

  /**
   * Leaves the cluster: stops the timers, writes what is queued (if Redis is there), gives up
   * the lease and the nicks (announcing `node_lost`, so no other node keeps this node's users
   * if their byes were lost), and closes the direct-message connection. `leave: false` stops
   * without a word, as a killed node would (for tests). The main connection stays open.
   */
  async close(options: { leave?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#stopReady();
    if (options.leave !== false && this.#conn.ready && this.#usurped === null) {
      // Bounded: with Redis stalled or away the pump would wait for it for ever, and a
      // shutdown must end (the node is then declared lost when its lease runs out).
      const budget = CLUSTER_CLOSE_MS / 2;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.flushed(),
        new Promise<void>((resolve) => timer = setTimeout(resolve, budget)),
      ]);
      clearTimeout(timer);
      await this.#conn.run(LEAVE, [NODES_KEY, LOG_KEY, LOG_SEQ_KEY], [
        this.node,
        LOG_MAXLEN,
        KEY_PREFIX,
      ], budget).catch(() => {});
    }
    this.#closed = true;
    this.#wakePause?.();
    this.#sub.close();
    await this.#pumping;
  }

  /** Writes queued events in order, in batches, waiting out Redis outages. */
  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue.slice(0, PUBLISH_BATCH);
        const generation = this.#generation;
        try {
          await this.#conn.run(PUBLISH, [LOG_KEY, LOG_SEQ_KEY], [this.node, LOG_MAXLEN, ...batch]);
        } catch {
          // Redis away: keep the events, in order, and try again once it is back. Appends
          // waiting for them go on (and fail the same way) rather than hang.
          this.#wakeWriters(true);
          await this.#pause();
          continue;
        }
        // The queue may have been emptied meanwhile (dropped): take off only what was sent.
        if (generation === this.#generation) {
          this.#queue.splice(0, batch.length);
          this.#writtenCount += batch.length;
        }
        this.#wakeWriters(false);
        this.#runReleases();
        if (this.#dropped) {
          this.#dropped = false;
          this.#handlers.onResync?.();
        }
      }
    } finally {
      this.#pumping = null;
      this.#wakeWriters(this.#closed);
    }
  }

  /** Resolves the waits that are satisfied (all of them when `all`). */
  #wakeWriters(all: boolean): void {
    if (this.#writtenWaiters.length === 0) return;
    const waiting = this.#writtenWaiters;
    this.#writtenWaiters = [];
    for (const waiter of waiting) {
      if (all || waiter.target <= this.#writtenCount) waiter.resolve();
      else this.#writtenWaiters.push(waiter);
    }
  }

  /** Waits for the connection to come back, at most about a reconnect interval. */
  #pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), REDIS_RECONNECT_MAX_MS);
      const stop = this.#conn.onReady(() => done());
      const done = () => {
        clearTimeout(timer);
        stop();
        this.#wakePause = null;
        resolve();
      };
      this.#wakePause = done;
    });
  }

  /**
   * Another process runs under this node id and holds the lease: this run stops serving
   * cluster writes (no events, nick claims or releases, lease renewals; the history refuses
   * appends through {@linkcode RedisBus.usurped}) rather than fight over the lease, so the
   * cluster sees one run per id. Said once, at error level, by the owner.
   */
  #usurp(): void {
    if (this.#usurped !== null) return;
    this.#usurped = `node id ${this.node} is in use by another running node: this one no ` +
      "longer serves cluster writes (give each node its own --node-id, then restart it)";
    this.#queue = [];
    this.#releases = [];
    this.#wakeWriters(true);
    this.#handlers.onUsurped?.(this.#usurped);
  }

  #received(message: string): void {
    try {
      const { key, frame } = JSON.parse(message) as { key: string; frame: ServerFrame };
      this.#handlers.onDirect?.(key, frame);
    } catch (error) {
      this.#error(`a direct message could not be read: ${(error as Error).message}`);
    }
  }

  #error(message: string): void {
    this.#handlers.onError?.(message);
  }
}

/**
 * Takes the node's lease for a new run (`token`). A lease of another run that is still live is
 * either a twin (another process started with the same `--node-id`) or a run killed less than
 * a lease ago: the node waits one renewal (`refreshMs` + 1 s) and looks again. Renewed
 * meanwhile: a twin, and this start fails with a StoreError saying the id is in use. Not
 * renewed: the killed run is declared lost (its users leave everywhere) and the lease taken.
 */
async function join(
  conn: RedisConn,
  node: string,
  leaseMs: number,
  refreshMs: number,
  token: string,
): Promise<void> {
  const keys = [NODES_KEY, LOG_KEY, LOG_SEQ_KEY, nodeKey(node)];
  const args = (force: boolean): Arg[] => [
    node,
    LOG_MAXLEN,
    KEY_PREFIX,
    leaseMs,
    token,
    force ? 1 : 0,
  ];
  const first = await conn.run(JOIN, keys, args(false));
  if (!Array.isArray(first)) return;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, refreshMs + TWIN_WAIT_EXTRA_MS));
  const again = await conn.run(JOIN, keys, args(false));
  if (!Array.isArray(again)) return;
  const waited = performance.now() - started;
  // Renewed meanwhile: more time left than the first look's minus the wait (some slack).
  if (Number(again[1]) > Number(first[1]) - waited + TWIN_WAIT_EXTRA_MS / 2) {
    throw new StoreError(
      `node id ${node} is in use by a running node (give each node its own --node-id)`,
    );
  }
  await conn.run(JOIN, keys, args(true));
}

/** Past one renewal interval, how much longer a starting node waits to tell a twin (ms). */
const TWIN_WAIT_EXTRA_MS = 1_000;
