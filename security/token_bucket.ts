/**
 * Flood control: a {@linkcode TokenBucket}, and a per-connection {@linkcode FloodGuard} that
 * limits both frames and bytes and tells a burst (throttle it) from a flood (disconnect it).
 * No I/O and no timers: time comes from an injected clock and buckets refill lazily.
 *
 * @module
 */

import {
  FLOOD_BYTE_BURST,
  FLOOD_BYTES_PER_SECOND,
  FLOOD_DISCONNECT_STREAK,
  FLOOD_MESSAGE_BURST,
  FLOOD_MESSAGES_PER_SECOND,
  FLOOD_WINDOW_MS,
} from "../config/security_limits.ts";
import { IRC_FLOOD_MAX_LAG_MS } from "../config/irc_limits.ts";

/** A clock in milliseconds. Only differences are used, so a monotonic clock is best. */
export type Clock = () => number;

const monotonic: Clock = () => performance.now();

/** Settings for a {@linkcode TokenBucket}. */
export interface TokenBucketOptions {
  /** Most tokens the bucket holds; it starts full. */
  capacity: number;
  /** Tokens added per second, up to `capacity`. */
  refillPerSecond: number;
  /** Clock in milliseconds; injected by tests. @default performance.now */
  now?: Clock;
}

/**
 * A token bucket: up to `capacity` tokens, refilled continuously at `refillPerSecond`.
 *
 * A cost larger than the capacity can never be saved up for, so it is admitted when the bucket
 * is full and leaves the bucket in debt (negative) until the refill pays it back. That keeps a
 * frame larger than the byte burst possible, but no more often than the sustained rate allows.
 *
 * @example
 * ```ts
 * let t = 0;
 * const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1, now: () => t });
 * bucket.take(); // true
 * bucket.take(); // true
 * bucket.take(); // false: empty
 * t += 1000;
 * bucket.take(); // true: one token refilled
 * ```
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #now: Clock;
  #tokens: number;
  #last: number;

  /** Starts full. Throws a RangeError for a capacity or rate that is not positive and finite. */
  constructor(options: TokenBucketOptions) {
    if (!(options.capacity > 0) || !Number.isFinite(options.capacity)) {
      throw new RangeError(`A token bucket needs a positive capacity, not ${options.capacity}.`);
    }
    if (!(options.refillPerSecond > 0) || !Number.isFinite(options.refillPerSecond)) {
      throw new RangeError(
        `A token bucket needs a positive refill rate, not ${options.refillPerSecond}.`,
      );
    }
    this.#capacity = options.capacity;
    this.#perMs = options.refillPerSecond / 1000;
    this.#now = options.now ?? monotonic;
    this.#tokens = options.capacity;
    this.#last = this.#now();
  }

  /** Tokens available now (negative while in debt). */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** True if {@linkcode TokenBucket.take} would succeed for `cost` now. Takes nothing. */
  canTake(cost = 1): boolean {
    this.#refill();
    return this.#tokens >= Math.min(cost, this.#capacity);
  }

  /** Milliseconds until {@linkcode TokenBucket.canTake} would be true for `cost`; 0: now. */
  waitMs(cost = 1): number {
    this.#refill();
    const short = Math.min(cost, this.#capacity) - this.#tokens;
    return short <= 0 ? 0 : Math.ceil(short / this.#perMs);
  }

  /** Takes `cost` tokens if there are enough (see the class note on oversized costs). */
  take(cost = 1): boolean {
    if (!this.canTake(cost)) return false;
    this.#tokens -= cost;
    return true;
  }

  /**
   * Spends `cost` whatever is left, going into debt (down to minus the capacity): for a cost
   * that was already incurred, such as bytes already read.
   */
  spend(cost: number): void {
    this.#refill();
    this.#tokens = Math.max(-this.#capacity, this.#tokens - cost);
  }

  #refill(): void {
    const now = this.#now();
    // A clock that steps backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#perMs);
  }
}

/** What to do with one frame: pass it on, refuse it, or close the connection. */
export type FloodVerdict = "ok" | "limited" | "disconnect";

/** Settings for a {@linkcode FloodGuard}. */
export interface FloodGuardOptions {
  /** Frames one burst may hold. @default 20 */
  messageBurst?: number;
  /** Frames per second sustained. @default 5 */
  messagesPerSecond?: number;
  /** Bytes one burst may hold. @default 65536 */
  byteBurst?: number;
  /** Bytes per second sustained. @default 16384 */
  bytesPerSecond?: number;
  /** Limited frames in a row that count as a flood. @default 100 */
  disconnectStreak?: number;
  /** The flood streak must fit in this many milliseconds. @default 10000 */
  windowMs?: number;
  /**
   * For a front end that delays instead of dropping ({@linkcode FloodGuard.delay}): how far
   * behind its own sending a client may fall before it is closed as a flood.
   * @default 30000 (IRC_FLOOD_MAX_LAG_MS)
   */
  maxLagMs?: number;
  /** Clock in milliseconds; injected by tests. @default performance.now */
  now?: Clock;
}

