/**
 * A fixed-size latency histogram, so that recording millions of samples costs neither memory
 * nor time: 1 µs buckets below 1 ms, then 10 µs, 100 µs and 1 ms buckets up to 10 s.
 *
 * @module
 */

const FINE = 1000; // 1 µs buckets for [0, 1 ms)
const MEDIUM = 900; // 10 µs buckets for [1 ms, 10 ms)
const COARSE = 900; // 100 µs buckets for [10 ms, 100 ms)
const ROUGH = 9900; // 1 ms buckets for [100 ms, 10 s)
const BUCKETS = FINE + MEDIUM + COARSE + ROUGH;

/** Percentiles of a set of latencies, in milliseconds. */
export interface LatencySummary {
  /** Latencies recorded. */
  samples: number;
  /** Median. */
  p50Ms: number;
  /** 99th percentile. */
  p99Ms: number;
  /** Slowest. */
  maxMs: number;
}

/**
 * Records latencies in microseconds; reports percentiles with at most 1% error.
 *
 * @example
 * ```ts
 * const h = new LatencyHistogram();
 * h.record(420);
 * h.summary().p50Ms; // 0.42
 * ```
 */
export class LatencyHistogram {
  #counts = new Float64Array(BUCKETS);
  #samples = 0;
  #maxMicros = 0;

  /** Number of samples recorded. */
  get samples(): number {
    return this.#samples;
  }

  /** Adds one latency, in microseconds (negative values count as 0). */
  record(micros: number): void {
    const us = micros < 0 ? 0 : micros;
    this.#counts[bucketOf(us)]++;
    this.#samples++;
    if (us > this.#maxMicros) this.#maxMicros = us;
  }

  /** Adds every sample of `other`. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.#counts[i] += other.#counts[i];
    this.#samples += other.#samples;
    this.#maxMicros = Math.max(this.#maxMicros, other.#maxMicros);
  }

  /** The value below which `fraction` of the samples lie, in microseconds (bucket upper bound). */
  quantileMicros(fraction: number): number {
    if (this.#samples === 0) return 0;
    const rank = Math.ceil(fraction * this.#samples);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(upperOf(i), this.#maxMicros);
    }
    return this.#maxMicros;
  }

  /** p50, p99 and max in milliseconds. */
  summary(): LatencySummary {
    return {
      samples: this.#samples,
      p50Ms: this.quantileMicros(0.5) / 1000,
      p99Ms: this.quantileMicros(0.99) / 1000,
      maxMs: this.#maxMicros / 1000,
    };
  }
}

function bucketOf(us: number): number {
  if (us < 1_000) return Math.floor(us);
  if (us < 10_000) return FINE + Math.floor((us - 1_000) / 10);
  if (us < 100_000) return FINE + MEDIUM + Math.floor((us - 10_000) / 100);
  if (us < 10_000_000) return FINE + MEDIUM + COARSE + Math.floor((us - 100_000) / 1000);
  return BUCKETS - 1;
}

function upperOf(bucket: number): number {
  if (bucket < FINE) return bucket + 1;
  if (bucket < FINE + MEDIUM) return 1_000 + (bucket - FINE + 1) * 10;
  if (bucket < FINE + MEDIUM + COARSE) return 10_000 + (bucket - FINE - MEDIUM + 1) * 100;
  return 100_000 + (bucket - FINE - MEDIUM - COARSE + 1) * 1000;
}
