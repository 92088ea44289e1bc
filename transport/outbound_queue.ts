/**
 * A connection's bounded outbound queue. Producers push encoded frames without waiting; one
 * writer drains it, coalescing everything waiting into a single write.
 *
 * @module
 */

import { concat } from "../protocol/outgoing.ts";
import { isSlabView } from "../protocol/slab.ts";

const monotonic = (): number => performance.now();

/** Where a queue writes: `write` may take only part of the bytes, as `Deno.Conn.write` may. */
export interface QueueWritable {
  /** Writes some of `p`; resolves with how many bytes were taken. */
  write(p: Uint8Array): Promise<number>;
}

/** Settings for an {@linkcode OutboundQueue}. */
export interface OutboundQueueOptions {
  /** How far the peer may fall behind, in bytes (queued plus being written). */
  cap: number;
  /** A burst may take the queue to `cap * burstFactor` while the socket is still draining. */
  burstFactor: number;
  /** The socket counts as draining if it accepted bytes this recently (ms). */
  graceMs: number;
  /** Clock in ms. @default performance.now */
  now?: () => number;
}

/**
 * Byte-capped FIFO of encoded frames with a single draining writer.
 *
 * A push that would take the queue past `cap` is refused (the peer is too slow) unless the
 * socket is still draining: no write in flight, or one that made progress within `graceMs`. Then
 * a burst (many senders at once) may take it up to `cap * burstFactor`, never further. So a
 * stalled reader is cut off at `cap`, and a healthy one survives a burst it will drain at once.
 *
 * @example
 * ```ts
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 7342 });
 * const q = new OutboundQueue({ cap: 1024, burstFactor: 4, graceMs: 500 });
 * q.start(conn, (error) => console.error(error));
 * q.push(new TextEncoder().encode("hi\n")); // true: queued
 * q.end();
 * await q.stopped();
 * ```
 */
export class OutboundQueue {
  readonly #cap: number;
  readonly #hardCap: number;
  readonly #graceMs: number;
  readonly #now: () => number;
  #writing = false;
  #lastProgress = 0;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #inFlight = 0;
  #ended = false;
  #aborted = false;

  /** Nothing is written until {@linkcode drain} is called. */
  constructor(options: OutboundQueueOptions) {
    this.#cap = options.cap;
    this.#hardCap = options.cap * options.burstFactor;
    this.#graceMs = options.graceMs;
    this.#now = options.now ?? monotonic;
  }

  /** True if the socket has accepted nothing for longer than the grace period. */
  get stalled(): boolean {
    return this.#writing && this.#now() - this.#lastProgress > this.#graceMs;
  }

  /** Most bytes the queue can ever hold. */
  get hardCap(): number {
    return this.#hardCap;
  }

  /** Notes that the socket accepted some bytes. */
  progress(): void {
    this.#lastProgress = this.#now();
  }

  /** Bytes queued plus bytes being written. Never more than the cap. */
  get bytes(): number {
    return this.#queued + this.#inFlight;
  }

  /** Queues bytes. Returns false, queuing nothing, if the peer is too slow to take them. */
  push(bytes: Uint8Array): boolean {
    if (this.#ended || this.#aborted) return true;
    const total = this.#queued + this.#inFlight + bytes.length;
    if (total > this.#cap && (total > this.#hardCap || this.stalled)) return false;
    // Bytes that must wait behind a write in progress are copied out of a shared slab, so that
    // a slow reader's queue keeps alive only its own bytes (see protocol/slab.ts).
    this.#chunks.push(this.#writing && isSlabView(bytes) ? bytes.slice() : bytes);
    this.#queued += bytes.length;
    this.#schedule();
    return true;
  }

  /** No more pushes: the writer finishes once what is queued has been written. */
  end(): void {
    this.#ended = true;
    this.#schedule();
  }

  /** Drops everything queued; the writer stops after its current write. */
  abort(): void {
    this.#aborted = true;
    this.#chunks = [];
    this.#queued = 0;
    this.#schedule();
  }

  /**
   * Starts the writer: what is queued goes to `conn`, looping over partial writes; `onFailed`
   * is called once if a write fails. The writer holds no suspended function and no pending
   * promise while idle (every idle connection would pay for them): a push schedules it as a
   * microtask, so whatever the current task queues is coalesced into one write.
   */
  start(conn: QueueWritable, onFailed: (error: unknown) => void): void {
    this.#conn = conn;
    this.#onFailed = onFailed;
    this.#pump();
  }

  /**
   * Resolves once the writer has stopped: after {@linkcode end} and the last write, after
   * {@linkcode abort}, or after a failed write. Never rejects. The promise is made on the first
   * call (when a connection finishes), not for every connection as it opens.
   */
  stopped(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#whenStopped ??= Promise.withResolvers<void>();
    return this.#whenStopped.promise;
  }

  #conn: QueueWritable | null = null;
  #onFailed: ((error: unknown) => void) | null = null;
  #stopped = false;
  #whenStopped: PromiseWithResolvers<void> | null = null;
  #scheduled = false;
  /** The buffer being written, and how much of it the socket has taken. */
  #batch: Uint8Array | null = null;
  #offset = 0;

  /** Runs the writer soon (once per task), unless it is already busy. */
  #schedule(): void {
    if (this.#writing || this.#scheduled || this.#conn === null) return;
    this.#scheduled = true;
    queueMicrotask(this.#pumpSoon);
  }

  readonly #pumpSoon = (): void => {
    this.#scheduled = false;
    this.#pump();
  };

  /** Writes what is waiting, or stops the writer when there is nothing more to do. */
  #pump(): void {
    if (this.#writing || this.#conn === null || this.#stopped) return;
    if (this.#aborted || (this.#chunks.length === 0 && this.#ended)) {
      this.#stop();
      return;
    }
    if (this.#chunks.length === 0) return;
    const batch = this.#take();
    this.#inFlight = batch.length;
    this.#writing = true;
    this.#lastProgress = this.#now();
    this.#batch = batch;
    this.#offset = 0;
    this.#conn.write(batch).then(this.#written, this.#failed);
  }

  /** The socket took `n` bytes of the batch: write the rest, or move on to what is queued. */
  readonly #written = (n: number): void => {
    this.#lastProgress = this.#now();
    const batch = this.#batch;
    this.#offset += n;
    if (batch !== null && this.#offset < batch.length && !this.#aborted && this.#conn !== null) {
      this.#conn.write(batch.subarray(this.#offset)).then(this.#written, this.#failed);
      return;
    }
    this.#batch = null;
    this.#inFlight = 0;
    this.#writing = false;
    this.#pump();
  };

  readonly #failed = (error: unknown): void => {
    this.#batch = null;
    this.#inFlight = 0;
    this.#writing = false;
    const onFailed = this.#onFailed;
    this.#onFailed = null;
    onFailed?.(error);
    this.#stop();
  };

  /** The writer is done for good: settles {@linkcode stopped}. */
  #stop(): void {
    this.#stopped = true;
    this.#whenStopped?.resolve();
    this.#whenStopped = null;
  }

  /** Everything waiting, as one buffer. */
  #take(): Uint8Array {
    const batch = concat(this.#chunks, this.#queued);
    this.#chunks = [];
    this.#queued = 0;
    return batch;
  }
}
/**
 * Writes all of `bytes`, looping because `conn.write` may write only part of them, and calling
 * `progress` after each part the socket accepted.
 */
export async function writeAll(
  conn: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
  progress?: () => void,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(bytes.subarray(offset));
    progress?.();
  }
}
