/**
 * The targets tables: issue 11's, where each figure stands beside the same measurement on the
 * bare Deno relay and on ngircd from the same run, with the ratios; and issue 6's, kept below it.
 *
 * @module
 */

import type { LoadResult } from "./loadgen/spec.ts";
import { fixed, int, mib, ms, type Outcome, pick, table } from "./report.ts";
import type { Comparison, ServerKind } from "./scenarios.ts";

/** Issue 6's targets. */
export const TARGETS = {
  cpuUsPerDelivery: 0.25,
  deliveriesPerSec: 3_000_000,
  p50Ms: 0.5,
  p99Ms: 1.0,
  idleKiBPerConnection: 8,
  idleClients: 5000,
} as const;

/** Issue 11's targets. */
export const ISSUE_11 = {
  /** Small room: sockchat's CPU per delivery at most ngircd's. */
  smallRoomVsNgircd: 1,
  /** Big room: sockchat's CPU per delivery at most this share of ngircd's. */
  bigRoomVsNgircd: 0.45,
  /** Latency p99 at most this multiple of the bare Deno relay's (and at most ngircd's). */
  p99VsFloor: 1.1,
  /** RSS per idle connection after the quiet period, no forced GC, in KiB (`/proc`'s kB). */
  idleKiBPerConnection: 12,
  /** 5,000 logins into one room: bytes sent in all, and server CPU. */
  loginStormClients: 5000,
  loginStormMiB: 50,
  loginStormCpuS: 2,
} as const;

