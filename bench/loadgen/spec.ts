/**
 * What the bench runner asks the load generator to do, and what it reports back. Both sides
 * import these types; the spec travels as a JSON argument, the result as one JSON line on stdout.
 *
 * @module
 */

import type { LatencySummary } from "./histogram.ts";
import type { HeapUsage } from "./inspector.ts";

/**
 * What the server under test speaks: sockchat's NDJSON on its TCP port, the same NDJSON on its
 * web port's `/ws` (one frame per WebSocket text message, as a browser sends it), or IRC (ngircd
 * as a peer).
 */
export type Protocol = "sockchat" | "websocket" | "irc";

/** An IRC operator's name and password, as the peer's configuration defines them. */
export interface IrcOper {
  /** The operator's name for `OPER`. */
  name: string;
  /** Its password. */
  password: string;
}

/** Where the server under test is, and how to read its CPU time. */
export interface Target {
  /** What it speaks. @default "sockchat" */
  protocol?: Protocol;
  /** IRC only: an operator that may lift its own flood limits. */
  ircOper?: IrcOper;
  /**
   * IRC only: caps every client requests (`CAP REQ`) before it registers, so that all readers
   * share one cap set; absent: no CAP negotiation (ngircd).
   */
  ircCaps?: string[];
  /** The server's chat port on 127.0.0.1 (its web port, for `websocket`). */
  port: number;
  /** Server process id, for `/proc` readings. */
  pid: number;
  /** `getconf CLK_TCK`. */
  clockTicks: number;
  /** Port of the server's `--inspect` endpoint, when it has one (to force a GC). */
  inspectPort?: number;
  /** Port of the server's `/metrics`, when it serves them (for its queued bytes). */
  metricsPort?: number;
  /**
   * Cluster mode (issue 16): every node of the cluster, clients spread over them (see
   * `nodeOf` in `cluster.ts`); `port` and `pid` are then the first node's. Absent: one server.
   */
  nodes?: NodeTarget[];
  /** Cluster mode: the redis-server's process id, for its CPU time from `/proc`. */
  redisPid?: number;
}

/** One node of a cluster under test. */
export interface NodeTarget {
  /** Its chat port on 127.0.0.1. */
  port: number;
  /** Its process id, for `/proc` readings. */
  pid: number;
}

/** What one cluster node did during a fan-out, read from its own `/proc`. */
export interface NodeFigures {
  /** Its CPU time (user and system, all threads) over the measured phase. */
  cpuMs: number;
  /** Deliveries it made to its own clients. */
  delivered: number;
  /** Its CPU time per delivery to its own clients, in microseconds. */
  cpuUsPerDelivery: number;
  /** Its RSS once everyone had joined, before the first message (no forced GC). */
  rssAfterSetupKiB: number;
  /** Its highest RSS (`VmHWM`), read after the last delivery. */
  peakRssKiB: number;
}

/** Many clients in one room; some or all of them send as fast as they are allowed. */
export interface FanoutSpec {
  /** Which scenario this is: what the load generator switches on. */
  kind: "fanout";
  /** Clients in the room, senders included. */
  clients: number;
  /** Clients that send; each also receives the others' messages. */
  senders: number;
  /** Messages each sender sends. */
  perSender: number;
  /** Bytes of text per message, padding included. */
  textBytes: number;
  /** Most un-acked messages per sender; null pipelines everything at once. */
  window: number | null;
  /** Gives up and reports `timedOut` after this. */
  timeoutMs: number;
  /**
   * Rooms the clients are split into (`#r0`, `#r1`, ... of `clients / rooms` members each, every
   * client still in `#lobby`), each with `senders / rooms` senders; in a cluster, each such room's
   * members are all on one node. 1: everyone in `#lobby`, and the lobby's senders. @default 1
   */
  rooms?: number;
  /** Record every delivery's latency (send stamp to receipt) into the result. @default false */
  latency?: boolean;
}

