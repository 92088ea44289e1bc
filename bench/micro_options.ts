/**
 * Shared settings of the `deno bench` micro-benchmarks: in smoke mode (the runner sets
 * `SOCKCHAT_BENCH_SMOKE=1`) each runs a handful of iterations, only to prove it still works.
 *
 * @module
 */

/** True when the micro-benchmarks should only prove they run. */
export const SMOKE = Deno.env.get("SOCKCHAT_BENCH_SMOKE") === "1";

/** Iteration settings to spread into a `Deno.bench` definition. */
export const ITERATIONS: { n?: number; warmup?: number } = SMOKE ? { n: 20, warmup: 2 } : {};

/** A 64-byte message text, the size the fan-out scenarios send. */
export const TEXT_64: string = "x".repeat(64);
