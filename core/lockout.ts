/**
 * Per-address lockout after repeated wrong secrets: the server password and the /oper secret
 * each have one, so that reconnecting does not buy an address more guesses.
 *
 * @module
 */

import { AUTH_LOCKOUT_MS, MAX_AUTH_FAILURES, MAX_AUTH_TRACKED } from "../config/limits.ts";
import { addressKey } from "../security/conn_limiter.ts";

/** Settings for a {@linkcode Lockout}. */
export interface LockoutOptions {
  /** Wrong guesses an address may make before it is locked out. */
  maxFailures: number;
  /** How long a locked-out address waits, counted from its latest wrong guess. */
  lockoutMs: number;
  /** Addresses remembered at once; past it, the oldest are forgotten first. */
  maxTracked: number;
}

/**
 * The lockout the server password and /oper each use, counted on their own:
 * {@linkcode MAX_AUTH_FAILURES} wrong guesses lock an address out for
 * {@linkcode AUTH_LOCKOUT_MS}.
 */
export const SECRET_LOCKOUT: LockoutOptions = {
  maxFailures: MAX_AUTH_FAILURES,
  lockoutMs: AUTH_LOCKOUT_MS,
  maxTracked: MAX_AUTH_TRACKED,
};

/**
 * Wrong guesses per address (an IPv6 address counts as its /64).
 *
 * @example
 * ```ts
 * const lockout = new Lockout({ maxFailures: 2, lockoutMs: 60_000, maxTracked: 10_000 });
 * const now = Date.now();
 * lockout.failed("203.0.113.7", now);
 * lockout.failed("203.0.113.7", now); // the second wrong guess locks the address out
 * lockout.lockedFor("203.0.113.7", now); // 60 (seconds)
 * lockout.lockedFor("203.0.113.7", now + 60_000); // 0: it may guess again
 * ```
 */
export class Lockout {
  readonly #options: LockoutOptions;
  readonly #failures = new Map<string, { count: number; until: number }>();

  /** A lockout with these limits, remembering nobody yet. */
  constructor(options: LockoutOptions) {
    this.#options = options;
  }

  /** Whole seconds `address` must wait before guessing again, or 0. */
  lockedFor(address: string, now: number): number {
    const key = addressKey(address);
    const entry = this.#failures.get(key);
    if (entry === undefined || entry.count < this.#options.maxFailures) return 0;
    const left = entry.until - now;
    if (left > 0) return Math.ceil(left / 1000);
    this.#failures.delete(key);
    return 0;
  }

  /** Notes a wrong guess from `address`; returns how many it has made in a row. */
  failed(address: string, now: number): number {
    const key = addressKey(address);
    const entry = this.#failures.get(key) ?? { count: 0, until: 0 };
    entry.count++;
    entry.until = now + this.#options.lockoutMs;
    // The table is capped: under a spray from very many addresses, forget the oldest.
    if (!this.#failures.has(key) && this.#failures.size >= this.#options.maxTracked) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    this.#failures.set(key, entry);
    return entry.count;
  }
}
