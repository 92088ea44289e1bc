/**
 * Issue 14's comparison: the same loads with every client on sockchat's TCP port (native NDJSON
 * clients) and on its web port's `/ws` (a WebSocket each, as the browser page connects), each
 * beside the bare Deno relay for that front end (`bench/floor_relay.ts`, `bench/floor_ws_relay.ts`)
 * from the same run. Figures are medians of the repeats, with their range.
 *
 * @module
 */

import type { FanoutResult, IdleResult, LoadResult } from "./loadgen/spec.ts";
import { fixed, type Outcome, pick, table } from "./report.ts";
import type { FrontEnd, FrontEndRow, ServerKind } from "./scenarios.ts";
import { median } from "./targets.ts";

/** The columns: sockchat and the relay, each over TCP and over WebSocket. */
const COLUMNS: readonly { server: ServerKind; front: FrontEnd }[] = [
  { server: "sockchat", front: "tcp" },
  { server: "sockchat", front: "web" },
  { server: "floor", front: "tcp" },
  { server: "floor", front: "web" },
];

/** One figure per column: median and range of `read` over the runs of `row`. */
function figures<R extends LoadResult>(
  runs: { scenario: Outcome["scenario"]; result: R }[],
  row: FrontEndRow,
  read: (r: R) => number,
): (number[] | null)[] {
  return COLUMNS.map(({ server, front }) => {
    const values = runs.filter(({ scenario }) =>
      scenario.frontEndRow === row && (scenario.server ?? "sockchat") === server &&
      (scenario.front ?? "tcp") === front
    ).map(({ result }) => read(result));
    return values.length === 0 ? null : values;
  });
}

/** `median (min–max)` with `digits` decimals, or a dash when nothing ran. */
export function spread(values: number[] | null, digits: number): string {
  if (values === null) return "—";
  const m = fixed(median(values), digits);
  if (values.length === 1) return m;
  return `${m} (${fixed(Math.min(...values), digits)}–${fixed(Math.max(...values), digits)})`;
}

/** `a / b` of two medians, as `12.3×`. */
export function times(a: number[] | null, b: number[] | null): string {
  if (a === null || b === null) return "—";
  const x = median(a) / median(b);
  return Number.isFinite(x) && x > 0 ? `${fixed(x, 1)}×` : "—";
}

/** WebSocket over TCP on sockchat and on the relay, and sockchat over the relay on WebSocket. */
function ratios(f: (number[] | null)[]): string[] {
  return [times(f[1], f[0]), times(f[3], f[2]), times(f[1], f[3])];
}

/**
 * The front-end table: CPU per delivery, throughput and RSS of the headline load, and RSS per
 * idle connection at 1,000, for TCP and WebSocket clients on sockchat and on the bare relays.
 * Empty (headers only) when none of those scenarios ran.
 */
export function frontEndTable(outcomes: Outcome[]): string {
  const fanouts = pick(outcomes, "fanout");
  const idles = pick(outcomes, "idle");
  const rows: string[][] = [];
  const fanoutRow = (label: string, read: (r: FanoutResult) => number, digits: number) => {
    const f = figures(fanouts, "headline", read);
    if (f.every((v) => v === null)) return;
    rows.push([label, ...f.map((v) => spread(v, digits)), ...ratios(f)]);
  };
  const idleRow = (label: string, read: (r: IdleResult) => number, digits: number) => {
    const f = figures(idles, "idle 1000", read);
    if (f.every((v) => v === null)) return;
    rows.push([label, ...f.map((v) => spread(v, digits)), ...ratios(f)]);
  };
  fanoutRow("headline load: server CPU µs per delivery", (r) => r.serverCpuUsPerDelivery, 3);
  fanoutRow("headline load: deliveries/s (thousands)", (r) => r.deliveriesPerSec / 1000, 0);
  fanoutRow("headline load: server RSS after set-up, MiB", (r) => r.rssAfterSetupKiB / 1024, 1);
  fanoutRow("headline load: server peak RSS, MiB", (r) => r.peakRssKiB / 1024, 1);
  fanoutRow("headline load: deliveries lost", (r) => r.lost, 0);
  idleRow("idle 1,000: KiB per connection, no forced GC", (r) => r.rssPerConnectionNoGcKiB, 1);
  idleRow("idle 1,000: KiB per connection, after a forced GC", (r) => r.rssPerConnectionKiB, 1);
  idleRow("idle 1,000: JS heap KiB per connection", (r) => r.heapPerConnectionKiB ?? NaN, 1);
  idleRow("idle 1,000: server CPU for the logins, s", (r) => r.serverCpuMs / 1000, 2);
  return table(
    [
      "front ends (issue 14), median (range)",
      "sockchat, TCP",
      "sockchat, WebSocket",
      "bare relay, TCP",
      "bare relay, WebSocket",
      "sockchat WS ÷ TCP",
      "relay WS ÷ TCP",
      "sockchat WS ÷ relay WS",
    ],
    rows,
  );
}