/** One paced message at a time, sender rotating, timestamps read by every receiver. */
export interface LatencySpec {
  /** Which scenario this is: what the load generator switches on. */
  kind: "latency";
  /** Clients in the room; each sends in turn and all receive. */
  clients: number;
  /** Time between one message and the next. */
  intervalMs: number;
  /** How long messages are sent for. */
  durationMs: number;
  /** Bytes of text per message, padding included. */
  textBytes: number;
  /** Gives up and reports `timedOut` after this. */
  timeoutMs: number;
}

/** Clients that log in and then say nothing. */
export interface IdleSpec {
  /** Which scenario this is: what the load generator switches on. */
  kind: "idle";
  /** Clients that log in and stay. */
  clients: number;
  /**
   * Connections being set up at once. Every login tells every member, so a fast ramp buries
   * early joiners' queues in join notices; a gentle one measures memory, not that storm.
   */
  concurrency: number;
  /** How long everyone sits idle before the settled RSS is read. */
  settleMs: number;
  /** Gives up and reports `timedOut` after this. */
  timeoutMs: number;
}

/** Flat-out senders while one reader stops reading for a while. */
export interface SlowConsumerSpec {
  /** Which scenario this is: what the load generator switches on. */
  kind: "slow";
  /** Clients in the room, the stalled reader and the senders included. */
  clients: number;
  /** Clients that send flat out. */
  senders: number;
  /** Most un-acked messages per sender. */
  window: number;
  /** Bytes of text per message, padding included. */
  textBytes: number;
  /** Time everyone reads before the stall. */
  warmMs: number;
  /** How long the slow reader stops reading. */
  stallMs: number;
  /** Time measured after the stall ends. */
  afterMs: number;
  /** Gives up and reports `timedOut` after this. */
  timeoutMs: number;
}

/** Any load-generator job. */
export type LoadSpec = FanoutSpec | LatencySpec | IdleSpec | SlowConsumerSpec;

/** Delivery accounting shared by every scenario. */
export interface DeliveryCounts {
  /** Messages acked by the server. */
  sent: number;
  /** Deliveries that should have reached a receiver that stayed connected. */
  expected: number;
  /** Deliveries that arrived. */
  delivered: number;
  /** `expected - delivered`. */
  lost: number;
  /** Messages that arrived before an earlier one from the same sender, or after a gap. */
  orderViolations: number;
}

/** Outcome of a {@linkcode FanoutSpec}. */
export interface FanoutResult extends DeliveryCounts {
  /** Which scenario this answers. */
  kind: "fanout";
  /** From the first message sent to the last delivery. */
  elapsedMs: number;
  /** Deliveries over the elapsed time: the headline throughput. */
  deliveriesPerSec: number;
  /** Server CPU time (user and system) during the run. */
  serverCpuMs: number;
  /** Server CPU time per delivery, in microseconds. */
  serverCpuUsPerDelivery: number;
  /** The load generator's own CPU time, to see whether it was the bottleneck. */
  loadgenCpuMs: number;
  /** Server RSS once everyone had joined, before the first message. */
  rssAfterSetupKiB: number;
  /** Highest server RSS of its life (`VmHWM`), read when the last delivery arrived. */
  peakRssKiB: number;
  /** Receivers the server disconnected during the run. */
  disconnected: number;
  /** Why they left, as the others were told: reason → clients. */
  leaveReasons: Record<string, number>;
  /** True if the run hit its timeout: the figures are partial. */
  timedOut: boolean;
  /** Cluster mode: each node's figures, in the order of `Target.nodes`. */
  nodes?: NodeFigures[];
  /** Cluster mode: the redis-server's CPU time over the measured phase. */
  redisCpuMs?: number;
  /** Every delivery's latency, send stamp to receipt, when the spec asked for it. */
  latency?: LatencySummary;
}

