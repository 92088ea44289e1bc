/**
 * The epoch a node last saw in Redis, and who to tell when it changes. An epoch is a random
 * token set whenever Redis's data starts over (first start, or Redis came back empty); the
 * history (appends, id blocks) and the bus (its lease heartbeat) both see it, and the first to
 * see a new one tells the owner once, so the record tables are re-seeded and the users' nicks
 * re-claimed once per restart of Redis.
 *
 * @module
 */

/** The current epoch, shared by a node's history and bus. */
export class EpochWatch {
  #current: string;
  readonly #listeners = new Set<(epoch: string) => void>();

  /** Starts at `epoch` ("" when not known yet: the first one seen is not a change). */
  constructor(epoch = "") {
    this.#current = epoch;
  }

  /** The epoch last seen. */
  get current(): string {
    return this.#current;
  }

  /** Notes an epoch seen in Redis; listeners hear of it when it differs from the last one. */
  observe(epoch: string): void {
    if (epoch === "" || epoch === this.#current) return;
    const was = this.#current;
    this.#current = epoch;
    if (was === "") return;
    for (const listener of this.#listeners) {
      try {
        listener(epoch);
      } catch (error) {
        console.error("sockchat: an epoch listener failed:", error);
      }
    }
  }

  /** Calls `listener` on each change; returns how to stop. */
  onChange(listener: (epoch: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
