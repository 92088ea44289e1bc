/**
 * The benchmark suite: every load scenario, at full size and at smoke size. Each runs against a
 * fresh server. Sizes are bounded twice: by count here, and by the spec's `timeoutMs`.
 *
 * @module
 */

import { clusterScenarios, type ClusterSetup, clusterSmokeScenarios } from "./cluster_mode.ts";
import type { LatencySpec, LoadSpec } from "./loadgen/spec.ts";

/** The server a scenario runs against. */
export type ServerKind = "sockchat" | "floor" | "ngircd";

/**
 * The measurements that issue 11's targets compare across servers: each is run on sockchat, on
 * the bare Deno relay and (where it speaks the load) on ngircd, interleaved, and compared by
 * their medians.
 */
export type Comparison =
  | "small room, pipelined"
  | "small room, window 64"
  | "big room"
  | "latency"
  | "idle 1000"
  | "idle 5000";

/**
 * The front end a scenario's clients use: sockchat's TCP port (native NDJSON clients), its web
 * port's `/ws` (a WebSocket each, as the browser page connects, speaking the same NDJSON), or its
 * IRC port (`--irc-port`: IRC clients, each requesting {@linkcode IRC_BENCH_CAPS}).
 */
export type FrontEnd = "tcp" | "web" | "irc";

/**
 * The caps every IRC client of an IRC-port scenario requests: a modern client's set of those that
 * change broadcast lines (`@time=...;msgid=...` on every message), all readers alike, as a room of
 * one client program would be. No echo-message: a sender's own line would count as a delivery.
 */
export const IRC_BENCH_CAPS: readonly string[] = [
  "server-time",
  "message-tags",
  "account-tag",
  "extended-join",
];

/** The loads run both over TCP and over WebSocket, so that the two can be compared. */
export type FrontEndRow = "headline" | "idle 1000";

/** One measurement: a load spec and a name to report it under. */
export interface Scenario {
  /** The name in reports and on the command line. */
  name: string;
  /** What the load generator runs. */
  spec: LoadSpec;
  /**
   * What serves it: sockchat, `bench/floor_relay.ts` (the bare Deno relay, the runtime's
   * floor), or ngircd as a peer (only when it is installed). @default "sockchat"
   */
  server?: ServerKind;
  /** Which of issue 11's comparisons this run counts towards (its median is compared). */
  comparison?: Comparison;
  /** The issue's headline measurement, summarised in the targets table (median of repeats). */
  headline?: boolean;
  /** Run the server with `--inspect`, so the load generator can force a GC before measuring. */
  inspect?: boolean;
  /** Serve metrics (when `serve` can), so the load generator can read the queued bytes. */
  metrics?: boolean;
  /**
   * Which row of the front-end comparison (issue 14) this run counts towards: the same load over
   * TCP and over WebSocket, compared by their medians.
   */
  frontEndRow?: FrontEndRow;
  /**
   * Where the clients connect: for `web`, sockchat is started with its web port, and the floor is
   * `bench/floor_ws_relay.ts` instead of `bench/floor_relay.ts`; for `irc`, sockchat is started
   * with its IRC port (sockchat only). @default "tcp"
   */
  front?: FrontEnd;
  /**
   * Which row of the IRC front-end comparison (issue 15) this run counts towards, by its room's
   * size: the same load on sockchat's IRC port, on its NDJSON port, and on ngircd.
   */
  ircRoom?: number;
  /**
   * Cluster mode (issue 16): what serves it (a Redis and nodes, or the SQLite node for
   * reference), started by `bench/cluster_mode.ts`; `server` and `front` are then ignored.
   */
  cluster?: ClusterSetup;
  /** The load's group of rows in the cluster table. */
  clusterLoad?: string;
}

/** Messages per sender in the headline fan-out (issue 6). */
const HEADLINE_PER_SENDER = 4000;
/** Fan-out runs stop growing here, so that "everyone sends" at 100 clients stays short. */
const DELIVERY_BUDGET = 2_000_000;
/** Messages per sender in the IRC comparison's 500-client room (see `ircScenarios`). */
const IRC_BIG_ROOM_PER_SENDER = 400;
/** A sender's window in the windowed fan-out. */
const WINDOW = 64;
const TEXT_BYTES = 64;
/** Times each compared measurement is repeated (interleaved across servers); medians count. */
const REPEATS = 3;
/** Issue 11: idle RSS is read after this long without traffic, as an operator would. */
const IDLE_QUIET_MS = 20_000;

