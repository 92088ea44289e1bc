/**
 * Values that may come later. The core's ports answer at once with an in-process engine
 * (SQLite, memory) and with a promise with a network one (Redis); the core chains on either
 * without making the in-process path pay for promises it does not need.
 *
 * @module
 */

/** A value, or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Runs `next` on `value`: at once when it is there, after it resolves when it is a promise.
 *
 * @example
 * ```ts
 * then(2, (n) => n * 2); // 4, synchronously
 * await then(Promise.resolve(2), (n) => n * 2); // 4
 * ```
 */
export function then<T, R>(value: Awaitable<T>, next: (value: T) => Awaitable<R>): Awaitable<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/**
 * Runs operations one at a time, in the order they were asked for. An operation that returns a
 * promise holds the queue until it settles; one that returns a value leaves it free, so with an
 * in-process engine every operation runs at once, as plain code.
 *
 * @example
 * ```ts
 * const serial = new Serial();
 * serial.run(() => 1); // 1, synchronously
 * ```
 */
export class Serial {
  #busy = false;
  readonly #waiting: (() => void)[] = [];

  /** Operations waiting for the one in progress (bounded by the callers: one per peer). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `op` now if nothing is in progress, else after everything asked for before it. */
  run<T>(op: () => Awaitable<T>): Awaitable<T> {
    if (!this.#busy) return this.#start(op);
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push(() => {
        try {
          const result = this.#start(op);
          if (result instanceof Promise) result.then(resolve, reject);
          else resolve(result);
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  #start<T>(op: () => Awaitable<T>): Awaitable<T> {
    const result = op();
    if (!(result instanceof Promise)) return result;
    this.#busy = true;
    const done = () => {
      this.#busy = false;
      // Run what waited, until one of them holds the queue again.
      while (!this.#busy) {
        const next = this.#waiting.shift();
        if (next === undefined) break;
        next();
      }
    };
    result.then(done, done);
    return result;
  }
}