/** Outcome of a {@linkcode LatencySpec}. */
export interface LatencyResult extends DeliveryCounts {
  /** Which scenario this answers. */
  kind: "latency";
  /** Every delivery. */
  latency: LatencySummary;
  /** Per message, its earliest delivery: the server's latency plus one loopback hop. */
  firstReceiver: LatencySummary;
  /** Per message, its latest delivery. */
  lastReceiver: LatencySummary;
  /** True if the run hit its timeout: the figures are partial. */
  timedOut: boolean;
  /** Cluster mode: each node's figures over the paced phase, in the order of `Target.nodes`. */
  nodes?: NodeFigures[];
  /** Cluster mode: the redis-server's CPU time over the paced phase. */
  redisCpuMs?: number;
}

/** Outcome of an {@linkcode IdleSpec}. */
export interface IdleResult {
  /** Which scenario this answers. */
  kind: "idle";
  /** Clients asked for. */
  clients: number;
  /** Clients that logged in. */
  joined: number;
  /** Server RSS before any client connected. */
  baseRssKiB: number;
  /** Right after the last join notice arrived. */
  rssAfterSetupKiB: number;
  /** Lowest RSS while everyone sat idle, a forced GC included: the steady state. */
  rssKiB: number;
  /** Highest server RSS seen during the run. */
  peakRssKiB: number;
  /** `(rssKiB - baseRssKiB) / joined`. */
  rssPerConnectionKiB: number;
  /** RSS at the end of the quiet period, before any forced GC: what an operator sees. */
  rssNoGcKiB: number;
  /** `(rssNoGcKiB - baseRssKiB) / joined`: the figure issue 11's target is about. */
  rssPerConnectionNoGcKiB: number;
  /** True if a full GC was forced (through the inspector) before `rssKiB` was read. */
  forcedGc: boolean;
  /** Live JS heap per connection after a full GC; null without an inspector. */
  heapPerConnectionKiB: number | null;
  /** ArrayBuffer backing stores per connection after a full GC; null without an inspector. */
  buffersPerConnectionKiB: number | null;
  /** Time to connect and log in everyone, including the join notices. */
  setupMs: number;
  /** Join notices received in all (a presence summary counts as the joins it reports). */
  joinNotices: number;
  /** Bytes the server sent to all clients while they logged in (welcomes, members, presence). */
  setupBytes: number;
  /** Server CPU time (user and system) during the run. */
  serverCpuMs: number;
  /** True if the run hit its timeout: the figures are partial. */
  timedOut: boolean;
}

/** One figure for each phase of a slow-consumer run. */
export interface Phased {
  /** Before the stall. */
  before: number;
  /** While the reader stalled. */
  during: number;
  /** After the stall ended. */
  after: number;
}

/** Outcome of a {@linkcode SlowConsumerSpec}. */
export interface SlowConsumerResult extends DeliveryCounts {
  /** Which scenario this answers. */
  kind: "slow";
  /** The reason the others were given when the stalled reader left, or "still connected". */
  stalledFate: string;
  /** Why clients left (the stalled reader included): reason → clients. */
  leaveReasons: Record<string, number>;
  /** Bytes the stalled reader had read by the end. */
  stalledBytesRead: number;
  /** Latency before the stall. */
  before: LatencySummary;
  /** Latency while the reader stalled: what a slow reader costs the others. */
  during: LatencySummary;
  /** Latency after the stall ended. */
  after: LatencySummary;
  /** Server RSS once everyone had joined, before any message. */
  baseRssKiB: number;
  /** Highest server RSS seen in each phase. */
  peakRssKiB: Phased;
  /** Highest `sockchat_queue_bytes` in each phase; null when the server has no metrics. */
  peakQueueBytes: Phased | null;
  /** The server's heap after a full GC once everything was delivered; null without inspector. */
  heapAfter: HeapUsage | null;
  /** True if the run hit its timeout: the figures are partial. */
  timedOut: boolean;
}

/** Any load-generator outcome. */
export type LoadResult = FanoutResult | LatencyResult | IdleResult | SlowConsumerResult;
