/**
 * What the bench runner asks the load generator to do, and what it reports back. Both sides
 * import these types; the spec travels as a JSON argument, the result as one JSON line on stdout.
 *
 * @module
 */

import type { LatencySummary } from "./histogram.ts";
import type { HeapUsage } from "./inspector.ts";

/** Where the server under test is, and how to read its CPU time. */
export interface Target {
  port: number;
  /** Server process id, for `/proc` readings. */
  pid: number;
  /** `getconf CLK_TCK`. */
  clockTicks: number;
  /** Port of the server's `--inspect` endpoint, when it has one (to force a GC). */
  inspectPort?: number;
  /** Port of the server's `/metrics`, when it serves them (for its queued bytes). */
  metricsPort?: number;
}

/** Many clients in one room; some or all of them send as fast as they are allowed. */
export interface FanoutSpec {
  kind: "fanout";
  clients: number;
  senders: number;
  perSender: number;
  textBytes: number;
  /** Most un-acked messages per sender; null pipelines everything at once. */
  window: number | null;
  timeoutMs: number;
}

/** One paced message at a time, sender rotating, timestamps read by every receiver. */
export interface LatencySpec {
  kind: "latency";
  clients: number;
  intervalMs: number;
  durationMs: number;
  textBytes: number;
  timeoutMs: number;
}

/** Clients that log in and then say nothing. */
export interface IdleSpec {
  kind: "idle";
  clients: number;
  /**
   * Connections being set up at once. Every login tells every member, so a fast ramp buries
   * early joiners' queues in join notices; a gentle one measures memory, not that storm.
   */
  concurrency: number;
  /** How long everyone sits idle before the settled RSS is read. */
  settleMs: number;
  timeoutMs: number;
}

/** Flat-out senders while one reader stops reading for a while. */
export interface SlowConsumerSpec {
  kind: "slow";
  clients: number;
  senders: number;
  window: number;
  textBytes: number;
  warmMs: number;
  stallMs: number;
  afterMs: number;
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
  delivered: number;
  lost: number;
  /** Messages that arrived before an earlier one from the same sender, or after a gap. */
  orderViolations: number;
}

/** Outcome of a {@linkcode FanoutSpec}. */
export interface FanoutResult extends DeliveryCounts {
  kind: "fanout";
  elapsedMs: number;
  deliveriesPerSec: number;
  serverCpuMs: number;
  /** Server CPU time per delivery, in microseconds. */
  serverCpuUsPerDelivery: number;
  loadgenCpuMs: number;
  /** Receivers the server disconnected during the run. */
  disconnected: number;
  /** Why they left, as the others were told: reason → clients. */
  leaveReasons: Record<string, number>;
  timedOut: boolean;
}

/** Outcome of a {@linkcode LatencySpec}. */
export interface LatencyResult extends DeliveryCounts {
  kind: "latency";
  /** Every delivery. */
  latency: LatencySummary;
  /** Per message, its earliest delivery: the server's latency plus one loopback hop. */
  firstReceiver: LatencySummary;
  /** Per message, its latest delivery. */
  lastReceiver: LatencySummary;
  timedOut: boolean;
}

/** Outcome of an {@linkcode IdleSpec}. */
export interface IdleResult {
  kind: "idle";
  clients: number;
  joined: number;
  baseRssKiB: number;
  /** Right after the last join notice arrived. */
  rssAfterSetupKiB: number;
  /** Lowest RSS while everyone sat idle, a forced GC included: the steady state. */
  rssKiB: number;
  peakRssKiB: number;
  /** `(rssKiB - baseRssKiB) / joined`. */
  rssPerConnectionKiB: number;
  /** Live JS heap per connection after a full GC; null without an inspector. */
  heapPerConnectionKiB: number | null;
  /** ArrayBuffer backing stores per connection after a full GC; null without an inspector. */
  buffersPerConnectionKiB: number | null;
  /** Time to connect and log in everyone, including the join notices. */
  setupMs: number;
  joinNotices: number;
  serverCpuMs: number;
  timedOut: boolean;
}

/** One figure for each phase of a slow-consumer run. */
export interface Phased {
  before: number;
  during: number;
  after: number;
}

/** Outcome of a {@linkcode SlowConsumerSpec}. */
export interface SlowConsumerResult extends DeliveryCounts {
  kind: "slow";
  /** The reason the others were given when the stalled reader left, or "still connected". */
  stalledFate: string;
  /** Why clients left (the stalled reader included): reason → clients. */
  leaveReasons: Record<string, number>;
  /** Bytes the stalled reader had read by the end. */
  stalledBytesRead: number;
  before: LatencySummary;
  during: LatencySummary;
  after: LatencySummary;
  /** Server RSS once everyone had joined, before any message. */
  baseRssKiB: number;
  /** Highest server RSS seen in each phase. */
  peakRssKiB: Phased;
  /** Highest `sockchat_queue_bytes` in each phase; null when the server has no metrics. */
  peakQueueBytes: Phased | null;
  /** The server's heap after a full GC once everything was delivered; null without inspector. */
  heapAfter: HeapUsage | null;
  timedOut: boolean;
}

/** Any load-generator outcome. */
export type LoadResult = FanoutResult | LatencyResult | IdleResult | SlowConsumerResult;
