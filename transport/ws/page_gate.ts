/**
 * The web port's budget for page requests (every path but `/ws`, which the shared door admits):
 * a token bucket per address, so that one address cannot make the server send its assets as
 * fast as it can ask. `Deno.serve` hands the listener requests, not connections, so a request
 * is the unit that can be counted; see the README for what that leaves unbounded.
 *
 * @module
 */

import {
  WEB_PAGE_REQUEST_BURST,
  WEB_PAGE_REQUESTS_PER_SECOND,
  WEB_PAGE_TRACKED_ADDRESSES,
} from "../../config/web_limits.ts";
import { AddressBudget } from "../../security/address_budget.ts";
import type { Clock } from "../../security/token_bucket.ts";

/** Settings for a {@linkcode PageGate}. */
export interface PageGateOptions {
  /** Requests one address may make at once. @default WEB_PAGE_REQUEST_BURST */
  burst?: number;
  /** Requests it earns back per second. @default WEB_PAGE_REQUESTS_PER_SECOND */
  perSecond?: number;
  /** Addresses remembered at once. @default WEB_PAGE_TRACKED_ADDRESSES */
  maxAddresses?: number;
  /** Clock in milliseconds. @default performance.now */
  now?: Clock;
}

/** The gate's answer: serve the request, or refuse it for this many whole seconds. */
export type PageVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Page requests per address.
 *
 * @example
 * ```ts
 * const gate = new PageGate({ burst: 2, perSecond: 1 });
 * gate.admit("203.0.113.9"); // { ok: true }
 * gate.admit("203.0.113.9"); // { ok: true }
 * gate.admit("203.0.113.9"); // { ok: false, retryAfterSeconds: 1 }
 * ```
 */
export class PageGate {
  readonly #budget: AddressBudget;

  /** Every address starts with a full burst. */
  constructor(options: PageGateOptions = {}) {
    this.#budget = new AddressBudget({
      capacity: options.burst ?? WEB_PAGE_REQUEST_BURST,
      refillPerSecond: options.perSecond ?? WEB_PAGE_REQUESTS_PER_SECOND,
      maxAddresses: options.maxAddresses ?? WEB_PAGE_TRACKED_ADDRESSES,
      now: options.now,
    });
  }

  /** Addresses remembered now: never more than `maxAddresses`. */
  get addresses(): number {
    return this.#budget.size;
  }

  /** Charges one request to `address`, or says how long it must wait (at least 1 s). */
  admit(address: string): PageVerdict {
    if (this.#budget.take(address)) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, this.#budget.waitSeconds(address)) };
  }
}
