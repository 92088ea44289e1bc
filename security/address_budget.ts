/**
 * Per-address token buckets, for costs that a client could otherwise spread over many
 * connections: logins per minute, and bytes of history read. Keyed like `--max-conns-per-ip`
 * (IPv6 by /64), bounded in the number of addresses it remembers (past the cap, the one first
 * seen longest ago is forgotten).
 *
 * @module
 */

import { MAX_BUDGETED_ADDRESSES } from "../config/security_limits.ts";
import { addressKey } from "./conn_limiter.ts";
import { type Clock, TokenBucket } from "./token_bucket.ts";

/** Settings for an {@linkcode AddressBudget}. */
export interface AddressBudgetOptions {
  /** What one address may spend at once. */
  capacity: number;
  /** What it earns back per second. */
  refillPerSecond: number;
  /** Addresses tracked at once; past it one is evicted. @default MAX_BUDGETED_ADDRESSES */
  maxAddresses?: number;
  /** Clock in milliseconds. @default performance.now */
  now?: Clock;
}

/**
 * A budget per client address.
 *
 * @example
 * ```ts
 * const logins = new AddressBudget({ capacity: 30, refillPerSecond: 0.5 });
 * if (!logins.take("203.0.113.9")) console.log("too many logins from 203.0.113.9");
 * ```
 */
export class AddressBudget {
  readonly #options: AddressBudgetOptions;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #max: number;

  /** Budgets start full, one per address on first use. */
  constructor(options: AddressBudgetOptions) {
    this.#options = options;
    this.#max = options.maxAddresses ?? MAX_BUDGETED_ADDRESSES;
  }

  /** Addresses remembered now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** What `address` may spend now (its tokens; 0 or less when spent). */
  available(address: string): number {
    return this.#buckets.get(addressKey(address))?.tokens ?? this.#options.capacity;
  }

  /** Spends `cost` if the address has it; false (spending nothing) if not. */
  take(address: string, cost = 1): boolean {
    return this.#bucket(address).take(cost);
  }

  /** Spends `cost` whether or not the address has it (a read already done): it goes into debt. */
  charge(address: string, cost: number): void {
    this.#bucket(address).spend(cost);
  }

  /** Seconds until `address` has `cost` again. */
  waitSeconds(address: string, cost = 1): number {
    const missing = Math.min(cost, this.#options.capacity) - this.available(address);
    return missing <= 0 ? 0 : Math.ceil(missing / this.#options.refillPerSecond);
  }

  #bucket(address: string): TokenBucket {
    const key = addressKey(address);
    let bucket = this.#buckets.get(key);
    if (bucket !== undefined) {
      // Seen again: move to the back of the eviction order.
      this.#buckets.delete(key);
      this.#buckets.set(key, bucket);
    } else {
      if (this.#buckets.size >= this.#max) this.#evict();
      bucket = new TokenBucket({
        capacity: this.#options.capacity,
        refillPerSecond: this.#options.refillPerSecond,
        now: this.#options.now,
      });
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  /**
   * Forgets the address seen longest ago (O(1)): with more addresses than the cap in play at
   * once, each one is still held to its own budget for as long as it is remembered.
   */
  #evict(): void {
    const oldest = this.#buckets.keys().next();
    if (!oldest.done) this.#buckets.delete(oldest.value);
  }
}
