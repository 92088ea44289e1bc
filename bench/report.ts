/**
 * Turns benchmark results into Markdown tables, so that a run can be pasted into BENCHMARKS.md
 * as it is. The comparison with issue 6's targets is in `targets.ts`.
 *
 * @module
 */

import type {
  FanoutResult,
  IdleResult,
  LatencyResult,
  LoadResult,
  SlowConsumerResult,
} from "./loadgen/spec.ts";
import type { MicroResult } from "./micro.ts";
import type { Scenario } from "./scenarios.ts";

/** A scenario and what became of it. */
export interface Outcome {
  /** The scenario that ran. */
  scenario: Scenario;
  /** What the load generator reported; null when it failed. */
  result: LoadResult | null;
  /** Why there is no result. */
  error?: string;
}

/** Formats a Markdown table. */
export function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A count with thousands separators. */
export const int = (n: number): string => Math.round(n).toLocaleString("en-US");
/** A number with `digits` decimals. */
export const fixed = (n: number, digits: number): string => n.toFixed(digits);
/** Milliseconds, to the microsecond. */
export const ms = (n: number): string => `${n.toFixed(3)} ms`;
/** KiB shown as MiB. */
export const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

/** Results of one kind, with their scenarios. */
export function pick<K extends LoadResult["kind"]>(
  outcomes: Outcome[],
  kind: K,
): { scenario: Scenario; result: Extract<LoadResult, { kind: K }> }[] {
  return outcomes.flatMap((o) =>
    o.result?.kind === kind
      ? [{ scenario: o.scenario, result: o.result as Extract<LoadResult, { kind: K }> }]
      : []
  );
}

/** The micro-benchmark table. */
export function microTable(micro: MicroResult[]): string {
  return table(
    ["micro-benchmark", "iterations", "avg per iteration", "per frame / delivery"],
    micro.map((
      m,
    ) => [m.name, int(m.iterations), `${int(m.avgNs)} ns`, `${fixed(m.nsPerThing, 1)} ns`]),
  );
}

function fanoutRow(name: string, r: FanoutResult): string[] {
  return [
    name,
    int(r.delivered),
    int(r.deliveriesPerSec),
    int(r.lost),
    int(r.orderViolations),
    fixed(r.serverCpuUsPerDelivery, 3),
    `${int((100 * r.loadgenCpuMs) / r.elapsedMs)}%`,
    [
      int(r.disconnected),
      ...Object.entries(r.leaveReasons).map(([reason, n]) => `(${int(n)} ${reason})`),
      r.timedOut ? "(timed out)" : "",
    ].filter((s) => s !== "").join(" "),
  ];
}

/** The fan-out table. */
export function fanoutTable(outcomes: Outcome[]): string {
  return table(
    [
      "fan-out",
      "deliveries",
      "deliveries/s",
      "lost",
      "out of order",
      "server CPU µs/delivery",
      "loadgen CPU",
      "dropped",
    ],
    pick(outcomes, "fanout").map(({ scenario, result }) => fanoutRow(scenario.name, result)),
  );
}

/** The latency table. */
export function latencyTable(outcomes: Outcome[]): string {
  return table(
    [
      "latency",
      "samples",
      "p50",
      "p99",
      "max",
      "first receiver p50 / p99",
      "last receiver p50 / p99",
      "lost",
    ],
    pick(outcomes, "latency").map((
      { scenario, result: r }: { scenario: Scenario; result: LatencyResult },
    ) => [
      scenario.name,
      int(r.latency.samples),
      ms(r.latency.p50Ms),
      ms(r.latency.p99Ms),
      ms(r.latency.maxMs),
      `${ms(r.firstReceiver.p50Ms)} / ${ms(r.firstReceiver.p99Ms)}`,
      `${ms(r.lastReceiver.p50Ms)} / ${ms(r.lastReceiver.p99Ms)}`,
      int(r.lost) + (r.timedOut ? " (timed out)" : ""),
    ]),
  );
}

/** The idle-connection table. */
export function idleTable(outcomes: Outcome[]): string {
  return table(
    [
      "idle",
      "joined",
      "server RSS before",
      "after set-up",
      "settled",
      "KiB per connection",
      "JS heap + buffers per connection",
      "set-up",
      "server CPU",
    ],
    pick(outcomes, "idle").map((
      { scenario, result: r }: { scenario: Scenario; result: IdleResult },
    ) => [
      scenario.name,
      `${int(r.joined)}${r.timedOut ? " (timed out)" : ""}`,
      mib(r.baseRssKiB),
      mib(r.rssAfterSetupKiB),
      mib(r.rssKiB),
      fixed(r.rssPerConnectionKiB, 1),
      r.heapPerConnectionKiB === null || r.buffersPerConnectionKiB === null
        ? "n/a"
        : `${fixed(r.heapPerConnectionKiB, 1)} + ${fixed(r.buffersPerConnectionKiB, 1)} KiB`,
      `${fixed(r.setupMs / 1000, 1)} s`,
      `${fixed(r.serverCpuMs / 1000, 1)} s`,
    ]),
  );
}

/** The slow-consumer table. */
export function slowTable(outcomes: Outcome[]): string {
  return table(
    [
      "slow consumer",
      "stalled reader",
      "others: delivered",
      "lost",
      "p99 before / during / after",
      "server queued bytes, peak before / during / after",
      "server RSS, peak before / during / after",
      "live heap + buffers after",
    ],
    pick(outcomes, "slow").map((
      { scenario, result: r }: { scenario: Scenario; result: SlowConsumerResult },
    ) => [
      scenario.name,
      `${r.stalledFate} (read ${mib(r.stalledBytesRead / 1024)})`,
      int(r.delivered),
      int(r.lost) + (r.timedOut ? " (timed out)" : ""),
      `${ms(r.before.p99Ms)} / ${ms(r.during.p99Ms)} / ${ms(r.after.p99Ms)}`,
      r.peakQueueBytes === null
        ? "n/a"
        : [r.peakQueueBytes.before, r.peakQueueBytes.during, r.peakQueueBytes.after]
          .map((b) => `${int(b / 1024)} KiB`).join(" / "),
      [r.peakRssKiB.before, r.peakRssKiB.during, r.peakRssKiB.after].map(mib).join(" / "),
      r.heapAfter === null
        ? "n/a"
        : `${mib(r.heapAfter.usedKiB)} + ${mib(r.heapAfter.backingStoreKiB)}`,
    ]),
  );
}
