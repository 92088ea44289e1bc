/**
 * A connection's bounded outbound queue. Producers push encoded frames without waiting; one
 * writer drains it, coalescing everything waiting into a single write.
 *
 * @module
 */

/**
 * Byte-capped FIFO of encoded frames with a single draining writer.
 *
 * @example
 * ```ts
 * const q = new OutboundQueue(1024);
 * const done = q.drain((bytes) => conn.write(bytes).then(() => {}));
 * q.push(new TextEncoder().encode("hi\n")); // true: queued
 * q.end();
 * await done;
 * ```
 */
export class OutboundQueue {
  #cap: number;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #inFlight = 0;
  #ended = false;
  #aborted = false;
  #wake: (() => void) | null = null;

  /** @param cap Most bytes that may be queued or in flight at once. */
  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Bytes queued plus bytes being written. Never more than the cap. */
  get bytes(): number {
    return this.#queued + this.#inFlight;
  }

  /** Queues bytes. Returns false, queuing nothing, if they would take the queue past its cap. */
  push(bytes: Uint8Array): boolean {
    if (this.#ended || this.#aborted) return true;
    if (this.#queued + this.#inFlight + bytes.length > this.#cap) return false;
    this.#chunks.push(bytes);
    this.#queued += bytes.length;
    this.#signal();
    return true;
  }

  /** No more pushes: the writer finishes once what is queued has been written. */
  end(): void {
    this.#ended = true;
    this.#signal();
  }

  /** Drops everything queued; the writer stops after its current write. */
  abort(): void {
    this.#aborted = true;
    this.#chunks = [];
    this.#queued = 0;
    this.#signal();
  }

  /** Runs the writer until {@linkcode end} (after flushing) or {@linkcode abort}. */
  async drain(write: (bytes: Uint8Array) => Promise<void>): Promise<void> {
    while (!this.#aborted) {
      if (this.#chunks.length === 0) {
        if (this.#ended) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      const batch = this.#take();
      this.#inFlight = batch.length;
      try {
        await write(batch);
      } finally {
        this.#inFlight = 0;
      }
    }
  }

  /** Everything waiting, as one buffer. */
  #take(): Uint8Array {
    const chunks = this.#chunks;
    const total = this.#queued;
    this.#chunks = [];
    this.#queued = 0;
    if (chunks.length === 1) return chunks[0];
    const batch = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      batch.set(chunk, offset);
      offset += chunk.length;
    }
    return batch;
  }

  #signal(): void {
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake();
    }
  }
}

/** Writes all of `bytes`, looping because `conn.write` may write only part of them. */
export async function writeAll(
  conn: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(bytes.subarray(offset));
  }
}