/** The name of the headline's load with WebSocket clients (issue 14); repeats add `(run N)`. */
export const WEB_HEADLINE =
  "headline over WebSocket: 100 clients on /ws, 5 send 4000 x 64 B pipelined";

/** What each server is called in a scenario's name. */
const ON: Record<ServerKind, string> = {
  sockchat: "",
  floor: ", bare Deno relay",
  ngircd: ", ngircd over IRC",
};

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

/** Messages per sender for a fan-out of `clients` with `senders`, within the delivery budget. */
function perSenderFor(clients: number, senders: number): number {
  return Math.min(HEADLINE_PER_SENDER, Math.floor(DELIVERY_BUDGET / (senders * (clients - 1))));
}

function fullScenarios(): Scenario[] {
  const list: Scenario[] = [];
  // The compared measurements, interleaved: one of each server per repeat, so that a noisy
  // minute on the machine hits all of them rather than one.
  for (let run = 1; run <= REPEATS; run++) {
    for (const server of ["sockchat", "floor", "ngircd"] as const) {
      list.push({
        name: server === "sockchat"
          ? `headline: 100 clients, 5 send 4000 x 64 B pipelined (run ${run})`
          : `headline${ON[server]}: same load (${server} run ${run})`,
        spec: fanout(100, 5, null, HEADLINE_PER_SENDER, 60_000),
        server,
        comparison: "big room",
        headline: server === "sockchat",
        frontEndRow: server === "ngircd" ? undefined : "headline",
      });
    }
    // Issue 14: the same room, every client a WebSocket on the web port instead (as browsers
    // connect), in the same repeat so that a noisy minute hits both.
    for (const server of ["sockchat", "floor"] as const) {
      list.push({
        name: server === "sockchat"
          ? `${WEB_HEADLINE} (run ${run})`
          : `headline over WebSocket${ON[server]}: same load (${server} run ${run})`,
        spec: fanout(100, 5, null, HEADLINE_PER_SENDER, 60_000),
        server,
        front: "web",
        frontEndRow: "headline",
      });
    }
    for (const window of [null, WINDOW]) {
      // IRC has no ack to hold a window open on, so ngircd runs the pipelined load only.
      const servers = window === null
        ? (["sockchat", "floor", "ngircd"] as const)
        : (["sockchat", "floor"] as const);
      for (const server of servers) {
        list.push({
          name: `${fanoutName(10, 10, window)}${ON[server]} (repeat ${run})`,
          spec: fanout(10, 10, window, perSenderFor(10, 10), 60_000),
          server,
          comparison: window === null ? "small room, pipelined" : "small room, window 64",
        });
      }
    }
  }
  list.push(...ircScenarios());
  list.push(...clusterScenarios());
  for (const clients of [10, 50, 100]) {
    for (const senders of [5, clients]) {
      for (const window of [null, WINDOW]) {
        if (clients === 10 && senders === clients) continue; // compared above
        list.push({
          name: fanoutName(clients, senders, window),
          spec: fanout(clients, senders, window, perSenderFor(clients, senders), 60_000),
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
  for (let run = 1; run <= REPEATS; run++) {
    for (const server of ["sockchat", "floor", "ngircd"] as const) {
      list.push({
        name: `latency${ON[server]}: 50 clients, one message every 10 ms for 5 s (repeat ${run})`,
        spec: latency,
        server,
        comparison: "latency",
      });
    }
  }
  for (const clients of [1000, 5000, 10_000]) {
    const comparison = clients === 1000 ? "idle 1000" : clients === 5000 ? "idle 5000" : undefined;
    const servers = comparison === undefined
      ? ["sockchat" as const]
      : ["sockchat", "floor"] as const;
    const spec: LoadSpec = {
      kind: "idle",
      clients,
      concurrency: 10,
      settleMs: IDLE_QUIET_MS,
      timeoutMs: 120_000,
    };
    const quiet = `${clients.toLocaleString("en-US")} joined clients, ${
      IDLE_QUIET_MS / 1000
    } s quiet`;
    const frontEndRow = clients === 1000 ? "idle 1000" : undefined;
    for (const server of servers) {
      list.push({
        name: `idle${ON[server]}: ${quiet}`,
        spec,
        server,
        comparison,
        inspect: true,
        frontEndRow,
      });
    }
    if (frontEndRow !== undefined) {
      for (const server of servers) {
        list.push({
          name: `idle over WebSocket${ON[server]}: ${quiet}`,
          spec,
          server,
          inspect: true,
          front: "web",
          frontEndRow,
        });
      }
    }
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

/** Common part of the IRC comparison's names: `--only "issue 15"` runs all of it. */
export const IRC_COMPARISON = "IRC front end (issue 15)";

/**
 * Issue 15: a room of IRC clients on sockchat's IRC port, 5 of them pipelining, against the same
 * load from native NDJSON clients and on ngircd, interleaved, in a 100-client room (the headline's
 * load) and a 500-client one (where encoding per reader would cost the most).
 */
function ircScenarios(): Scenario[] {
  const list: Scenario[] = [];
  for (const clients of [100, 500]) {
    const senders = 5;
    // In the big room, each reader's whole share (2,000 lines, about 350 KB on IRC with tags)
    // fits its queue (--max-queue, 512 KiB): one load generator reading 500 sockets falls behind
    // at times, and at 4,000 lines a reader the server rightly dropped some as too slow.
    const perSender = clients === 100 ? HEADLINE_PER_SENDER : IRC_BIG_ROOM_PER_SENDER;
    const load = `${clients} clients, ${senders} send ${perSender} x ${TEXT_BYTES} B pipelined`;
    for (let run = 1; run <= REPEATS; run++) {
      for (const column of ["irc", "tcp", "ngircd"] as const) {
        const spec = fanout(clients, senders, null, perSender, 120_000);
        list.push(
          column === "irc"
            ? { name: `${IRC_COMPARISON}: ${load} on IRC (run ${run})`, spec, front: "irc" }
            : column === "tcp"
            ? { name: `${IRC_COMPARISON}, native NDJSON: ${load} (run ${run})`, spec }
            : {
              name: `${IRC_COMPARISON}${ON.ngircd}: ${load} (run ${run})`,
              spec,
              server: "ngircd",
            },
        );
        list[list.length - 1].ircRoom = clients;
      }
    }
  }
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
  const idle: LoadSpec = {
    kind: "idle",
    clients: 50,
    concurrency: 10,
    settleMs: 300,
    timeoutMs: 10_000,
  };
  return [
    {
      name: "headline (smoke): 10 clients, 2 send 200 pipelined",
      spec: fanout(10, 2, null, 200, 10_000),
      headline: true,
    },
    {
      name: "headline over WebSocket (smoke): 10 clients on /ws, 2 send 200 pipelined",
      spec: fanout(10, 2, null, 200, 10_000),
      front: "web",
    },
    { name: fanoutName(10, 10, WINDOW), spec: fanout(10, 10, WINDOW, 50, 10_000) },
    {
      name: `headline over WebSocket${ON.floor} (smoke): same load`,
      spec: fanout(10, 2, null, 200, 10_000),
      server: "floor",
      front: "web",
    },
    {
      name: `${fanoutName(10, 10, WINDOW)}${ON.floor} (smoke)`,
      spec: fanout(10, 10, WINDOW, 50, 10_000),
      server: "floor",
    },
    {
      name: `${IRC_COMPARISON} (smoke): 10 IRC clients, 2 send 200 pipelined`,
      spec: fanout(10, 2, null, 200, 10_000),
      front: "irc",
    },
    {
      name: `${fanoutName(10, 10, null)}${ON.ngircd} (smoke)`,
      spec: fanout(10, 10, null, 50, 10_000),
      server: "ngircd",
    },
    { name: "latency (smoke): 5 clients, every 10 ms for 0.3 s", spec: latency },
    { name: `latency${ON.floor} (smoke)`, spec: latency, server: "floor" },
    { name: `latency${ON.ngircd} (smoke)`, spec: latency, server: "ngircd" },
    { name: "idle (smoke): 50 joined clients", spec: idle, inspect: true },
    {
      name: "idle over WebSocket (smoke): 10 joined clients on /ws",
      spec: { ...idle, clients: 10 },
      inspect: true,
      front: "web",
    },
    {
      name: `idle${ON.floor} (smoke): 50 joined clients`,
      spec: idle,
      server: "floor",
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
    ...clusterSmokeScenarios(),
  ];
}
