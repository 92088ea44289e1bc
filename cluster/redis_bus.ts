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
 * Events are never dropped silently. A node's presence (its users, their rooms, nicks and
 * cards) is repaired by a snapshot ({@linkcode RedisBus.sync}: `sync_begin`, one `hello` per
 * user, `sync_end`), never by hoping no event was lost: when the queue overflows during an
 * outage its presence events are replaced by a snapshot owed (and no more are queued until it
 * starts); a re-join and an answer to another node's `node_up` send one too. A snapshot is read
 * from the roster {@linkcode SYNC_CHUNK} users at a time, only when every event published before
 * is on its way, and written in the same round trip, so it costs no queue space and little
 * memory, and keeps the node's order. One that an outage interrupts goes on once Redis is back;
 * a new one restarts it.
 *
 * @module
 */

import type { ClusterBus, ClusterEvent, Roster, UserCard } from "../core/cluster.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { AmbiguousStoreError, type Arg, RedisConn } from "./redis_conn.ts";
import { EpochWatch } from "./epoch.ts";
import { readDirect } from "./validate.ts";
import { NodeGone } from "./node_gone.ts";
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
} from "./keys.ts";
import { CLAIM, FIND_LOST, HEARTBEAT, JOIN, LEAVE, PUBLISH, RELEASE } from "./bus_scripts.ts";
import {
  CLUSTER_CLOSE_MS,
  LEASE_REFRESH_MS,
  LOG_MAXLEN,
  NODE_CHECK_MS,
  NODE_LEASE_MS,
  PUBLISH_QUEUE_MAX,
  REDIS_CONNECT_TIMEOUT_MS,
  REDIS_RECONNECT_MAX_MS,
  SUBSCRIBER_DOWN_BEAT_MS,
} from "../config/cluster_limits.ts";
import { StoreError } from "../store/store_error.ts";

/** Events one publish script writes at most. */
const PUBLISH_BATCH = 64;

/** Snapshot hellos read from the roster and written per round trip (after the queued events). */
export const SYNC_CHUNK = 200;

/**
 * True for an event a snapshot of this node's users makes good: about one of its own users'
 * presence (a kick is a room operator's act about anyone's user, so it is not one).
 */
function isPresence(event: ClusterEvent): boolean {
  switch (event.t) {
    case "hello":
    case "bye":
    case "join":
    case "nick":
    case "user":
      return true;
    case "part":
      return event.by === undefined;
    default:
      return false;
  }
}

/** An event waiting for the log. */
interface Queued {
  /** Its place among every event published (from 1). */
  index: number;
  /** The event's JSON. */
  json: string;
  /** A presence event (see isPresence). */
  presence: boolean;
}

/** The snapshot this node owes or is writing. */
interface Sending {
  token: string;
  /** Where the roster is read from; null until `sync_begin` is written. */
  cursor: Iterator<UserCard> | null;
  /** Hellos in it so far. */
  count: number;
}

/** What the bus tells its owner (the hub's wiring). Each may be set later with `attach`. */
export interface BusHandlers {
  /** A direct message for the local user whose folded nick is `key`. */
  onDirect?: (key: string, frame: ServerFrame) => void;
  /**
   * This node's lease was found gone and has been taken again: announce every local user again
   * (`hello`); `taken` are the folded nicks another node holds now (their users must go).
   */
  onRejoin?: (taken: string[]) => void;
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
  /** Folded nicks this node holds. */
  readonly #held = new Set<string>();
  /** Events waiting for the log, oldest first. */
  #queue: Queued[] = [];
  #pumping: Promise<void> | null = null;
  /** Events published so far (each written, folded into a snapshot, or reported dropped). */
  #published = 0;
  /** The first event of the write in flight (null: none, or it holds snapshot lines only). */
  #inflight: number | null = null;
  /** Events that are not presence dropped at a full queue, not yet reported. */
  #lost = 0;
  #roster: Roster = () => [];
  #sync: Sending | null = null;
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
  /** True from the start of close(): no node is declared lost while this one leaves. */
  #closing = false;
  #beating = false;
  /** No node is declared lost before this (`performance.now()`): a grace after an outage. */
  #graceUntil = 0;
  #stopReady: () => void = () => {};
  /** Ends the pump's wait for Redis (when the bus closes). */
  #wakePause: (() => void) | null = null;
  #checking = false;
  /** Checks whether a node holding a nick this node wants is dead (cluster/node_gone.ts). */
  readonly #gone: NodeGone;

