/**
 * The load generator: a process of its own, so that its CPU time is not the server's. It takes
 * a {@linkcode LoadSpec} and a {@linkcode Target} as JSON arguments, runs that one job against
 * 127.0.0.1, and prints a {@linkcode LoadResult} as one JSON line on stdout.
 *
 * ```sh
 * deno run --allow-net --allow-read bench/loadgen.ts '{"kind":"idle",...}' '{"port":7342,...}'
 * ```
 *
 * @module
 */

import { runFanout } from "./loadgen/fanout.ts";
import { runIdle } from "./loadgen/idle.ts";
import { runLatency } from "./loadgen/latency.ts";
import { runSlowConsumer } from "./loadgen/slow_consumer.ts";
import type { LoadResult, LoadSpec, Target } from "./loadgen/spec.ts";

/** Runs one job. */
export function runLoad(spec: LoadSpec, target: Target): Promise<LoadResult> {
  switch (spec.kind) {
    case "fanout":
      return runFanout(spec, target);
    case "latency":
      return runLatency(spec, target);
    case "idle":
      return runIdle(spec, target);
    case "slow":
      return runSlowConsumer(spec, target);
    default:
      return unreachable(spec);
  }
}

function unreachable(spec: never): never {
  throw new Error(`unknown load spec: ${JSON.stringify(spec)}`);
}

if (import.meta.main) {
  const [specJson, targetJson] = Deno.args;
  if (specJson === undefined || targetJson === undefined) {
    console.error("usage: loadgen.ts SPEC_JSON TARGET_JSON (run by bench/run.ts)");
    Deno.exit(2);
  }
  const result = await runLoad(JSON.parse(specJson) as LoadSpec, JSON.parse(targetJson) as Target);
  console.log(JSON.stringify(result));
  // Sockets are closed; exit without waiting for stray timers of the job.
  Deno.exit(0);
}
