/**
 * Log lines per key (a client address), at most one per window: a client that is refused
 * thousands of times a second must not fill the operator's disk with the same line. The line
 * that does go out says how many were left out since the last one.
 *
 * @module
 */

import { LOG_THROTTLE_KEYS, LOG_THROTTLE_WINDOW_MS } from "../config/limits.ts";

/**
 * One line per key per window.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 *
 * const logger = createLogger();
 * const throttle = new LogThrottle();
 * const remote = "203.0.113.9";
 * const suppressed = throttle.take(remote, performance.now());
 * if (suppressed !== null) logger.info("refused", { remote, suppressed });
 * ```
 */
export class LogThrottle {
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #seen = new Map<string, { at: number; suppressed: number }>();

  /**
   * One line per key per window, and a bounded number of keys.
   * @param windowMs @default LOG_THROTTLE_WINDOW_MS
   * @param maxKeys keys remembered at once; past it the oldest is forgotten.
   * @default LOG_THROTTLE_KEYS
   */
  constructor(windowMs = LOG_THROTTLE_WINDOW_MS, maxKeys = LOG_THROTTLE_KEYS) {
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.#seen.size;
  }

  /** Null if a line for `key` went out within the window; else how many were left out since. */
  take(key: string, now: number): number | null {
    const entry = this.#seen.get(key);
    if (entry !== undefined && now - entry.at < this.#windowMs) {
      entry.suppressed++;
      return null;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.#seen.delete(key);
    if (this.#seen.size >= this.#maxKeys) {
      this.#seen.delete(this.#seen.keys().next().value as string);
    }
    this.#seen.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }
}
