/**
 * Turns benchmark results into Markdown tables (so that a run can be pasted into BENCHMARKS.md
 * as it is), including the comparison with issue 6's targets.
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
  scenario: Scenario;
  result: LoadResult | null;
  /** Why there is no result. */
  error?: string;
}

/** Issue 6's targets. */
export const TARGETS = {
  cpuUsPerDelivery: 0.25,
  deliveriesPerSec: 3_000_000,
  p50Ms: 0.5,
  p99Ms: 1.0,
  idleKiBPerConnection: 8,
  idleClients: 5000,
} as const;

/** Formats a Markdown table. */
export function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const fixed = (n: number, digits: number) => n.toFixed(digits);
const ms = (n: number) => `${n.toFixed(3)} ms`;
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

/** Results of one kind, with their scenarios. */
function pick<K extends LoadResult["kind"]>(
  outcomes: Outcome[],
  kind: K,
): { scenario: Scenario; result: Extract<LoadResult, { kind: K }> }[] {
  return outcomes.flatMap((o) =>
    o.result?.kind === kind
      ? [{ scenario: o.scenario, result: o.result as Extract<LoadResult, { kind: K }> }]
      : []
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)];
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
      "server RSS peak before / during / after stall",
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
      `${mib(r.peakRssKiB.before)} / ${mib(r.peakRssKiB.during)} / ${mib(r.peakRssKiB.after)}`,
      r.heapAfter === null
        ? "n/a"
        : `${mib(r.heapAfter.usedKiB)} + ${mib(r.heapAfter.backingStoreKiB)}`,
    ]),
  );
}

/**
 * The targets table: what issue 6 asks for, what was measured, and whether it was met. The
 * headline figures are medians over its repeats.
 *
 * @param queueCapKiB the per-connection outbound queue cap, the documented memory bound
 */
export function targetsTable(outcomes: Outcome[], queueCapKiB: number): string {
  const rows: string[][] = [];
  const verdict = (ok: boolean) => (ok ? "met" : "**not met**");
  const headline = pick(outcomes, "fanout").filter((o) => o.scenario.headline).map((o) => o.result);
  if (headline.length > 0) {
    const cpu = median(headline.map((r) => r.serverCpuUsPerDelivery));
    const rate = median(headline.map((r) => r.deliveriesPerSec));
    const whole = headline.every((r) => r.lost === 0 && r.orderViolations === 0);
    rows.push([
      `server CPU per delivery ≤ ${TARGETS.cpuUsPerDelivery} µs`,
      `${fixed(cpu, 3)} µs`,
      verdict(cpu <= TARGETS.cpuUsPerDelivery),
    ]);
    rows.push([
      `≥ ${int(TARGETS.deliveriesPerSec)} deliveries/s`,
      int(rate),
      verdict(rate >= TARGETS.deliveriesPerSec),
    ]);
    rows.push([
      "zero lost, in order",
      whole ? "0 lost, in order" : "loss or reordering",
      verdict(whole),
    ]);
  }
  for (const { result: r } of pick(outcomes, "latency").filter((o) => !o.scenario.floor)) {
    rows.push([
      `latency p50 ≤ ${TARGETS.p50Ms} ms`,
      ms(r.latency.p50Ms),
      verdict(r.latency.p50Ms <= TARGETS.p50Ms),
    ]);
    rows.push([
      `latency p99 ≤ ${TARGETS.p99Ms} ms`,
      ms(r.latency.p99Ms),
      verdict(r.latency.p99Ms <= TARGETS.p99Ms),
    ]);
  }
  for (const { result: r } of pick(outcomes, "idle")) {
    if (r.clients !== TARGETS.idleClients) continue;
    const kib = r.rssPerConnectionKiB;
    rows.push([
      `RSS per idle joined connection at ${int(r.clients)} ≤ ${TARGETS.idleKiBPerConnection} KiB`,
      `${fixed(kib, 1)} KiB`,
      verdict(kib <= TARGETS.idleKiBPerConnection && !r.timedOut),
    ]);
  }
  for (const { result: r } of pick(outcomes, "slow")) {
    rows.push([
      "stalled reader dropped as too_slow",
      r.stalledFate,
      verdict(r.stalledFate === "too_slow"),
    ]);
    rows.push([
      "others lose nothing",
      `${int(r.lost)} lost`,
      verdict(r.lost === 0 && r.orderViolations === 0),
    ]);
    const unmoved = r.during.p99Ms <= Math.max(2 * r.before.p99Ms, r.before.p99Ms + 1);
    rows.push([
      "others' p99 unmoved (≤ 2× before, or +1 ms)",
      `${ms(r.before.p99Ms)} → ${ms(r.during.p99Ms)}`,
      verdict(unmoved),
    ]);
    // The stalled reader may cost at most its queue. RSS also grows under flat-out load with no
    // stall at all (V8 sizes its heap up), so growth during the stall is only held against the
    // cap beyond what the same load added after it.
    const during = r.peakRssKiB.during - r.peakRssKiB.before;
    const after = r.peakRssKiB.after - r.peakRssKiB.during;
    const live = r.heapAfter === null
      ? ""
      : `; live heap + buffers after ${mib(r.heapAfter.usedKiB + r.heapAfter.backingStoreKiB)}`;
    rows.push([
      `server memory for the stalled reader within the queue cap (${int(queueCapKiB)} KiB)`,
      `RSS +${int(during)} KiB during the stall, +${int(after)} KiB after it${live}`,
      during <= queueCapKiB
        ? "met"
        : during <= Math.max(after, 0) + queueCapKiB
        ? "met (growth is the load's, not the stall's)"
        : "**not met**",
    ]);
  }
  return table(["target (issue 6)", "measured", "verdict"], rows);
}
