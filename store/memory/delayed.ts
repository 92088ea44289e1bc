/**
 * A stand-in for an engine across the network: wraps any {@linkcode HistoryStore} and answers
 * each read and write with a promise that settles after a delay, as a Redis round trip would.
 * Tests run the core's asynchronous path with it (order, one await per batch, commit before
 * relay) before a network engine exists, and count the round trips.
 *
 * @module
 */

import type { HistorySlice, HistoryStore, StoredMessage } from "../../core/ports.ts";

/**
 * Every call of the wrapped store, a round trip later.
 *
 * @example
 * ```ts
 * import { MemoryHistory } from "./history.ts";
 * const store = new DelayedHistory(new MemoryHistory(), 1);
 * await store.append([{ id: 1, room: "#lobby", from: "alice", text: "hi", ts: 0 }]);
 * store.roundTrips; // 1
 * ```
 */
export class DelayedHistory implements HistoryStore {
  readonly #inner: HistoryStore;
  readonly #delayMs: number;
  #roundTrips = 0;
  #appends = 0;

  /**
   * Wraps `inner`.
   * @param delayMs How long each round trip takes (0: the next macrotask).
   */
  constructor(inner: HistoryStore, delayMs = 0) {
    this.#inner = inner;
    this.#delayMs = delayMs;
  }

  /** Round trips made so far (reads and writes). */
  get roundTrips(): number {
    return this.#roundTrips;
  }

  /** Appends made so far: one per committed batch. */
  get appends(): number {
    return this.#appends;
  }

  /** {@inheritDoc HistoryStore.append} */
  append(messages: readonly StoredMessage[]): Promise<void> {
    this.#appends++;
    return this.#later(() => this.#inner.append(messages));
  }

  /** {@inheritDoc HistoryStore.saveNextId} */
  saveNextId(nextId: number): void {
    this.#inner.saveNextId(nextId);
  }

  /** {@inheritDoc HistoryStore.nextId} */
  nextId(): number {
    return this.#inner.nextId();
  }

  /** {@inheritDoc HistoryStore.newestTs} */
  newestTs(): number {
    return this.#inner.newestTs();
  }

  /** {@inheritDoc HistoryStore.recent} */
  recent(room: string, limit: number, maxBytes?: number): Promise<HistorySlice> {
    return this.#later(() => this.#inner.recent(room, limit, maxBytes));
  }

  /** {@inheritDoc HistoryStore.after} */
  after(room: string, afterId: number, limit: number, maxBytes?: number): Promise<HistorySlice> {
    return this.#later(() => this.#inner.after(room, afterId, limit, maxBytes));
  }

  /** {@inheritDoc HistoryStore.before} */
  before(room: string, beforeId: number, limit: number, maxBytes?: number): Promise<HistorySlice> {
    return this.#later(() => this.#inner.before(room, beforeId, limit, maxBytes));
  }

  /** {@inheritDoc HistoryStore.afterOldest} */
  afterOldest(
    room: string,
    afterId: number,
    limit: number,
    maxBytes?: number,
  ): Promise<HistorySlice> {
    return this.#later(() => this.#inner.afterOldest(room, afterId, limit, maxBytes));
  }

  /** {@inheritDoc HistoryStore.idAt} */
  idAt(room: string, tsMs: number): Promise<number> {
    return this.#later(() => this.#inner.idAt(room, tsMs));
  }

  /** {@inheritDoc HistoryStore.topic} */
  topic(room: string): Promise<string> {
    return this.#later(() => this.#inner.topic(room));
  }

  /** {@inheritDoc HistoryStore.setTopic} */
  setTopic(room: string, topic: string): Promise<void> {
    return this.#later(() => this.#inner.setTopic(room, topic));
  }

  /** {@inheritDoc HistoryStore.close} */
  close(): void {
    this.#inner.close();
  }

  /** Runs `call` on the wrapped store after the delay; its answer (or error) comes back then. */
  #later<T>(call: () => T | Promise<T>): Promise<T> {
    this.#roundTrips++;
    return new Promise<void>((resolve) => setTimeout(resolve, this.#delayMs)).then(call);
  }
}
