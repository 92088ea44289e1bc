/**
 * Per-address lockout after repeated wrong secrets: the server password, account passwords,
 * /oper and SSH authentication each have one, so that reconnecting does not buy an address more
 * guesses. In cluster mode each also counts in a {@linkcode SharedCounter} that every node sees
 * ({@linkcode shareLockouts}), so that spreading guesses over the nodes does not buy more either.
 * The core does no I/O: the shared counter is a port, its Redis side lives in
 * cluster/shared_counter.ts.
 *
 * @module
 */

import { AUTH_LOCKOUT_MS, MAX_AUTH_FAILURES, MAX_AUTH_TRACKED } from "../config/limits.ts";
import { LOGIN_RATE_WINDOW_MS } from "../config/cluster_limits.ts";
import { addressKey } from "../security/conn_limiter.ts";

/** Which secret a lockout guards: each kind is counted on its own, here and cluster-wide. */
export type LockoutKind = "password" | "account" | "oper" | "ssh" | "register";

/** Settings for a {@linkcode Lockout}. */
export interface LockoutOptions {
  /** Wrong guesses an address may make before it is locked out. */
  maxFailures: number;
  /** How long a locked-out address waits, counted from its latest wrong guess. */
  lockoutMs: number;
  /** Addresses remembered at once; past it, the oldest are forgotten first. */
  maxTracked: number;
  /**
   * The name its guesses are counted under in the {@linkcode SharedCounter}, if one is shared;
   * without it the lockout is this process's alone.
   */
  kind?: LockoutKind;
  /**
   * When the count lapses: `lockoutMs` after the latest event (`"last"`, a lockout), or after
   * the first one of a window (`"first"`: a fixed window, such as registrations per hour).
   * @default "last"
   */
  window?: "first" | "last";
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

/** A shared count as the counter answered it. */
export interface SharedCount {
  /** Events counted for the key. */
  count: number;
  /** Milliseconds until the count lapses (0 when there is none). */
  ttlMs: number;
}

/**
 * Counts per key that every node of a cluster sees (Redis: INCR and PEXPIRE on one key per kind
 * and address). Both calls reject when the counter cannot be reached: the lockouts then count on
 * this node only until it answers again.
 */
export interface SharedCounter {
  /**
   * Counts one more `kind` event for `key`; the count lapses `ttlMs` after this event
   * (`from: "last"`, a lockout) or after the first one (`from: "first"`, a fixed window).
   */
  add(kind: LockoutKind, key: string, ttlMs: number, from: "first" | "last"): Promise<SharedCount>;
  /** The `kind` count for `key` now, without adding to it. */
  peek(kind: LockoutKind, key: string): Promise<SharedCount>;
  /**
   * Counts a login from the address key `key` and resolves the logins counted from it over the
   * counter's rate window, on one clock for every node (the door's cluster-wide login rate).
   */
  loginRate(key: string): Promise<number>;
}

/**
 * A {@linkcode SharedCounter} in this process's memory: the stand-in for Redis in tests, and
 * what a set of hubs in one process could share. Counts lapse as Redis keys would.
 *
 * @example
 * ```ts
 * const counter = new MemoryCounter();
 * await counter.add("oper", "192.0.2.1", 60_000, "last"); // { count: 1, ttlMs: 60000 }
 * ```
 */
export class MemoryCounter implements SharedCounter {
  readonly #counts = new Map<string, { count: number; until: number }>();
  readonly #logins = new Map<string, number[]>();
  readonly #now: () => number;
  readonly #rateWindowMs: number;
  /** When lapsed counts and login times were last swept out (at most once per rate window). */
  #sweptAt = -Infinity;

  /** An empty counter on `now`'s clock, counting logins over `rateWindowMs`. */
  constructor(now: () => number = Date.now, rateWindowMs = LOGIN_RATE_WINDOW_MS) {
    this.#now = now;
    this.#rateWindowMs = rateWindowMs;
  }