/** The median; NaN for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)];
}

/** `a / b` as `1.23×`, or "n/a" when either is missing or b is not positive. */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${fixed(a / b, 2)}×` : "n/a";
}

/** A compared measurement on one server: its median and whether every run was whole. */
interface Figure {
  value: number;
  runs: number;
  whole: boolean;
}

/** The median of `read` over the runs of `comparison` on `server`; null when none ran. */
function figure<K extends LoadResult["kind"]>(
  outcomes: Outcome[],
  kind: K,
  comparison: Comparison,
  server: ServerKind,
  read: (r: Extract<LoadResult, { kind: K }>) => number,
): Figure | null {
  const runs = pick(outcomes, kind).filter((o) =>
    o.scenario.comparison === comparison && (o.scenario.server ?? "sockchat") === server
  ).map((o) => o.result);
  if (runs.length === 0) return null;
  const whole = runs.every((r: LoadResult) => {
    switch (r.kind) {
      case "idle":
        return r.joined === r.clients && !r.timedOut;
      default:
        return r.lost === 0 && !r.timedOut;
    }
  });
  return { value: median(runs.map(read)), runs: runs.length, whole };
}

/** The three figures of one comparison. */
interface Compared {
  sockchat: Figure | null;
  floor: Figure | null;
  ngircd: Figure | null;
}

function compared<K extends LoadResult["kind"]>(
  outcomes: Outcome[],
  kind: K,
  comparison: Comparison,
  read: (r: Extract<LoadResult, { kind: K }>) => number,
): Compared {
  return {
    sockchat: figure(outcomes, kind, comparison, "sockchat", read),
    floor: figure(outcomes, kind, comparison, "floor", read),
    ngircd: figure(outcomes, kind, comparison, "ngircd", read),
  };
}

/**
 * Issue 11's targets table: for each target, sockchat's figure, the bare Deno relay's and
 * ngircd's from the same run (medians of the interleaved repeats), the ratios, and the verdict.
 *
 * @param ngircdInstalled false when ngircd was not on PATH, so its column is empty on purpose
 */
export function targetsTable(outcomes: Outcome[], ngircdInstalled: boolean): string {
  const rows: string[][] = [];
  const noPeer = ngircdInstalled ? "n/a (ngircd did not run)" : "n/a (ngircd not installed)";
  const noTarget = "—";
  /** A verdict, or the reason there is none. */
  const verdict = (ok: boolean | string) =>
    typeof ok === "string" ? ok : ok ? "met" : "**not met**";
  const cell = (f: Figure | null, show: (v: number) => string) =>
    f === null ? "—" : `${show(f.value)}${f.whole ? "" : " (loss or timeout)"}`;
  const row = (
    target: string,
    c: Compared,
    show: (v: number) => string,
    ok: boolean | string,
  ) => {
    const s = c.sockchat?.value ?? Number.NaN;
    rows.push([
      target,
      cell(c.sockchat, show),
      cell(c.floor, show),
      c.floor === null ? "—" : ratio(s, c.floor.value),
      cell(c.ngircd, show),
      c.ngircd === null ? "—" : ratio(s, c.ngircd.value),
      c.sockchat === null
        ? "not measured"
        : c.sockchat.whole || ok === noTarget
        ? verdict(ok)
        : "**not met** (loss)",
    ]);
  };
  const us = (v: number) => `${fixed(v, 3)} µs`;
  const cpu = (r: { serverCpuUsPerDelivery: number }) => r.serverCpuUsPerDelivery;
  const vsNgircd = (c: Compared, most: number) =>
    c.sockchat === null || c.ngircd === null ? noPeer : c.sockchat.value <= most * c.ngircd.value;

  const small = compared(outcomes, "fanout", "small room, pipelined", cpu);
  if (small.sockchat !== null) {
    row(
      "server CPU per delivery, 10 clients all sending, pipelined: ≤ ngircd's",
      small,
      us,
      vsNgircd(small, ISSUE_11.smallRoomVsNgircd),
    );
  }
  const windowed = compared(outcomes, "fanout", "small room, window 64", cpu);
  if (windowed.sockchat !== null) {
    // IRC has no ack to hold a window on: ngircd's column is its pipelined figure.
    const withPeer = { ...windowed, ngircd: small.ngircd };
    row(
      "the same, window 64: ≤ ngircd's (ngircd: its pipelined figure, IRC has no acks)",
      withPeer,
      us,
      vsNgircd(withPeer, ISSUE_11.smallRoomVsNgircd),
    );
  }
  const big = compared(outcomes, "fanout", "big room", cpu);
  if (big.sockchat !== null) {
    row(
      `server CPU per delivery, 100 clients, 5 send: ≤ ${ISSUE_11.bigRoomVsNgircd} × ngircd's`,
      big,
      us,
      vsNgircd(big, ISSUE_11.bigRoomVsNgircd),
    );
  }
  const p99 = compared(outcomes, "latency", "latency", (r) => r.latency.p99Ms);
  if (p99.sockchat !== null) {
    const s = p99.sockchat.value;
    const ok = p99.floor === null
      ? "n/a (the bare relay did not run)"
      : s <= ISSUE_11.p99VsFloor * p99.floor.value &&
        (p99.ngircd === null || s <= p99.ngircd.value);
    row(
      `latency p99, 50 clients, 1 msg / 10 ms: ≤ ${ISSUE_11.p99VsFloor} × bare relay, ≤ ngircd`,
      p99,
      ms,
      ok,
    );
    row(
      "latency p50 (no target)",
      compared(outcomes, "latency", "latency", (r) => r.latency.p50Ms),
      ms,
      noTarget,
    );
  }
  const kib = (v: number) => `${fixed(v, 1)} KiB`;
  for (const [comparison, clients] of [["idle 1000", 1000], ["idle 5000", 5000]] as const) {
    const noGc = compared(outcomes, "idle", comparison, (r) => r.rssPerConnectionNoGcKiB);
    if (noGc.sockchat === null) continue;
    row(
      `RSS per idle connection at ${
        int(clients)
      }, after the quiet, no forced GC: ≤ ${ISSUE_11.idleKiBPerConnection} KiB`,
      noGc,
      kib,
      noGc.sockchat.value <= ISSUE_11.idleKiBPerConnection,
    );
    row(
      `the same after a forced GC (no target)`,
      compared(outcomes, "idle", comparison, (r) => r.rssPerConnectionKiB),
      kib,
      noTarget,
    );
  }
  const sent = compared(outcomes, "idle", "idle 5000", (r) => r.setupBytes / (1024 * 1024));
  const storm = compared(outcomes, "idle", "idle 5000", (r) => r.serverCpuMs / 1000);
  if (sent.sockchat !== null && storm.sockchat !== null) {
    row(
      `${
        int(ISSUE_11.loginStormClients)
      } logins into one room: ≤ ${ISSUE_11.loginStormMiB} MiB sent`,
      sent,
      (v) => `${fixed(v, 1)} MiB`,
      sent.sockchat.value <= ISSUE_11.loginStormMiB,
    );
    row(
      `… and ≤ ${ISSUE_11.loginStormCpuS} s of server CPU`,
      storm,
      (v) => `${fixed(v, 2)} s`,
      storm.sockchat.value <= ISSUE_11.loginStormCpuS,
    );
  }
  return table(
    [
      "target (issue 11)",
      "sockchat",
      "bare Deno relay",
      "sockchat ÷ relay",
      "ngircd",
      "sockchat ÷ ngircd",
      "verdict",
    ],
    rows,
  );
}

/**
 * Issue 6's targets table: the headline (median of its repeats), latency, idle memory after a
 * forced GC, and the slow consumer.
 *
 * @param queueCapKiB the per-connection outbound queue cap, the documented memory bound
 */
export function issue6Table(outcomes: Outcome[], queueCapKiB: number): string {
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
  const sockchat = (o: { scenario: { server?: ServerKind } }) =>
    (o.scenario.server ?? "sockchat") === "sockchat";
  const latency = pick(outcomes, "latency").filter(sockchat).map((o) => o.result);
  if (latency.length > 0) {
    const p50 = median(latency.map((r) => r.latency.p50Ms));
    const p99 = median(latency.map((r) => r.latency.p99Ms));
    rows.push([`latency p50 ≤ ${TARGETS.p50Ms} ms`, ms(p50), verdict(p50 <= TARGETS.p50Ms)]);
    rows.push([`latency p99 ≤ ${TARGETS.p99Ms} ms`, ms(p99), verdict(p99 <= TARGETS.p99Ms)]);
  }
  for (const { result: r } of pick(outcomes, "idle").filter(sockchat)) {
    if (r.clients !== TARGETS.idleClients) continue;
    const kib = r.rssPerConnectionKiB;
    rows.push([
      `RSS per idle joined connection at ${
        int(r.clients)
      } ≤ ${TARGETS.idleKiBPerConnection} KiB (after a forced GC)`,
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
