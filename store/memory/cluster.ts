/**
 * A cluster in one process, for the core's tests: several hubs linked as `serve --redis` links
 * them, with no Redis. A {@linkcode MemoryCluster} holds what Redis would (the id counter, the
 * newest ts, every room's messages, the nick leases and the one totally ordered log); each
 * {@linkcode MemoryNode} gives its hub a shared-id store ({@linkcode MemoryClusterStore}) and a
 * bus ({@linkcode MemoryBus}). Log entries reach every live node in log order, on a microtask
 * (never inside the call that appended them), as the engine's log reader would bring them:
 * committed batches to `hub.committed` (the author's node too), other nodes' events to
 * `hub.applyRemote`. `await cluster.settle()` waits until every node has taken everything.
 *
 * @module
 */

import type { Awaitable } from "../../core/awaitable.ts";
import type {
  ClusterBus,
  ClusterEnvelope,
  ClusterEvent,
  CommittedBatch,
  LiveBatch,
  LiveMessage,
  Roster,
} from "../../core/cluster.ts";
import type { HistorySlice, HistoryStore, StoredMessage } from "../../core/ports.ts";
import type { ServerFrame } from "../../protocol/frames.ts";
import { roomKey } from "../../core/room.ts";
import { StoreError } from "../store_error.ts";
import { MemoryAccounts } from "./accounts.ts";
import { MemoryClaims } from "./claims.ts";
import { MemoryHistory, MemoryModeration } from "./history.ts";

/** What a node's hub must take from the log and the bus (the `Hub` methods of the same names). */
export interface ClusterHub {
  /** A committed batch, any node's (its own too), in log order. */
  committed(batch: CommittedBatch): Awaitable<void>;
  /** Another node's event, in log order. */
  applyRemote(envelope: ClusterEnvelope): Awaitable<void>;
  /** A direct message another node routed here; false if no such local user. */
  applyDirect(key: string, frame: ServerFrame): Awaitable<boolean>;
}

/** One entry of the shared log: a committed batch (`m`) or an event (`e`), and who wrote it. */
export type LogEntry =
  & {
    /** Position in the log, from 1. */
    seq: number;
    /** The node that wrote it (for `node_lost`, the node that was lost). */
    node: string;
  }
  & ({ kind: "m"; batch: CommittedBatch } | { kind: "e"; event: ClusterEvent });

/** Options for a {@linkcode MemoryCluster}. */
export interface MemoryClusterOptions {
  /** Messages each node's copy of a room keeps. @default Infinity */
  retention?: number;
  /**
   * Appends and nick claims answer at once, as an in-process engine would; otherwise with a
   * promise, as Redis does (a round trip). Deliveries come on a microtask either way.
   * @default false
   */
  sync?: boolean;
}

/** Settles that many rounds at most before {@linkcode MemoryCluster.settle} gives up. */
const MAX_SETTLE_ROUNDS = 1000;

/** Hellos a snapshot writes per step (other work runs between steps, as between round trips). */
export const MEMORY_SYNC_CHUNK = 64;

/**
 * The shared state of an in-process cluster, and the pump that delivers its log.
 *
 * @example
 * ```ts
 * import { MemoryCluster } from "./cluster.ts";
 * const cluster = new MemoryCluster();
 * const a = cluster.node("a");
 * const b = cluster.node("b");
 * // new Hub({ store: a.store, cluster: a.bus, bans: new BanList(a.store.moderation), ... })
 * // a.attach(hubA); b.attach(hubB);
 * await cluster.settle(); // every node has taken every log entry
 * ```
 */
export class MemoryCluster {
  readonly #retention: number;
  readonly #sync: boolean;
  readonly #nodes = new Map<string, MemoryNode>();
  readonly #log: LogEntry[] = [];
  /** Every committed message per folded room name, oldest first (the rooms' streams). */
  readonly #rooms = new Map<string, StoredMessage[]>();
  readonly #topics = new Map<string, string>();
  /** Folded nick -> the node holding its lease. */
  readonly #nicks = new Map<string, string>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #errors: unknown[] = [];
  #nextId = 1;
  #lastTs = 0;
  #fault: string | null = null;
  #scheduled = false;