  /** See {@linkcode SharedCounter.add}. */
  add(kind: LockoutKind, key: string, ttlMs: number, from: "first" | "last"): Promise<SharedCount> {
    const now = this.#now();
    this.#sweep(now);
    const id = `${kind}:${key}`;
    const entry = this.#live(id, now) ?? { count: 0, until: now + ttlMs };
    entry.count++;
    if (from === "last") entry.until = now + ttlMs;
    this.#counts.set(id, entry);
    return Promise.resolve({ count: entry.count, ttlMs: entry.until - now });
  }

  /** See {@linkcode SharedCounter.peek}. */
  peek(kind: LockoutKind, key: string): Promise<SharedCount> {
    const now = this.#now();
    this.#sweep(now);
    const entry = this.#live(`${kind}:${key}`, now);
    return Promise.resolve(
      entry === undefined ? { count: 0, ttlMs: 0 } : {
        count: entry.count,
        ttlMs: entry.until - now,
      },
    );
  }

  /** See {@linkcode SharedCounter.loginRate}: a sliding window of the login times. */
  loginRate(key: string): Promise<number> {
    const now = this.#now();
    this.#sweep(now);
    const times = (this.#logins.get(key) ?? []).filter((t) => t > now - this.#rateWindowMs);
    times.push(now);
    this.#logins.set(key, times);
    return Promise.resolve(times.length);
  }

  /** Addresses and counts held now (tests watch it stay bounded). */
  get size(): number {
    return this.#counts.size + this.#logins.size;
  }

  /**
   * Drops the counts that lapsed and the addresses with no login in the window, as Redis's
   * expiry would: otherwise every address ever seen stays in memory. Once per rate window, so
   * the cost is spread over that window's calls.
   */
  #sweep(now: number): void {
    if (now - this.#sweptAt < this.#rateWindowMs) return;
    this.#sweptAt = now;
    for (const [key, times] of this.#logins) {
      if ((times.at(-1) ?? -Infinity) <= now - this.#rateWindowMs) this.#logins.delete(key);
    }
    for (const [id, entry] of this.#counts) {
      if (entry.until <= now) this.#counts.delete(id);
    }
  }

  #live(id: string, now: number): { count: number; until: number } | undefined {
    const entry = this.#counts.get(id);
    if (entry !== undefined && entry.until > now) return entry;
    this.#counts.delete(id);
    return undefined;
  }
}

/** The counter every lockout with a kind shares, once cluster mode set one. */
let shared: SharedCounter | null = null;

/**
 * Makes every {@linkcode Lockout} that has a `kind` count in `counter` too (cluster mode: Redis),
 * or only in memory again (`null`). Called once at start, before any user logs in.
 */
export function shareLockouts(counter: SharedCounter | null): void {
  shared = counter;
}

/** The counter lockouts share now, if any (for the registration window, which counts alike). */
export function sharedCounter(): SharedCounter | null {
  return shared;
}

/** What a lockout last learnt of an address's shared count. */
interface Learnt {
  count: number;
  /** When the shared count lapses, on this process's clock. */
  until: number;
  /** The lookup under way (one at a time per address), if any. */
  asking: Promise<void> | null;
}

/**
 * Wrong guesses per address (an IPv6 address counts as its /64). With a shared counter (see
 * {@linkcode shareLockouts}) the local count stays the fast path; the shared one is learnt from
 * each wrong guess's count and from a lookup each check starts, so an address locked out on one
 * node is locked out on every node by its next guess there, or before it with
 * {@linkcode Lockout.lockedForShared}.
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
  /** The shared counts learnt, per address key (capped like the local table). */
  readonly #learnt = new Map<string, Learnt>();

  /** A lockout with these limits, remembering nobody yet. */
  constructor(options: LockoutOptions) {
    this.#options = options;
  }

