/**
 * The cluster table (issue 16): per load, each setup's deliveries per second, each node's CPU
 * time per delivery to its own clients (medians of the repeats, with their range), the worst
 * node's ratio to one node alone on Redis and to the SQLite node, Redis's CPU time per delivery
 * and per message, the p99 from send stamp to receipt, and RSS without a forced GC.
 *
 * @module
 */

import { type ClusterSetup, setupLabel } from "./cluster_mode.ts";
import { spread } from "./front_ends.ts";
import type { FanoutResult, LatencyResult } from "./loadgen/spec.ts";
import { fixed, type Outcome, table } from "./report.ts";
import type { Scenario } from "./scenarios.ts";
import { median } from "./targets.ts";

/** The requirement: per-node CPU per delivery in cluster mode within this of a single node's. */
export const CLUSTER_CPU_RATIO_LIMIT = 1.5;

/** What a cluster scenario reports: a fan-out or a paced latency run. */
type ClusterResult = FanoutResult | LatencyResult;

/** A cluster scenario's run, with the setup that served it. */
interface Run {
  scenario: Scenario;
  setup: ClusterSetup;
  result: ClusterResult;
  logEntries?: number;
}

/**
 * The cluster table; empty (headers only) when no cluster scenario ran. The baseline of the
 * ratio columns is, in the same load's rows, the one-node Redis setup with fsync always (what the
 * requirement compares with) and the SQLite node.
 */
export function clusterTable(outcomes: Outcome[]): string {
  const runs: Run[] = outcomes.flatMap(({ scenario, result, logEntries }) =>
    scenario.cluster !== undefined && result !== null &&
      (result.kind === "fanout" || result.kind === "latency")
      ? [{ scenario, setup: scenario.cluster, result, logEntries }]
      : []
  );
  const loads = [...new Set(runs.map((r) => r.scenario.clusterLoad ?? ""))];
  const rows: string[][] = [];
  for (const load of loads) {
    const ofLoad = runs.filter((r) => r.scenario.clusterLoad === load);
    const labels = [...new Set(ofLoad.map((r) => setupLabel(r.setup)))];
    const bySetup = new Map(
      labels.map((l) => [l, ofLoad.filter((r) => setupLabel(r.setup) === l)]),
    );
    const worstNode = (label: string): number | null => {
      const group = bySetup.get(label) ?? [];
      const nodes = group[0]?.result.nodes?.length ?? 0;
      const medians = Array.from(
        { length: nodes },
        (_, k) => median(group.map((r) => r.result.nodes?.[k]?.cpuUsPerDelivery ?? NaN)),
      );
      return medians.length === 0 ? null : Math.max(...medians);
    };
    const oneRedis = worstNode(setupLabel({ nodes: 1, redis: true }));
    const sqlite = worstNode(setupLabel({ nodes: 1, redis: false }));
    for (const label of labels) {
      const setupRuns = bySetup.get(label) ?? [];
      const group = setupRuns.map((r) => r.result);
      const perMessage = setupRuns.flatMap((r) =>
        r.logEntries === undefined || r.result.sent === 0 ? [] : [r.logEntries / r.result.sent]
      );
      const fanouts = group.flatMap((r) => (r.kind === "fanout" ? [r] : []));
      const p99 = group.flatMap((r) => r.latency?.p99Ms ?? []);
      const lost = group.reduce((n, r) => n + r.lost + r.orderViolations, 0);
      const nodes = group[0]?.nodes?.length ?? 0;
      const perNode = Array.from(
        { length: nodes },
        (_, k) => `n${k + 1} ${spread(group.map((r) => r.nodes?.[k]?.cpuUsPerDelivery ?? NaN), 3)}`,
      ).join("; ");
      const worst = worstNode(label);
      const ratio = (base: number | null) =>
        worst === null || base === null || !(base > 0) ? "—" : `${fixed(worst / base, 2)}×`;
      const redisPer = (per: (r: ClusterResult) => number) =>
        group.some((r) => r.redisCpuMs !== undefined)
          ? spread(group.map((r) => ((r.redisCpuMs ?? 0) * 1000) / per(r)), 2)
          : "—";
      const rss = Array.from(
        { length: nodes },
        (_, k) =>
          `${fixed(median(group.map((r) => (r.nodes?.[k]?.rssAfterSetupKiB ?? 0) / 1024)), 0)}/${
            fixed(median(group.map((r) => (r.nodes?.[k]?.peakRssKiB ?? 0) / 1024)), 0)
          }`,
      ).join(", ");
      rows.push([
        `${load}; ${label}`,
        `${group.length}`,
        fanouts.length === 0 ? "—" : spread(fanouts.map((f) => f.deliveriesPerSec / 1000), 0),
        perNode,
        ratio(oneRedis),
        ratio(sqlite),
        redisPer((r) => r.delivered),
        redisPer((r) => r.sent),
        perMessage.length === 0 ? "—" : spread(perMessage, 3),
        spread(p99, 2),
        rss,
        String(lost),
      ]);
    }
  }
  return table(
    [
      "cluster (issue 16), median (range)",
      "runs",
      "deliveries/s (thousands)",
      "CPU µs per delivery to own clients, per node",
      "worst node ÷ 1 node on Redis",
      "worst node ÷ SQLite node",
      "Redis CPU µs per delivery",
      "Redis CPU µs per message",
      "log entries per message",
      "p99 send→receipt, ms",
      "RSS after set-up / peak, MiB, per node",
      "lost or reordered",
    ],
    rows,
  );
}