  /** An empty cluster with no nodes. */
  constructor(options: MemoryClusterOptions = {}) {
    this.#retention = options.retention ?? Infinity;
    this.#sync = options.sync ?? false;
  }

  /**
   * Adds a node called `id`. It reads the log from its current end (as a node that starts
   * does), and its copy of the rooms starts with every message committed so far.
   */
  node(id: string): MemoryNode {
    if (this.#nodes.has(id)) throw new Error(`node ${id} exists already`);
    const replica = new MemoryHistory({ retention: this.#retention });
    // One append in id order: a store's ids only rise, across rooms too.
    replica.append([...this.#rooms.values()].flat().sort((x, y) => x.id - y.id));
    const node = new MemoryNode(this, id, replica, this.#log.length);
    this.#nodes.set(id, node);
    return node;
  }

  /** The shared log so far (for tests: what was published, in order). */
  get log(): readonly LogEntry[] {
    return this.#log;
  }

  /**
   * Removes the newest log entry before any node took it (call it in the task that wrote it): a
   * batch whose log entry was lost with Redis's data or trimmed before a node read it.
   */
  dropNewest(): LogEntry | undefined {
    return this.#log.pop();
  }

  /** The node holding the lease on the folded nick `key`, if any. */
  nickHolder(key: string): string | undefined {
    return this.#nicks.get(key);
  }

  /** Every message committed to `room`, oldest first (what its stream holds). */
  messages(room: string): StoredMessage[] {
    return (this.#rooms.get(roomKey(room)) ?? []).map((m) => ({ ...m }));
  }

  /**
   * Makes the cluster unreachable, as Redis down would, with `cause` in the errors; null mends
   * it. Appends and nick claims fail, publications and direct messages are lost; a snapshot
   * being written waits, and goes on once mended.
   */
  fail(cause: string | null): void {
    this.#fault = cause;
    if (cause === null) {
      for (const node of this.#nodes.values()) node.bus.resume();
    }
  }

  /**
   * Kills node `id` as kill -9 would: it takes no more deliveries, its appends and claims fail,
   * what it publishes is lost, its nick leases go, and `node_lost` (written under the lost
   * node's id, so every other node applies it) goes to the log.
   */
  kill(id: string): void {
    const node = this.#nodes.get(id);
    if (node === undefined || !node.alive) return;
    node.alive = false;
    for (const [key, holder] of this.#nicks) {
      if (holder === id) this.#nicks.delete(key);
    }
    this.#write({
      seq: this.#log.length + 1,
      kind: "e",
      node: id,
      event: { t: "node_lost", node: id },
    });
  }

  /**
   * Resolves once every live node has taken every log entry and its hub has finished with
   * them, and every direct message is delivered. Rejects with the first error a hub threw.
   */
  async settle(): Promise<void> {
    for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
      // A macrotask: every microtask queued so far (flushes, appends, deliveries) runs first.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (this.#inflight.size > 0) {
        await Promise.allSettled([...this.#inflight]);
        continue;
      }
      if (this.#scheduled || [...this.#nodes.values()].some((n) => n.behind)) continue;
      if (this.#errors.length > 0) throw this.#errors.splice(0)[0];
      return;
    }
    throw new Error(`the memory cluster did not settle in ${MAX_SETTLE_ROUNDS} rounds`);
  }

  /** Throws the cluster's fault or node `node`'s death, as a StoreError. */
  check(node: MemoryNode): void {
    if (!node.alive) throw new StoreError(`node ${node.id} is down`);
    if (this.#fault !== null) throw new StoreError(this.#fault);
  }

  /** True when node `id` is live and reachable. */
  reachable(id: string): boolean {
    return this.#fault === null && this.#nodes.get(id)?.alive === true;
  }

  /** An answer now, or as a promise a round trip later. */
  answer<T>(value: T): Awaitable<T> {
    return this.#sync ? value : Promise.resolve(value);
  }

  /** A failure now, or as a rejected promise a round trip later. */
  refuse(error: unknown): Awaitable<never> {
    if (this.#sync) throw error;
    return Promise.reject(error);
  }

  /** The append script: ids and ts for `messages`, stored and logged in one step. */
  commit(node: MemoryNode, messages: readonly StoredMessage[], live?: LiveBatch): void {
    this.check(node);
    const logged: LiveMessage[] = [];
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      m.id = this.#nextId++;
      m.ts = this.#lastTs = Math.max(m.ts, this.#lastTs);
      const key = roomKey(m.room);
      let room = this.#rooms.get(key);
      if (room === undefined) this.#rooms.set(key, room = []);
      room.push({ ...m });
      const copy: LiveMessage = { ...m };
      const breaks = live?.breaks[i];
      if (breaks !== undefined) copy.breaks = [...breaks];
      logged.push(copy);
    }
    this.#write({
      seq: this.#log.length + 1,
      kind: "m",
      node: node.id,
      batch: { node: node.id, token: live?.token ?? 0, messages: logged },
    });
  }

  /** A cluster-wide id for a message never stored. */
  unstoredId(): number {
    return this.#nextId++;
  }

  /** The next id the counter hands out. */
  get nextId(): number {
    return this.#nextId;
  }

  /** The newest ts handed out. */
  get newestTs(): number {
    return this.#lastTs;
  }

  /** A room's topic. */
  topic(room: string): string {
    return this.#topics.get(roomKey(room)) ?? "";
  }

  /** Saves a room's topic. */
  setTopic(room: string, topic: string): void {
    this.#topics.set(roomKey(room), topic);
  }

  /** Claims the folded nick `key` for `node` (SET NX, or already its own). */
  claim(node: string, key: string): boolean {
    const holder = this.#nicks.get(key);
    if (holder !== undefined && holder !== node) return false;
    this.#nicks.set(key, node);
    return true;
  }

  /** Gives up `key` if `node` holds it. */
  release(node: string, key: string): void {
    if (this.#nicks.get(key) === node) this.#nicks.delete(key);
  }

  /** Appends an event `node` published (lost while the cluster is down). */
  publish(node: MemoryNode, event: ClusterEvent): void {
    if (!node.alive || this.#fault !== null) return;
    this.#write({
      seq: this.#log.length + 1,
      kind: "e",
      node: node.id,
      event: structuredClone(event),
    });
  }

  /** Hands `frame` to node `to`'s hub on a microtask; false if it is unreachable. */
  direct(to: string, key: string, frame: ServerFrame): boolean {
    const target = this.#nodes.get(to);
    if (target === undefined || !this.reachable(to)) return false;
    const copy = structuredClone(frame);
    this.#track(Promise.resolve().then(() => target.hub?.applyDirect(key, copy)));
    return true;
  }

  #write(entry: LogEntry): void {
    this.#log.push(entry);
    this.wake();
  }

  /** Delivers what each live node has not taken yet, in log order. */
  #pump(): void {
    this.#scheduled = false;
    for (const node of this.#nodes.values()) {
      const hub = node.hub;
      if (!node.alive || hub === undefined) continue;
      while (node.cursor < this.#log.length) {
        const entry = this.#log[node.cursor++];
        try {
          let done: Awaitable<void> = undefined;
          if (entry.kind === "m") done = hub.committed(entry.batch);
          else if (entry.node !== node.id) {
            done = hub.applyRemote({ node: entry.node, event: entry.event });
          }
          if (done instanceof Promise) this.#track(done);
        } catch (error) {
          this.#errors.push(error);
        }
      }
    }
  }

  /** Settling waits for `work` too (a snapshot being written). */
  track(work: Promise<unknown>): void {
    this.#track(work);
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch((error) => void this.#errors.push(error));
    this.#inflight.add(tracked);
    tracked.then(() => this.#inflight.delete(tracked));
  }

  /** Schedules a pump (a node attached its hub and has entries waiting). */
  wake(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#pump());
  }

  /** Log entries node `node` has not taken. */
  lag(node: MemoryNode): number {
    return this.#log.length - node.cursor;
  }
}

/** One node of a {@linkcode MemoryCluster}: its store, its bus and, once attached, its hub. */
export class MemoryNode {
  /** The node id. */
  readonly id: string;
  /** The hub's store (pass it as `store`; its tables as `bans`, `accounts`, `claims`). */
  readonly store: MemoryClusterStore;
  /** The hub's bus (pass it as `cluster`). */
  readonly bus: MemoryBus;
  /** False once {@linkcode MemoryCluster.kill} killed it. */
  alive = true;
  /** The next log entry to deliver (an index into the log). */
  cursor: number;
  /** The hub the log is delivered to, once attached. */
  hub: ClusterHub | undefined;
  readonly #cluster: MemoryCluster;

  /** A node of `cluster` whose reads see `replica`, reading the log from `cursor`. */
  constructor(cluster: MemoryCluster, id: string, replica: MemoryHistory, cursor: number) {
    this.#cluster = cluster;
    this.id = id;
    this.cursor = cursor;
    this.store = new MemoryClusterStore(cluster, this, replica);
    this.bus = new MemoryBus(cluster, this);
  }

  /** Starts delivering the log to `hub` (entries written before this wait for it). */
  attach(hub: ClusterHub): void {
    this.hub = hub;
    this.#cluster.wake();
  }

  /** True while a live, attached node has log entries it has not taken. */
  get behind(): boolean {
    return this.alive && this.hub !== undefined && this.#cluster.lag(this) > 0;
  }
}

/**
 * A node's view of the shared history: ids and ts from the cluster, appends to the shared log,
 * and reads from the node's own copy of the rooms, which holds exactly the batches its hub has
 * delivered (told by `delivered`): the delivered watermark a Redis node bounds its reads by.
 */
export class MemoryClusterStore implements HistoryStore {
  /** {@inheritDoc HistoryStore.sharedIds} */
  readonly sharedIds = true;
  /** Bans and mutes (this node's; the cluster shares them through `record` events). */
  readonly moderation: MemoryModeration;
  /** Accounts (this node's). */
  readonly accounts: MemoryAccounts;
  /** Room claims (this node's). */
  readonly claims: MemoryClaims;
  readonly #cluster: MemoryCluster;
  readonly #node: MemoryNode;
  readonly #replica: MemoryHistory;
  #fault: string | null = null;

  /** The store of `node`, reading from `replica`. */
  constructor(cluster: MemoryCluster, node: MemoryNode, replica: MemoryHistory) {
    this.#cluster = cluster;
    this.#node = node;
    this.#replica = replica;
    const check = () => this.#check();
    this.moderation = new MemoryModeration(check);
    this.accounts = new MemoryAccounts(check);
    this.claims = new MemoryClaims(check);
  }

  /** Makes this node's writes fail with `cause` (its link to Redis only); null mends it. */
  fail(cause: string | null): void {
    this.#fault = cause;
  }

  /** {@inheritDoc HistoryStore.append} */
  append(messages: readonly StoredMessage[], live?: LiveBatch): Awaitable<void> {
    try {
      this.#check();
      this.#cluster.commit(this.#node, messages, live);
    } catch (error) {
      return this.#cluster.refuse(error);
    }
    return this.#cluster.answer(undefined);
  }

  /** {@inheritDoc HistoryStore.unstoredId} */
  unstoredId(): number {
    return this.#cluster.unstoredId();
  }

  /** {@inheritDoc HistoryStore.delivered} */
  delivered(batch: CommittedBatch): void {
    // The copy keeps what history keeps: join offsets are live only.
    this.#replica.append(batch.messages.map(({ breaks: _, ...stored }) => stored));
  }

  /** {@inheritDoc HistoryStore.saveNextId} */
  saveNextId(_nextId: number): void {
    // The cluster's counter is the only one.
  }

  /** {@inheritDoc HistoryStore.nextId} */
  nextId(): number {
    return this.#cluster.nextId;
  }

  /** {@inheritDoc HistoryStore.newestTs} */
  newestTs(): number {
    return this.#cluster.newestTs;
  }

  /** {@inheritDoc HistoryStore.recent} */
  recent(room: string, limit: number, maxBytes?: number): HistorySlice {
    return this.#replica.recent(room, limit, maxBytes);
  }

  /** {@inheritDoc HistoryStore.after} */
  after(room: string, afterId: number, limit: number, maxBytes?: number): HistorySlice {
    return this.#replica.after(room, afterId, limit, maxBytes);
  }

  /** {@inheritDoc HistoryStore.before} */
  before(room: string, beforeId: number, limit: number, maxBytes?: number): HistorySlice {
    return this.#replica.before(room, beforeId, limit, maxBytes);
  }

  /** {@inheritDoc HistoryStore.afterOldest} */
  afterOldest(room: string, afterId: number, limit: number, maxBytes?: number): HistorySlice {
    return this.#replica.afterOldest(room, afterId, limit, maxBytes);
  }

  /** {@inheritDoc HistoryStore.idAt} */
  idAt(room: string, tsMs: number): number {
    return this.#replica.idAt(room, tsMs);
  }

  /** {@inheritDoc HistoryStore.topic} */
  topic(room: string): string {
    return this.#cluster.topic(room);
  }

  /** {@inheritDoc HistoryStore.setTopic} */
  setTopic(room: string, topic: string): void {
    this.#check();
    this.#cluster.setTopic(room, topic);
  }

  /** {@inheritDoc HistoryStore.close} */
  close(): void {}

  #check(): void {
    if (this.#fault !== null) throw new StoreError(this.#fault);
    this.#cluster.check(this.#node);
  }
}

/** A node's {@linkcode ClusterBus} over the {@linkcode MemoryCluster}. */
export class MemoryBus implements ClusterBus {
  /** {@inheritDoc ClusterBus.node} */
  readonly node: string;
  readonly #cluster: MemoryCluster;
  readonly #self: MemoryNode;
  #roster: Roster = () => [];
  /** The token of the snapshot to write (null: none owed). */
  #sync: string | null = null;
  #writing = false;

  /** The bus of `node`. */
  constructor(cluster: MemoryCluster, node: MemoryNode) {
    this.#cluster = cluster;
    this.#self = node;
    this.node = node.id;
  }

  /** {@inheritDoc ClusterBus.publish} */
  publish(event: ClusterEvent): void {
    this.#cluster.publish(this.#self, event);
  }

  /** {@inheritDoc ClusterBus.claimNick} */
  claimNick(key: string): Awaitable<boolean> {
    try {
      this.#cluster.check(this.#self);
    } catch (error) {
      return this.#cluster.refuse(error);
    }
    return this.#cluster.answer(this.#cluster.claim(this.node, key));
  }

  /** {@inheritDoc ClusterBus.releaseNick} */
  releaseNick(key: string): void {
    if (this.#cluster.reachable(this.node)) this.#cluster.release(this.node, key);
  }

  /** {@inheritDoc ClusterBus.direct} */
  direct(node: string, key: string, frame: ServerFrame): Awaitable<boolean> {
    const took = this.#self.alive && this.#cluster.direct(node, key, frame);
    return this.#cluster.answer(took);
  }

  /** {@inheritDoc ClusterBus.setRoster} */
  setRoster(roster: Roster): void {
    this.#roster = roster;
  }

  /**
   * {@inheritDoc ClusterBus.sync}
   *
   * Here each chunk of {@linkcode MEMORY_SYNC_CHUNK} hellos is read from the roster as it is
   * written, a microtask after the one before (other work runs between, as between round
   * trips); an unreachable cluster stops it until {@linkcode MemoryCluster.fail} mends it.
   */
  sync(): void {
    this.#sync = crypto.randomUUID();
    this.resume();
  }

  /** Goes on with an owed snapshot (the cluster is reachable again). */
  resume(): void {
    if (this.#sync === null || this.#writing) return;
    this.#writing = true;
    this.#cluster.track(this.#write().finally(() => this.#writing = false));
  }

  async #write(): Promise<void> {
    while (this.#sync !== null && this.#cluster.reachable(this.node)) {
      const token = this.#sync;
      this.publish({ t: "sync_begin", token });
      let count = 0;
      for (const user of this.#roster()) {
        if (count > 0 && count % MEMORY_SYNC_CHUNK === 0) {
          await Promise.resolve();
          // Restarted, or the cluster went away: this snapshot is abandoned.
          if (this.#sync !== token || !this.#cluster.reachable(this.node)) break;
        }
        this.publish({ t: "hello", user, sync: token });
        count++;
      }
      if (this.#sync !== token || !this.#cluster.reachable(this.node)) continue;
      this.publish({ t: "sync_end", token, count });
      this.#sync = null;
    }
  }
}