/**
 * One connection's flood control: a frame passes only if both the frame bucket and the byte
 * bucket can pay for it (a refused frame costs nothing). `disconnectStreak` refused frames in a
 * row, within `windowMs`, make a flood.
 *
 * The transport should answer only the first refused frame of a streak (when
 * {@linkcode FloodGuard.streak} is 1) with a `rate_limited` error, so that a flood does not
 * turn into a flood of replies.
 *
 * @example
 * ```ts
 * declare const frame: Uint8Array;
 * declare function handle(frame: Uint8Array): void;
 * declare function sendRateLimited(): void;
 * declare function closeAsFlooder(): void;
 *
 * const guard = new FloodGuard();
 * switch (guard.check(frame.length)) {
 *   case "ok":
 *     handle(frame);
 *     break;
 *   case "limited":
 *     if (guard.streak === 1) sendRateLimited();
 *     break;
 *   case "disconnect":
 *     closeAsFlooder();
 *     break;
 * }
 * ```
 */
export class FloodGuard {
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #disconnectStreak: number;
  readonly #windowMs: number;
  readonly #maxLagMs: number;
  readonly #now: Clock;
  /** The bucket sizes and rates in force, defaults applied (the welcome advertises them). */
  readonly limits: Readonly<
    Required<
      Pick<FloodGuardOptions, "messageBurst" | "messagesPerSecond" | "byteBurst" | "bytesPerSecond">
    >
  >;
  #streak = 0;
  #streakStart = 0;

  /** Any option left out takes its default. */
  constructor(options: FloodGuardOptions = {}) {
    this.#now = options.now ?? monotonic;
    const limits = this.limits = Object.freeze({
      messageBurst: options.messageBurst ?? FLOOD_MESSAGE_BURST,
      messagesPerSecond: options.messagesPerSecond ?? FLOOD_MESSAGES_PER_SECOND,
      byteBurst: options.byteBurst ?? FLOOD_BYTE_BURST,
      bytesPerSecond: options.bytesPerSecond ?? FLOOD_BYTES_PER_SECOND,
    });
    this.#messages = new TokenBucket({
      capacity: limits.messageBurst,
      refillPerSecond: limits.messagesPerSecond,
      now: this.#now,
    });
    this.#bytes = new TokenBucket({
      capacity: limits.byteBurst,
      refillPerSecond: limits.bytesPerSecond,
      now: this.#now,
    });
    this.#disconnectStreak = options.disconnectStreak ?? FLOOD_DISCONNECT_STREAK;
    this.#windowMs = options.windowMs ?? FLOOD_WINDOW_MS;
    this.#maxLagMs = options.maxLagMs ?? IRC_FLOOD_MAX_LAG_MS;
  }

  /** Refused frames since the last admitted one (in the current window). */
  get streak(): number {
    return this.#streak;
  }

  /**
   * A read brought frames (for {@linkcode FloodGuard.delay}). The lag of the lines it brought
   * counts from now, unless the read before said the input goes on (`more`: it filled the
   * buffer or ended inside a frame): then the client has been sending without a pause while
   * its lines were held, and the lag still counts from when that run of reads began. A client
   * that keeps the read buffer full for longer than `maxLagMs` is flooding (IRC's full recvq).
   */
  arrived(more: boolean): void {
    if (!this.#goesOn) this.#since = this.#now();
    this.#goesOn = more;
  }

  /** When the run of reads that brought the waiting lines began (see `arrived`). */
  #since = 0;
  /** The last read said its input goes on. */
  #goesOn = false;

  /**
   * For a front end that delays instead of dropping (IRC): 0 if a frame of `bytes` bytes may be
   * handled now, charging for it; else the milliseconds to wait before asking again (nothing is
   * charged yet, and the refusal streak is untouched); or null when that wait would leave the
   * line handled more than `maxLagMs` after its run of reads began (see `arrived`): each held
   * line pushes the client's virtual clock further behind its sending, and past that debt it
   * is an `Excess Flood`, not a client to slow down any longer.
   */
  delay(bytes: number): number | null {
    const wait = Math.max(this.#messages.waitMs(1), this.#bytes.waitMs(bytes));
    if (wait === 0) {
      this.#messages.take(1);
      this.#bytes.take(bytes);
      this.#streak = 0;
      return 0;
    }
    return this.#now() + wait - this.#since > this.#maxLagMs ? null : wait;
  }

  /** Judges one incoming frame of `bytes` bytes, charging for it if it passes. */
  check(bytes: number): FloodVerdict {
    if (this.#messages.canTake(1) && this.#bytes.canTake(bytes)) {
      this.#messages.take(1);
      this.#bytes.take(bytes);
      this.#streak = 0;
      return "ok";
    }
    const now = this.#now();
    if (this.#streak === 0 || now - this.#streakStart > this.#windowMs) {
      this.#streak = 0;
      this.#streakStart = now;
    }
    this.#streak++;
    return this.#streak >= this.#disconnectStreak ? "disconnect" : "limited";
  }
}
