/**
 * Turns benchmark results into Markdown tables, so that a run can be pasted into BENCHMARKS.md
 * as it is. The comparison with issue 6's targets is in `targets.ts`.
 *
 * @module
 */

import type { LoadResult } from "./loadgen/spec.ts";
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
  /**
   * Cluster mode: entries written to the cluster log during the run (the clients' logins and
   * joins included, before the measured phase).
   */
  logEntries?: number;
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

/**
 * Results of one kind, with their scenarios; cluster scenarios (issue 16) are left out: they
 * have a table of their own (`cluster_report.ts`), and a node's figures are not a server's.
 */
export function pick<K extends LoadResult["kind"]>(
  outcomes: Outcome[],
  kind: K,
): { scenario: Scenario; result: Extract<LoadResult, { kind: K }> }[] {
  return outcomes.flatMap((o) =>
    o.result?.kind === kind && o.scenario.cluster === undefined
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

/**
 * A table's columns after the scenario's name: each header, and how its cell reads a result.
 * Keys keep the order they are written in (no header is a bare integer, which would not).
 */
type Columns<R> = Record<string, (r: R) => string>;

/** One row per scenario of `kind`: its name under `title`, then each of `columns` in order. */
function scenarioTable<K extends LoadResult["kind"]>(
  outcomes: Outcome[],
  kind: K,
  title: string,
  columns: Columns<Extract<LoadResult, { kind: K }>>,
): string {
  const cells = Object.values(columns);
  return table(
    [title, ...Object.keys(columns)],
    pick(outcomes, kind).map(({ scenario, result }) => [
      scenario.name,
      ...cells.map((cell) => cell(result)),
    ]),
  );
}

/** The fan-out table. */
export function fanoutTable(outcomes: Outcome[]): string {
  return scenarioTable(outcomes, "fanout", "fan-out", {
    "deliveries": (r) => int(r.delivered),
    "deliveries/s": (r) => int(r.deliveriesPerSec),
    "lost": (r) => int(r.lost),
    "out of order": (r) => int(r.orderViolations),
    "server CPU µs/delivery": (r) => fixed(r.serverCpuUsPerDelivery, 3),
    "loadgen CPU": (r) => `${int((100 * r.loadgenCpuMs) / r.elapsedMs)}%`,
    "server RSS after set-up / peak": (r) => `${mib(r.rssAfterSetupKiB)} / ${mib(r.peakRssKiB)}`,
    "dropped": (r) =>
      [
        int(r.disconnected),
        ...Object.entries(r.leaveReasons).map(([reason, n]) => `(${int(n)} ${reason})`),
        r.timedOut ? "(timed out)" : "",
      ].filter((s) => s !== "").join(" "),
  });
}

/** The latency table. */
export function latencyTable(outcomes: Outcome[]): string {
  return scenarioTable(outcomes, "latency", "latency", {
    "samples": (r) => int(r.latency.samples),
    "p50": (r) => ms(r.latency.p50Ms),
    "p99": (r) => ms(r.latency.p99Ms),
    "max": (r) => ms(r.latency.maxMs),
    "first receiver p50 / p99": (r) =>
      `${ms(r.firstReceiver.p50Ms)} / ${ms(r.firstReceiver.p99Ms)}`,
    "last receiver p50 / p99": (r) => `${ms(r.lastReceiver.p50Ms)} / ${ms(r.lastReceiver.p99Ms)}`,
    "lost": (r) => int(r.lost) + (r.timedOut ? " (timed out)" : ""),
  });
}

/** The idle-connection table. */
export function idleTable(outcomes: Outcome[]): string {
  return scenarioTable(outcomes, "idle", "idle", {
    "joined": (r) => `${int(r.joined)}${r.timedOut ? " (timed out)" : ""}`,
    "server RSS before": (r) => mib(r.baseRssKiB),
    "after set-up": (r) => mib(r.rssAfterSetupKiB),
    "RSS at the end of the quiet": (r) => mib(r.rssNoGcKiB),
    "KiB per connection, no GC": (r) => fixed(r.rssPerConnectionNoGcKiB, 1),
    "lowest, forced GC included": (r) =>
      `${fixed(r.rssPerConnectionKiB, 1)}${r.forcedGc ? "" : " (no inspector)"}`,
    "JS heap + buffers per connection": (r) =>
      r.heapPerConnectionKiB === null || r.buffersPerConnectionKiB === null
        ? "n/a"
        : `${fixed(r.heapPerConnectionKiB, 1)} + ${fixed(r.buffersPerConnectionKiB, 1)} KiB`,
    "set-up": (r) => `${fixed(r.setupMs / 1000, 1)} s`,
    "sent during set-up": (r) => mib(r.setupBytes / 1024),
    "server CPU": (r) => `${fixed(r.serverCpuMs / 1000, 1)} s`,
  });
}

/** The slow-consumer table. */
export function slowTable(outcomes: Outcome[]): string {
  return scenarioTable(outcomes, "slow", "slow consumer", {
    "stalled reader": (r) => `${r.stalledFate} (read ${mib(r.stalledBytesRead / 1024)})`,
    "others: delivered": (r) => int(r.delivered),
    "lost": (r) => int(r.lost) + (r.timedOut ? " (timed out)" : ""),
    "p99 before / during / after": (r) =>
      `${ms(r.before.p99Ms)} / ${ms(r.during.p99Ms)} / ${ms(r.after.p99Ms)}`,
    "server queued bytes, peak before / during / after": (r) =>
      r.peakQueueBytes === null
        ? "n/a"
        : [r.peakQueueBytes.before, r.peakQueueBytes.during, r.peakQueueBytes.after]
          .map((b) => `${int(b / 1024)} KiB`).join(" / "),
    "server RSS, peak before / during / after": (r) =>
      [r.peakRssKiB.before, r.peakRssKiB.during, r.peakRssKiB.after].map(mib).join(" / "),
    "live heap + buffers after": (r) =>
      r.heapAfter === null
        ? "n/a"
        : `${mib(r.heapAfter.usedKiB)} + ${mib(r.heapAfter.backingStoreKiB)}`,
  });
}
