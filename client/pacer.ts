/**
 * The client's side of flood control: a queue of frames sent no faster than the server's flood
 * limits (from its welcome) allow, so that a pasted block or a script's piped lines all arrive,
 * in order, instead of losing everything past the server's burst.
 *
 * @module
 */

import type { FloodLimits } from "../protocol/frames.ts";
import { type Clock, TokenBucket } from "../security/token_bucket.ts";

/**
 * Share of the server's sustained rates the client uses: the server's clock and ours drift, and
 * a frame's arrival is not its sending, so pacing at exactly the rate would be refused now and
 * then.
 */
export const PACE_RATE_SHARE = 0.9;

/**
 * Messages of the server's burst the client leaves unused: the `hello` spent one before the
 * welcome, and a `pong` (never held back) may spend another.
 */
export const PACE_BURST_HEADROOM = 2;

/** Settings for a {@linkcode Pacer}. */
export interface PacerOptions {
  /** The server's flood limits, as its welcome gives them. */
  limits: FloodLimits;
  /** Hands one frame's bytes to the connection. */
  write: (bytes: Uint8Array) => void;
  /** Clock in milliseconds; injected by tests. @default performance.now */
  now?: Clock;
}

/** A frame waiting its turn, and who waits for it to go out. */
interface Held {
  readonly ref: string;
  readonly bytes: Uint8Array;
  readonly released: (() => void)[];
}

/**
 * Sends frames within a server's flood limits, oldest first: at once while its local buckets
 * (a little under the server's) hold tokens, then one as each refills. It holds only what is
 * handed to it; its caller keeps that small by waiting for {@linkcode Pacer.released} before
 * handing it more.
 *
 * @example
 * ```ts
 * const sent: string[] = [];
 * const pacer = new Pacer({
 *   limits: { rate: 5, burst: 20, rateBytes: 16384, burstBytes: 65536 },
 *   write: (bytes) => sent.push(new TextDecoder().decode(bytes)),
 * });
 * for (let i = 1; i <= 30; i++) pacer.send(String(i), new TextEncoder().encode(`line ${i}\n`));
 * sent.length; // 18: the burst, less the headroom
 * await pacer.released("30"); // about 2.7 s later, at 4.5 lines a second
 * pacer.close();
 * ```
 */
export class Pacer {
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #write: (bytes: Uint8Array) => void;
  /** Frames waiting their turn, oldest first. */
  readonly #queue: Held[] = [];
  /** Refused frames to send again, in the order they were refused: before the queue. */
  readonly #retries: Held[] = [];
  /** The local buckets' refill rates and byte capacity, to work out how long to wait. */
  readonly #rates: { messages: number; bytes: number; byteBurst: number };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** Starts with full buckets, as the server's are (less the headroom). */
  constructor(options: PacerOptions) {
    const { rate, burst, rateBytes, burstBytes } = options.limits;
    this.#rates = {
      messages: rate * PACE_RATE_SHARE,
      bytes: rateBytes * PACE_RATE_SHARE,
      byteBurst: burstBytes * PACE_RATE_SHARE,
    };
    this.#messages = new TokenBucket({
      capacity: Math.max(1, burst - PACE_BURST_HEADROOM),
      refillPerSecond: this.#rates.messages,
      now: options.now,
    });
    this.#bytes = new TokenBucket({
      capacity: this.#rates.byteBurst,
      refillPerSecond: this.#rates.bytes,
      now: options.now,
    });
    this.#write = options.write;
  }

  /** Frames waiting their turn. */
  get waiting(): number {
    return this.#retries.length + this.#queue.length;
  }

  /** True while the frame sent with `ref` waits its turn. */
  holds(ref: string): boolean {
    return this.#find(ref) !== undefined;
  }

  /** Sends `bytes` now if nothing waits and the buckets allow, else queues it last. */
  send(ref: string, bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push({ ref, bytes, released: [] });
    this.#pump();
  }

  /**
   * Sends a frame the server refused (`rate_limited`) again, before anything else that waits
   * (after other refused ones), once the buckets have refilled from empty: the server's were
   * empty when it refused.
   */
  retry(ref: string, bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#messages.spend(this.#messages.tokens);
    this.#bytes.spend(Math.max(0, this.#bytes.tokens));
    this.#retries.push({ ref, bytes, released: [] });
    this.#pump();
  }

  /** Resolves once the frame sent with `ref` has gone out (or never will: the pacer closed). */
  released(ref: string): Promise<void> {
    const held = this.#find(ref);
    if (held === undefined) return Promise.resolve();
    return new Promise((resolve) => held.released.push(resolve));
  }

  /** Drops what waits (the connection is gone) and releases everyone waiting for it. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const held of [...this.#retries.splice(0), ...this.#queue.splice(0)]) {
      for (const resolve of held.released) resolve();
    }
  }

  #find(ref: string): Held | undefined {
    return this.#retries.find((h) => h.ref === ref) ?? this.#queue.find((h) => h.ref === ref);
  }

  /** Sends what the buckets allow, then sleeps until the next frame can be paid for. */
  #pump(): void {
    if (this.#timer !== undefined) return;
    let next: Held | undefined;
    while ((next = this.#retries[0] ?? this.#queue[0]) !== undefined) {
      if (!this.#messages.canTake(1) || !this.#bytes.canTake(next.bytes.length)) break;
      this.#messages.take(1);
      this.#bytes.take(next.bytes.length);
      (this.#retries.length > 0 ? this.#retries : this.#queue).shift();
      this.#write(next.bytes);
      for (const resolve of next.released) resolve();
    }
    if (next === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, this.#wait(next.bytes.length));
  }

  /** Milliseconds until both buckets can pay for a frame of `bytes` bytes. */
  #wait(bytes: number): number {
    const short = (bucket: TokenBucket, cost: number, perSecond: number) =>
      Math.max(0, cost - bucket.tokens) / perSecond * 1000;
    const messages = short(this.#messages, 1, this.#rates.messages);
    const byteCost = Math.min(bytes, this.#rates.byteBurst);
    const inBytes = short(this.#bytes, byteCost, this.#rates.bytes);
    // A millisecond more, so that the bucket has refilled when the timer fires.
    return Math.ceil(Math.max(messages, inBytes)) + 1;
  }
}
