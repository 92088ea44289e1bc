/**
 * Issue 6's targets, and the table that holds a run up against them.
 *
 * @module
 */

import { fixed, int, mib, ms, type Outcome, pick, table } from "./report.ts";

/** Issue 6's targets. */
export const TARGETS = {
  cpuUsPerDelivery: 0.25,
  deliveriesPerSec: 3_000_000,
  p50Ms: 0.5,
  p99Ms: 1.0,
  idleKiBPerConnection: 8,
  idleClients: 5000,
  /** Issue 11: 5,000 logins into one room send O(n) bytes and cost little CPU. */
  loginStormMiB: 50,
  loginStormCpuS: 2,
} as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)];
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
  // The do-nothing relay's figures say how much of the latency is the machine's, not sockchat's.
  const floor = pick(outcomes, "latency").find((o) => o.scenario.floor)?.result.latency;
  const onFloor = (value: number | undefined) =>
    value === undefined ? "" : ` (do-nothing relay: ${ms(value)})`;
  for (const { result: r } of pick(outcomes, "latency").filter((o) => !o.scenario.floor)) {
    rows.push([
      `latency p50 ≤ ${TARGETS.p50Ms} ms`,
      ms(r.latency.p50Ms) + onFloor(floor?.p50Ms),
      verdict(r.latency.p50Ms <= TARGETS.p50Ms),
    ]);
    rows.push([
      `latency p99 ≤ ${TARGETS.p99Ms} ms`,
      ms(r.latency.p99Ms) + onFloor(floor?.p99Ms),
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
    const sentMiB = r.setupBytes / (1024 * 1024);
    rows.push([
      `${int(r.clients)} logins into one room: ≤ ${TARGETS.loginStormMiB} MiB sent, ` +
      `≤ ${TARGETS.loginStormCpuS} s of server CPU`,
      `${fixed(sentMiB, 1)} MiB, ${fixed(r.serverCpuMs / 1000, 1)} s`,
      verdict(
        sentMiB <= TARGETS.loginStormMiB && r.serverCpuMs / 1000 <= TARGETS.loginStormCpuS &&
          !r.timedOut,
      ),
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
    // The stalled reader may hold at most its queue. The server's own gauge of queued bytes
    // shows that directly; RSS only bounds it loosely, as V8 grows its heap under any load.
    const capBytes = queueCapKiB * 1024;
    const live = r.heapAfter === null
      ? ""
      : `; live heap + buffers after a GC ${
        mib(r.heapAfter.usedKiB + r.heapAfter.backingStoreKiB)
      }`;
    const rss = `RSS peak +${int(r.peakRssKiB.during - r.peakRssKiB.before)} KiB${live}`;
    if (r.peakQueueBytes === null) {
      rows.push([
        `server memory within the documented queue bound (${int(queueCapKiB)} KiB)`,
        rss,
        "n/a",
      ]);
    } else {
      const extra = r.peakQueueBytes.during - r.peakQueueBytes.before;
      rows.push([
        `server memory for the stalled reader within the documented queue bound (${
          int(queueCapKiB)
        } KiB)`,
        `queued bytes peak +${int(extra / 1024)} KiB during the stall; ${rss}`,
        verdict(extra <= capBytes),
      ]);
    }
  }
  return table(["target (issue 6)", "measured", "verdict"], rows);
}
