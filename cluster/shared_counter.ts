/**
 * Per-address counts every node sees, in Redis: the lockouts' wrong guesses and the
 * registration window ({@linkcode SharedCounter}, one key per kind and address, INCR + PEXPIRE),
 * and the cluster-wide login rate ({@linkcode RedisSharedCounter.loginRate}, a sliding window on
 * Redis's clock). Each node keeps its own counts too: when Redis cannot be reached they decide
 * alone, and the counter says so once per outage.
 *
 * @module
 */

import type { LockoutKind, SharedCount, SharedCounter } from "../core/lockout.ts";
import { LOGIN_RATE_WINDOW_MS } from "../config/cluster_limits.ts";
import { countKey, ratePrefix } from "./keys.ts";
import { type RedisConn, type Reply, Script } from "./redis_conn.ts";

/**
 * Counts one event. KEYS: the counter. ARGV: ttl ms, "last" (the count lapses ttl after this
 * event) or "first" (after the first). Returns { count, ms left }.
 */
const ADD = new Script(`
local n = redis.call('INCR', KEYS[1])
if ARGV[2] == 'last' or n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { n, redis.call('PTTL', KEYS[1]) }
`);

/** Reads a count. KEYS: the counter. Returns { count, ms left } ({ 0, 0 } when none). */
const PEEK = new Script(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = redis.call('PTTL', KEYS[1])
if left < 0 then return { 0, 0 } end
return { n, left }
`);

/**
 * Counts one login in a sliding window on Redis's own clock (TIME: the nodes' clocks may
 * differ): the current window's count plus the previous window's, weighted by how much of it
 * the sliding window still covers, so a burst across a window boundary counts in full.
 * KEYS: the address's key prefix. ARGV: window ms. Returns the weighted count, this login
 * included.
 */
const RATE = new Script(`
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
local current = math.floor(now / window)
local key = KEYS[1] .. ':' .. current
local n = redis.call('INCR', key)
if n == 1 then redis.call('PEXPIRE', key, window * 2) end
local previous = tonumber(redis.call('GET', KEYS[1] .. ':' .. (current - 1)) or '0')
local covered = 1 - (now % window) / window
return n + math.floor(previous * covered)
`);

/** Options for {@linkcode RedisSharedCounter}. */
export interface RedisSharedCounterOptions {
  /**
   * Told once when Redis cannot be reached (the counts are then this node's alone: the cause)
   * and once when it answers again (`null`). @default nothing
   */
  onState?: (problem: string | null) => void;
  /** The login-rate window. @default {@linkcode LOGIN_RATE_WINDOW_MS} */
  rateWindowMs?: number;
}

/**
 * The {@linkcode SharedCounter} of a cluster, on the node's Redis connection.
 *
 * @example
 * ```ts ignore
 * const counter = new RedisSharedCounter(engine.conn, {
 *   onState: (problem) => logger.warn("shared_counts", { problem }),
 * });
 * shareLockouts(counter);
 * ```
 */
export class RedisSharedCounter implements SharedCounter {
  readonly #conn: RedisConn;
  readonly #options: RedisSharedCounterOptions;
  /** The outage reported, or null while Redis answers. */
  #problem: string | null = null;

  /** A counter on `conn` (which it does not close). */
  constructor(conn: RedisConn, options: RedisSharedCounterOptions = {}) {
    this.#conn = conn;
    this.#options = options;
  }

  /** See {@linkcode SharedCounter.add}. */
  add(
    kind: LockoutKind,
    key: string,
    ttlMs: number,
    from: "first" | "last",
  ): Promise<SharedCount> {
    return this.#count(this.#conn.run(ADD, [countKey(kind, key)], [Math.max(1, ttlMs), from]));
  }

  /** See {@linkcode SharedCounter.peek}. */
  peek(kind: LockoutKind, key: string): Promise<SharedCount> {
    return this.#count(this.#conn.run(PEEK, [countKey(kind, key)], []));
  }

  /**
   * Counts a login from `address` (an address key: an IPv6 /64 counts as one) on every node and
   * returns the logins counted from it over the last window, weighted as {@linkcode RATE}
   * says. Rejects when Redis cannot be reached (the door then lets its own count decide).
   */
  async loginRate(address: string): Promise<number> {
    const windowMs = this.#options.rateWindowMs ?? LOGIN_RATE_WINDOW_MS;
    return Number(await this.#answered(this.#conn.run(RATE, [ratePrefix(address)], [windowMs])));
  }

  async #count(reply: Promise<Reply>): Promise<SharedCount> {
    const answer = await this.#answered(reply);
    if (!Array.isArray(answer)) return { count: 0, ttlMs: 0 };
    const [count, ttlMs] = answer.map(Number);
    return Number.isFinite(count) && Number.isFinite(ttlMs) && ttlMs > 0
      ? { count, ttlMs }
      : { count: 0, ttlMs: 0 };
  }

  /** `reply`, telling of an outage once when it fails and once when Redis answers again. */
  async #answered(reply: Promise<Reply>): Promise<Reply> {
    try {
      const answer = await reply;
      if (this.#problem !== null) {
        this.#problem = null;
        this.#options.onState?.(null);
      }
      return answer;
    } catch (error) {
      if (this.#problem === null) {
        this.#problem = (error as Error).message;
        this.#options.onState?.(this.#problem);
      }
      throw error;
    }
  }
}
