/**
 * Issue 15's comparison: the same fan-out with every client on sockchat's IRC port (each with the
 * same caps, `IRC_BENCH_CAPS` in `scenarios.ts`), on its NDJSON port, and on ngircd, from the same run, in
 * each room size measured. Figures are medians of the repeats, with their range.
 *
 * @module
 */

import { spread, times } from "./front_ends.ts";
import type { FanoutResult } from "./loadgen/spec.ts";
import { type Outcome, pick, table } from "./report.ts";
import type { Scenario } from "./scenarios.ts";

/** The columns: which server, and which of sockchat's ports. */
const COLUMNS: readonly ((s: Scenario) => boolean)[] = [
  (s) => (s.server ?? "sockchat") === "sockchat" && s.front === "irc",
  (s) => (s.server ?? "sockchat") === "sockchat" && (s.front ?? "tcp") === "tcp",
  (s) => s.server === "ngircd",
];

/**
 * The IRC table: per room size, server CPU per delivery, throughput, RSS (no forced GC) and loss
 * on sockchat over IRC, over NDJSON, and on ngircd, with IRC's ratio to each. Empty (headers
 * only) when none of those scenarios ran.
 */
export function ircTable(outcomes: Outcome[]): string {
  const fanouts = pick(outcomes, "fanout");
  const rooms = [...new Set(fanouts.flatMap(({ scenario }) => scenario.ircRoom ?? []))].sort(
    (a, b) => a - b,
  );
  const rows: string[][] = [];
  for (const room of rooms) {
    const row = (label: string, read: (r: FanoutResult) => number, digits: number) => {
      const f = COLUMNS.map((column) => {
        const values = fanouts.filter(({ scenario }) =>
          scenario.ircRoom === room && column(scenario)
        ).map(({ result }) => read(result));
        return values.length === 0 ? null : values;
      });
      if (f.every((v) => v === null)) return;
      rows.push([
        `${room} clients: ${label}`,
        ...f.map((v) => spread(v, digits)),
        times(f[0], f[1]),
        times(f[0], f[2]),
      ]);
    };
    row("server CPU µs per delivery", (r) => r.serverCpuUsPerDelivery, 3);
    row("deliveries/s (thousands)", (r) => r.deliveriesPerSec / 1000, 0);
    row("server RSS after set-up, MiB", (r) => r.rssAfterSetupKiB / 1024, 1);
    row("server peak RSS, MiB", (r) => r.peakRssKiB / 1024, 1);
    row("deliveries lost", (r) => r.lost, 0);
  }
  return table(
    [
      "IRC front end (issue 15), median (range)",
      "sockchat, IRC",
      "sockchat, NDJSON",
      "ngircd",
      "IRC ÷ NDJSON",
      "IRC ÷ ngircd",
    ],
    rows,
  );
}