  /**
   * Whole seconds `address` must wait before guessing again, or 0: its count here, or what was
   * last learnt of its count on every node. Starts a lookup of the shared count for the next
   * check.
   */
  lockedFor(address: string, now: number): number {
    const key = addressKey(address);
    const local = this.#localWait(key, now);
    if (local > 0) return local;
    const learnt = this.#learntWait(key, now);
    if (learnt > 0) return learnt;
    void this.#lookUp(key, now);
    return 0;
  }

  /**
   * As {@linkcode lockedFor}, after asking the shared counter (at once when the local count
   * decides, or no counter is shared, or it cannot be reached): for checks that can wait one
   * round trip, such as an account password about to be hashed.
   */
  async lockedForShared(address: string, now: number): Promise<number> {
    const key = addressKey(address);
    const local = this.#localWait(key, now);
    if (local > 0) return local;
    await this.#lookUp(key, now);
    return this.#learntWait(key, now);
  }

  /**
   * Notes a wrong guess from `address` (or, for a `"first"` window, one event); returns how many
   * it has made in a row (in the window) here.
   */
  failed(address: string, now: number): number {
    const key = addressKey(address);
    const first = this.#options.window === "first";
    let entry = this.#failures.get(key);
    // A fixed window that has ended starts again.
    if (entry === undefined || (first && entry.until <= now)) entry = { count: 0, until: 0 };
    entry.count++;
    if (!first || entry.count === 1) entry.until = now + this.#options.lockoutMs;
    // The table is capped: under a spray from very many addresses, forget the oldest.
    if (!this.#failures.has(key) && this.#failures.size >= this.#options.maxTracked) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    this.#failures.set(key, entry);
    const counter = shared;
    const kind = this.#options.kind;
    if (counter !== null && kind !== undefined) {
      counter.add(kind, key, this.#options.lockoutMs, first ? "first" : "last").then(
        (count) => this.#learn(key, now, count),
        // Unreachable: this node's count stands alone (the counter says so in the log).
        () => {},
      );
    }
    return entry.count;
  }

  #localWait(key: string, now: number): number {
    const entry = this.#failures.get(key);
    if (entry === undefined || entry.count < this.#options.maxFailures) return 0;
    const left = entry.until - now;
    if (left > 0) return Math.ceil(left / 1000);
    this.#failures.delete(key);
    return 0;
  }

  #learntWait(key: string, now: number): number {
    const learnt = this.#learnt.get(key);
    if (learnt === undefined || learnt.count < this.#options.maxFailures) return 0;
    const left = learnt.until - now;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Asks the shared counter for `key`'s count (one lookup at a time per key); never rejects. */
  #lookUp(key: string, now: number): Promise<void> {
    const counter = shared;
    const kind = this.#options.kind;
    if (counter === null || kind === undefined) return Promise.resolve();
    const pending = this.#learnt.get(key)?.asking;
    if (pending !== undefined && pending !== null) return pending;
    const asking: Promise<void> = counter.peek(kind, key).then(
      (count) => this.#learn(key, now, count),
      // Unreachable: the local count decides alone until the counter answers again.
      () => {},
    ).finally(() => {
      const entry = this.#learnt.get(key);
      if (entry?.asking === asking) entry.asking = null;
    });
    const entry = this.#learnt.get(key);
    if (entry !== undefined) entry.asking = asking;
    else this.#remember(key, { count: 0, until: 0, asking });
    return asking;
  }

  #learn(key: string, now: number, { count, ttlMs }: SharedCount): void {
    const entry = this.#learnt.get(key);
    if (entry === undefined) {
      if (count > 0 && ttlMs > 0) this.#remember(key, { count, until: now + ttlMs, asking: null });
      return;
    }
    entry.count = count;
    entry.until = now + Math.max(0, ttlMs);
  }

  #remember(key: string, learnt: Learnt): void {
    if (this.#learnt.size >= this.#options.maxTracked) {
      const oldest = this.#learnt.keys().next().value;
      if (oldest !== undefined) this.#learnt.delete(oldest);
    }
    this.#learnt.set(key, learnt);
  }
}
