/**
 * Gives memory back after a burst. V8 collects its old generation when it runs short, not when
 * a process goes quiet, so after a login storm a server sits on tens of MiB of garbage for as
 * long as it stays idle, which is what an operator sees in RSS. This runs one full collection
 * once the heap has been steady for a while and holds much more than after the last one: a few
 * milliseconds of pause when nobody is talking, never while traffic flows.
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";
import {
  IDLE_GC_CHECK_MS,
  IDLE_GC_MIN_GROWTH_BYTES,
  IDLE_GC_MIN_INTERVAL_MS,
  IDLE_GC_QUIET_BYTES,
  IDLE_GC_QUIET_MS,
} from "../config/limits.ts";

/** V8's `gc()`, exposed by a flag at run time (null if the runtime refuses). */
export function exposeGc(): (() => void) | null {
  try {
    v8.setFlagsFromString("--expose-gc");
    // The flag applies to contexts made after it is set.
    const gc = vm.runInNewContext("gc") as unknown;
    return typeof gc === "function" ? gc as () => void : null;
  } catch {
    return null;
  }
}

/** Settings for {@linkcode IdleCollector}; the defaults are the named limits. */
export interface IdleCollectorOptions {
  /**
   * Bytes of heap the process holds now: V8's committed heap, which is what RSS follows (its
   * live part alone may stay flat while garbage keeps pages). @default `Deno.memoryUsage().heapTotal`
   */
  heapUsed?: () => number;
  /** Runs a full collection. @default V8's, from {@linkcode exposeGc} */
  collect?: () => void;
  /** The clock, in ms. @default performance.now */
  now?: () => number;
  /** Told of each collection: heap bytes before and after, and the pause in ms. */
  onCollect?: (before: number, after: number, pauseMs: number) => void;
}

/**
 * Watches the heap and collects it once a burst is over. {@linkcode IdleCollector.check} is
 * called every {@linkcode IDLE_GC_CHECK_MS} by {@linkcode IdleCollector.start}'s timer, or by a
 * test with its own clock.
 *
 * @example
 * ```ts
 * const collector = new IdleCollector();
 * collector.start();
 * collector.stop();
 * ```
 */
export class IdleCollector {
  readonly #heapUsed: () => number;
  readonly #collect: (() => void) | null;
  readonly #now: () => number;
  readonly #onCollect: (before: number, after: number, pauseMs: number) => void;
  /** Heap in use after the last full collection (or at start). */
  #baseline: number;
  #last: number;
  #steadySince: number;
  #lastCollected = -Infinity;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** A collector with its baseline at the heap in use now. */
  constructor(options: IdleCollectorOptions = {}) {
    this.#heapUsed = options.heapUsed ?? (() => Deno.memoryUsage().heapTotal);
    this.#collect = options.collect ?? exposeGc();
    this.#now = options.now ?? (() => performance.now());
    this.#onCollect = options.onCollect ?? (() => {});
    this.#baseline = this.#last = this.#heapUsed();
    this.#steadySince = this.#now();
  }

  /** Checks the heap every {@linkcode IDLE_GC_CHECK_MS}, on a timer that keeps nobody alive. */
  start(): void {
    this.#timer ??= setInterval(() => this.check(), IDLE_GC_CHECK_MS);
    Deno.unrefTimer(this.#timer);
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look at the heap; collects if it is time. True if it collected. */
  check(): boolean {
    const now = this.#now();
    const used = this.#heapUsed();
    if (used > this.#last + IDLE_GC_QUIET_BYTES) this.#steadySince = now;
    this.#last = used;
    // A heap that shrank by itself (V8 collected it) is the new baseline.
    if (used < this.#baseline) this.#baseline = used;
    if (
      this.#collect === null ||
      used - this.#baseline < IDLE_GC_MIN_GROWTH_BYTES ||
      now - this.#steadySince < IDLE_GC_QUIET_MS ||
      now - this.#lastCollected < IDLE_GC_MIN_INTERVAL_MS
    ) return false;
    const started = performance.now();
    this.#collect();
    const pause = performance.now() - started;
    this.#lastCollected = now;
    this.#baseline = this.#last = this.#heapUsed();
    this.#onCollect(used, this.#baseline, pause);
    return true;
  }
}