  private constructor(conn: RedisConn, sub: RedisConn, options: RedisBusOptions) {
    this.node = options.node;
    this.#conn = conn;
    this.#sub = sub;
    this.#handlers = { ...options };
    this.epoch = options.epoch ?? new EpochWatch();
    this.#leaseMs = options.leaseMs ?? NODE_LEASE_MS;
    this.#floor = options.floor ?? (() => 0);
    this.#gone = new NodeGone(conn, {
      node: this.node,
      paused: () => this.#closing || this.#usurped !== null || performance.now() < this.#graceUntil,
      onLost: (node) => this.#handlers.onLost?.([node]),
    });
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
    // While this node's subscriber is away its channel looks like a dead node's: renewing the
    // lease often keeps other nodes from declaring it lost (cluster/node_gone.ts).
    bus.#timers.push(setInterval(() => {
      if (!sub.ready && conn.ready) void bus.heartbeat();
    }, SUBSCRIBER_DOWN_BEAT_MS));
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

  /** True while a snapshot is owed and not started: presence events need not be queued. */
  get syncing(): boolean {
    return this.#sync !== null;
  }

  /**
   * {@inheritDoc ClusterBus.publish}
   *
   * At {@linkcode PUBLISH_QUEUE_MAX} queued events (a long outage), the presence events are
   * taken out and a snapshot is owed instead; presence events published before it starts are
   * not queued (it will hold them). Other events (topics, room modes, records, kills) past
   * the cap are dropped and reported through `onError`.
   */
  publish(event: ClusterEvent): void {
    if (this.#closed || this.#usurped !== null) return;
    const index = ++this.#published;
    const presence = isPresence(event);
    if (!presence || this.#sync?.cursor !== null) {
      if (this.#queue.length >= PUBLISH_QUEUE_MAX) this.#overflow(presence);
    }
    if (presence && this.#sync !== null && this.#sync.cursor === null) {
      this.#wakeWriters(false);
      return;
    }
    if (this.#queue.length >= PUBLISH_QUEUE_MAX) {
      this.#lost++;
      this.#wakeWriters(false);
      return;
    }
    this.#queue.push({ index, json: JSON.stringify(event), presence });
    this.#pumping ??= this.#pump();
  }

  /** {@inheritDoc ClusterBus.setRoster} */
  setRoster(roster: Roster): void {
    this.#roster = roster;
  }

  /** {@inheritDoc ClusterBus.sync} */
  sync(): void {
    if (this.#closed || this.#usurped !== null) return;
    this.#sync = { token: crypto.randomUUID(), cursor: null, count: 0 };
    this.#pumping ??= this.#pump();
  }

  /**
   * Null when every event published so far is in the log; else a promise that resolves once
   * they are, or once a write of them failed (Redis away: whatever waits fails fast on its
   * own). The history awaits it before an append, so the log keeps this node's order across
   * events and messages (a join before the first words said in the room).
   */
  written(): Promise<void> | null {
    if (this.#writtenThrough() >= this.#published || this.#closed) return null;
    const target = this.#published;
    return new Promise((resolve) => this.#writtenWaiters.push({ target, resolve }));
  }

  /** Resolves once every event published so far is in the log (or the bus closed). */
  async flushed(): Promise<void> {
    while (this.#pumping !== null) await this.#pumping;
  }

  /**
   * {@inheritDoc ClusterBus.claimNick}
   *
   * When another node holds it, that node is checked for being dead (cluster/node_gone.ts):
   * declared lost at once if it is, and the nick claimed again, so a killed node's users get
   * their nicks back on another node within a reconnect.
   */
  async claimNick(key: string, freed?: (node: string) => void): Promise<boolean> {
    if (this.#usurped !== null) throw new StoreError(this.#usurped);
    if (await this.#claim(key)) return true;
    const holder = await this.#conn.command(["GET", nickLeaseKey(key)]);
    if (holder !== null && (typeof holder !== "string" || holder === this.node)) return false;
    // Freed since (null), or its holder found dead: one more try.
    if (holder !== null && !(await this.#gone.check(holder))) return false;
    const took = await this.#claim(key);
    // Only a holder found dead here is news the log may not have brought yet: one that gave
    // the nick up (a rename, a logout) wrote that to the log first, and it will arrive.
    if (took && holder !== null) freed?.(holder);
    return took;
  }

  /** One claim script: true when this node holds `key` now. */
  async #claim(key: string): Promise<boolean> {
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
    const through = this.#writtenThrough();
    while (this.#releases.length > 0 && this.#releases[0].target <= through) {
      const { key } = this.#releases.shift() as { target: number; key: string };
      this.#conn.run(RELEASE, [nickLeaseKey(key), heldKey(this.node)], [this.node]).catch(
        (error) => {
          this.#error(`could not release the nick ${key}: ${(error as Error).message}`);
          // Redis away (its bye folded into a snapshot, say): tried again once it is back,
          // else the nick stays taken for a lease (a claim of it meanwhile cancels this).
          if (!this.#held.has(key)) this.#releases.unshift({ target: 0, key });
        },
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
    } catch (error) {
      // A PUBLISH whose answer never came may have reached the node: the sender is told it
      // could not be confirmed (core/direct.ts), not that it was not delivered.
      if (error instanceof AmbiguousStoreError) throw error;
      return false;
    }
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
      // A nick lost while the node's lease held is a re-join too: its user must go.
      if (had !== "1" || lost.length > 0) this.#handlers.onRejoin?.(lost);
      // Redis answers: whatever waits to be written (a snapshot too) goes on now.
      if (this.#queue.length > 0 || this.#sync !== null) this.#pumping ??= this.#pump();
      this.#runReleases();
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
    this.#closing = true;
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
    this.#gone.close();
    this.#wakePause?.();
    // Awaited: a subscriber still waiting to reconnect leaves node-redis's timer running.
    const subClosed = this.#sub.close();
    await this.#pumping;
    await subClosed;
  }

  /**
   * The queue is full: its presence events are taken out and a snapshot is owed instead (one
   * under way starts over, since what it wrote may be older than what was taken out).
   * `presence`: the event that found the queue full is a presence event (owed a snapshot even
   * when the queue holds none).
   */
  #overflow(presence: boolean): void {
    const before = this.#queue.length;
    this.#queue = this.#queue.filter((queued) => !queued.presence);
    const folded = before - this.#queue.length;
    // A presence event arriving at a queue full of other events is owed a snapshot all the
    // same: dropped, it would leave the other nodes' mirrors of this node wrong.
    if (folded === 0 && !presence) return;
    this.#sync = { token: crypto.randomUUID(), cursor: null, count: 0 };
    this.#error(
      `${folded + (presence ? 1 : 0)} presence events waited for Redis past the cap of ` +
        `${PUBLISH_QUEUE_MAX}: a snapshot of this node's users will be sent instead`,
    );
    this.#wakeWriters(false);
  }

  /**
   * The next write: up to {@linkcode PUBLISH_BATCH} queued events and, once the queue is
   * empty (every earlier event on its way), the next chunk of the snapshot owed, read from
   * the roster now, so each hello shows its user as of this point of the log.
   */
  #nextRound(): { first: number | null; entries: string[] } | null {
    const events = this.#queue.splice(0, PUBLISH_BATCH);
    const entries = events.map((queued) => queued.json);
    const sync = this.#sync;
    if (this.#queue.length === 0 && sync !== null) {
      const token = sync.token;
      if (sync.cursor === null) {
        sync.cursor = this.#roster()[Symbol.iterator]();
        entries.push(JSON.stringify({ t: "sync_begin", token } satisfies ClusterEvent));
      }
      for (let n = 0; n < SYNC_CHUNK; n++) {
        const next = sync.cursor.next();
        if (next.done === true) {
          const end: ClusterEvent = { t: "sync_end", token, count: sync.count };
          entries.push(JSON.stringify(end));
          this.#sync = null;
          break;
        }
        entries.push(JSON.stringify({ t: "hello", user: next.value, sync: token }));
        sync.count++;
      }
    }
    if (entries.length === 0) return null;
    return { first: events[0]?.index ?? null, entries };
  }

  /** Writes queued events and snapshots in order, in rounds, waiting out Redis outages. */
  async #pump(): Promise<void> {
    try {
      let round = this.#nextRound();
      while (round !== null && !this.#closed) {
        this.#inflight = round.first;
        // Releases that failed while Redis was away go first, on the same connection: a
        // snapshot that says their users left never reaches anyone before the nicks are free.
        this.#runReleases();
        try {
          await this.#conn.run(PUBLISH, [LOG_KEY, LOG_SEQ_KEY], [
            this.node,
            LOG_MAXLEN,
            ...round.entries,
          ]);
        } catch {
          // Redis away: keep the round as it is (a snapshot chunk shows its users as of its
          // place in the log) and try it again once Redis is back. Appends waiting for it go
          // on (and fail the same way) rather than hang.
          this.#wakeWriters(true);
          await this.#pause();
          continue;
        }
        this.#inflight = null;
        this.#wakeWriters(false);
        this.#runReleases();
        if (this.#lost > 0) {
          this.#error(
            `${this.#lost} events (topics, room modes, records, kills) were dropped: more than ` +
              `${PUBLISH_QUEUE_MAX} waited for Redis`,
          );
          this.#lost = 0;
        }
        round = this.#nextRound();
      }
    } finally {
      this.#pumping = null;
      this.#inflight = null;
      this.#wakeWriters(this.#closed);
    }
  }

  /** The index of the newest event before which every event is written (or not owed). */
  #writtenThrough(): number {
    if (this.#inflight !== null) return this.#inflight - 1;
    if (this.#queue.length > 0) return this.#queue[0].index - 1;
    return this.#published;
  }

  /** Resolves the waits that are satisfied (all of them when `all`). */
  #wakeWriters(all: boolean): void {
    if (this.#writtenWaiters.length === 0) return;
    const waiting = this.#writtenWaiters;
    this.#writtenWaiters = [];
    const through = this.#writtenThrough();
    for (const waiter of waiting) {
      if (all || waiter.target <= through) waiter.resolve();
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
      // Checked before use (validate.ts): a bad payload is reported once and dropped.
      const { key, frame } = readDirect(message);
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
