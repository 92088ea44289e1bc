/**
 * Runs the `deno bench` micro-benchmarks (`bench/*_bench.ts`) in a subprocess pinned like the
 * server, and reads their JSON report. A benchmark whose name ends in `(N things per iteration)`
 * is also reported per thing.
 *
 * @module
 */

import { pinnedCommand } from "./processes.ts";

const BENCH_DIR = new URL("./", import.meta.url).pathname;

/** One micro-benchmark's figures, in nanoseconds. */
export interface MicroResult {
  /** The benchmark's name in reports. */
  name: string;
  /** Iterations timed. */
  iterations: number;
  /** Mean time per iteration. */
  avgNs: number;
  /** 99th-percentile time per iteration. */
  p99Ns: number;
  /** Things done per iteration (frames, deliveries). */
  perIteration: number;
  /** `avgNs / perIteration`. */
  nsPerThing: number;
}

/** The part of `deno bench --json` output read here. */
interface BenchReport {
  benches: {
    name: string;
    results: ({ ok: { n: number; avg: number; p99: number } } | { failed: string })[];
  }[];
}

/** Runs every micro-benchmark; in smoke mode each does a few iterations only. */
export async function runMicro(smoke: boolean, cpu: number | null): Promise<MicroResult[]> {
  const env: Record<string, string> = smoke ? { SOCKCHAT_BENCH_SMOKE: "1" } : {};
  const out = await pinnedCommand(
    [
      Deno.execPath(),
      "bench",
      "--json",
      "--allow-env=SOCKCHAT_BENCH_SMOKE",
      "--allow-read",
      "--allow-write",
      BENCH_DIR,
    ],
    cpu,
    env,
  ).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`deno bench failed:\n${new TextDecoder().decode(out.stderr)}${stdout}`);
  }
  const report = JSON.parse(stdout) as BenchReport;
  return report.benches.map((bench) => {
    const result = bench.results[0];
    if (result === undefined || !("ok" in result)) {
      throw new Error(`micro-benchmark failed: ${bench.name}`);
    }
    const perIteration = Number(/\((\d+) [\w ]+ per iteration\)$/.exec(bench.name)?.[1] ?? 1);
    return {
      name: bench.name,
      iterations: result.ok.n,
      avgNs: result.ok.avg,
      p99Ns: result.ok.p99,
      perIteration,
      nsPerThing: result.ok.avg / perIteration,
    };
  });
}
