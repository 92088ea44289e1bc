/**
 * The benchmark suite: every load scenario, at full size and at smoke size. Each runs against a
 * fresh server. Sizes are bounded twice: by count here, and by the spec's `timeoutMs`.
 *
 * @module
 */

import type { LatencySpec, LoadSpec } from "./loadgen/spec.ts";

/** One measurement: a load spec and a name to report it under. */
export interface Scenario {
  /** The name in reports and on the command line. */
  name: string;
  /** What the load generator runs. */
  spec: LoadSpec;
  /** The issue's headline measurement, summarised in the targets table (median of repeats). */
  headline?: boolean;
  /** Run the server with `--inspect`, so the load generator can force a GC before measuring. */
  inspect?: boolean;
  /** Run `bench/floor_relay.ts` instead of sockchat, to show the harness's own floor. */
  floor?: boolean;
  /** Serve metrics (when `serve` can), so the load generator can read the queued bytes. */
  metrics?: boolean;
}

/** Messages per sender in the headline fan-out (issue 6). */
const HEADLINE_PER_SENDER = 4000;
/** Fan-out runs stop growing here, so that "everyone sends" at 100 clients stays short. */
const DELIVERY_BUDGET = 2_000_000;
/** A sender's window in the windowed fan-out. */
const WINDOW = 64;
const TEXT_BYTES = 64;
/** Times the headline is repeated; the report gives the median. */
const HEADLINE_REPEATS = 3;

/** The scenarios of a full run, or of a smoke run (tiny, seconds in all). */
export function scenarios(smoke: boolean): Scenario[] {
  return smoke ? smokeScenarios() : fullScenarios();
}

function fanout(
  clients: number,
  senders: number,
  window: number | null,
  perSender: number,
  timeoutMs: number,
): LoadSpec {
  return { kind: "fanout", clients, senders, perSender, textBytes: TEXT_BYTES, window, timeoutMs };
}

function fanoutName(clients: number, senders: number, window: number | null): string {
  const who = senders === clients ? "all send" : `${senders} send`;
  return `fan-out ${clients} clients, ${who}, ${
    window === null ? "pipelined" : `window ${window}`
  }`;
}

function fullScenarios(): Scenario[] {
  const list: Scenario[] = [];
  for (let run = 1; run <= HEADLINE_REPEATS; run++) {
    list.push({
      name: `headline: 100 clients, 5 send 4000 x 64 B pipelined (run ${run})`,
      spec: fanout(100, 5, null, HEADLINE_PER_SENDER, 60_000),
      headline: true,
    });
  }
  for (const clients of [10, 50, 100]) {
    for (const senders of [5, clients]) {
      for (const window of [null, WINDOW]) {
        const perSender = Math.min(
          HEADLINE_PER_SENDER,
          Math.floor(DELIVERY_BUDGET / (senders * (clients - 1))),
        );
        list.push({
          name: fanoutName(clients, senders, window),
          spec: fanout(clients, senders, window, perSender, 60_000),
        });
      }
    }
  }
  const latency: LatencySpec = {
    kind: "latency",
    clients: 50,
    intervalMs: 10,
    durationMs: 5000,
    textBytes: TEXT_BYTES,
    timeoutMs: 30_000,
  };
  list.push({ name: "latency: 50 clients, one message every 10 ms for 5 s", spec: latency });
  list.push({
    name: "latency floor: same load on a do-nothing Deno relay (not sockchat)",
    spec: latency,
    floor: true,
  });
  for (const clients of [1000, 5000, 10_000]) {
    list.push({
      name: `idle: ${clients} joined clients`,
      spec: { kind: "idle", clients, concurrency: 10, settleMs: 5000, timeoutMs: 120_000 },
      inspect: true,
    });
  }
  list.push({
    name: "slow consumer: 50 clients, 5 send flat out, 1 reader stalls 3 s",
    spec: {
      kind: "slow",
      clients: 50,
      senders: 5,
      window: WINDOW,
      textBytes: TEXT_BYTES,
      warmMs: 2000,
      stallMs: 3000,
      afterMs: 1000,
      timeoutMs: 30_000,
    },
    inspect: true,
    metrics: true,
  });
  return list;
}

function smokeScenarios(): Scenario[] {
  const latency: LatencySpec = {
    kind: "latency",
    clients: 5,
    intervalMs: 10,
    durationMs: 300,
    textBytes: TEXT_BYTES,
    timeoutMs: 10_000,
  };
  return [
    {
      name: "headline (smoke): 10 clients, 2 send 200 pipelined",
      spec: fanout(10, 2, null, 200, 10_000),
      headline: true,
    },
    { name: fanoutName(10, 10, WINDOW), spec: fanout(10, 10, WINDOW, 50, 10_000) },
    { name: "latency (smoke): 5 clients, every 10 ms for 0.3 s", spec: latency },
    { name: "latency floor (smoke): do-nothing relay", spec: latency, floor: true },
    {
      name: "idle (smoke): 50 joined clients",
      spec: { kind: "idle", clients: 50, concurrency: 10, settleMs: 300, timeoutMs: 10_000 },
      inspect: true,
    },
    {
      name: "slow consumer (smoke): 6 clients, 1 reader stalls 0.3 s",
      spec: {
        kind: "slow",
        clients: 6,
        senders: 2,
        window: 16,
        textBytes: TEXT_BYTES,
        warmMs: 100,
        stallMs: 300,
        afterMs: 100,
        timeoutMs: 10_000,
      },
      inspect: true,
      metrics: true,
    },
  ];
}
