/**
 * What a smoke run asserts: not timings (CI machines vary too much), only that every scenario
 * ran, delivered something, and lost nothing. A failure here means the harness or the server's
 * relay is broken, not slow.
 *
 * @module
 */

import type { MicroResult } from "./micro.ts";
import type { Outcome } from "./report.ts";

/**
 * Every way the smoke run went wrong; empty when it passed.
 *
 * @param microWanted false when the micro-benchmarks were left out on purpose
 */
export function smokeProblems(
  micro: MicroResult[],
  outcomes: Outcome[],
  microWanted: boolean,
): string[] {
  const problems: string[] = [];
  if (microWanted && micro.length === 0) problems.push("no micro-benchmark ran");
  for (const m of micro) {
    if (!(m.avgNs > 0)) problems.push(`${m.name}: no timing`);
  }
  for (const { scenario, result, error } of outcomes) {
    const name = scenario.name;
    if (result === null) {
      problems.push(`${name}: ${error ?? "no result"}`);
      continue;
    }
    if (result.kind === "idle") {
      if (result.joined !== result.clients) {
        problems.push(`${name}: ${result.joined} of ${result.clients} clients stayed joined`);
      }
      if (result.timedOut) problems.push(`${name}: join notices did not settle in time`);
      continue;
    }
    if (result.delivered === 0) problems.push(`${name}: nothing was delivered`);
    if (result.lost !== 0) problems.push(`${name}: ${result.lost} deliveries lost`);
    if (result.orderViolations !== 0) {
      problems.push(`${name}: ${result.orderViolations} deliveries out of order`);
    }
    if (result.timedOut) problems.push(`${name}: timed out`);
  }
  return problems;
}
