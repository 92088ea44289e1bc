/**
 * Test helper: a tiny seeded PRNG (mulberry32) so that randomised tests can be replayed.
 * Each test prints its seed; `SOCKCHAT_SEED=<seed> deno task test` replays it.
 *
 * @module
 */

/** A source of random numbers in [0, 1), plus the conveniences tests want. */
export interface Rng {
  /** The next number in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
  /** A new generator seeded from this one (for independent streams, e.g. one per client). */
  fork(): Rng;
}

/**
 * mulberry32: 32 bits of state, good enough statistics for fuzzing, and the same sequence on
 * every platform for a given seed.
 *
 * @example
 * ```ts
 * const rng = mulberry32(42);
 * rng.int(1, 6); // the same roll on every run
 * ```
 */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
    fork: () => mulberry32(Math.floor(next() * 4294967296)),
  };
  return rng;
}

/**
 * The seed for a randomised test: `SOCKCHAT_SEED` if set, else a fresh one. Printed either way,
 * with `what` and the command line that replays it.
 */
export function testSeed(what: string): number {
  const fromEnv = Deno.env.get("SOCKCHAT_SEED");
  const seed = fromEnv !== undefined && fromEnv !== ""
    ? Number(fromEnv) >>> 0
    : Math.floor(Math.random() * 4294967296);
  console.log(`${what}: seed ${seed} (replay with SOCKCHAT_SEED=${seed})`);
  return seed;
}
