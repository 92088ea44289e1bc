/**
 * Every metric sockchat exports, declared in one place so that names, help texts and label
 * values cannot drift between the code that updates them and the dashboards that read them.
 *
 * @module
 */

import { HISTORY_WRITE_BUCKETS_SECONDS } from "../config/security_limits.ts";
import {
  type Counter,
  type Gauge,
  type Histogram,
  type LabeledCounter,
  MetricsRegistry,
} from "./registry.ts";

/**
 * Why a connection was turned away, for `sockchat_rejected_connections_total{reason}`. Each is
 * the error code the client was sent (or, for `tls_handshake`, the log's reason), so that the
 * metric, the log and the protocol use one vocabulary.
 */
export const REJECT_REASONS = [
  /** More than `--max-conns-per-ip` connections from one address (refused at the door). */
  "too_many_connections",
  /** An address ban (at the door) or a nick ban (at login). */
  "banned",
  /** `--max-users` reached. */
  "server_full",
  /** Missing or wrong server password. */
  "bad_password",
  /** A hello for a protocol version this server does not speak. */
  "unsupported_version",
  /** No login within `--handshake-timeout`. */
  "handshake_timeout",
  /** The TLS handshake failed or did not finish in time. */
  "tls_handshake",
  /** Arrived while the server was shutting down. */
  "shutting_down",
  /** A native client's key proof (`prove`) that did not verify. */
  "bad_signature",
  /** Too many wrong account passwords from one address (the lockout's refusal). */
  "bad_account_password",
  /** A WebSocket upgrade from a page whose `Origin` `--web-origin` does not allow. */
  "bad_origin",
  /** A request to the web port's private server that did not come through the web port. */
  "not_via_web_port",
] as const;

/** One of {@linkcode REJECT_REASONS}. */
export type RejectReason = typeof REJECT_REASONS[number];

/** True if `code` (an error code, say) is one of {@linkcode REJECT_REASONS}. */
export function isRejectReason(code: string): code is RejectReason {
  return (REJECT_REASONS as readonly string[]).includes(code);
}

/** Every metric sockchat exports, ready to be updated by the server. */
export interface SockchatMetrics {
  /** Holds every metric below, to render them for a scrape. */
  registry: MetricsRegistry;
  /** Open connections, logged in or not (with TLS, including handshakes in progress). */
  connections: Gauge;
  /** Logged-in users. */
  users: Gauge;
  /** Frames received from clients and admitted by flood control. */
  messagesIn: Counter;
  /** Frames delivered to clients: one per recipient. */
  messagesOut: Counter;
  /** Clients disconnected because their outbound queue overflowed. */
  droppedSlow: Counter;
  /** Frames refused by flood control. */
  rateLimited: Counter;
  /** Connections turned away, by reason. */
  rejectedConnections: LabeledCounter<RejectReason>;
  /** Bytes waiting in all outbound queues together. */
  queueBytes: Gauge;
  /** Time to write a batch of history, in seconds. */
  historyWriteSeconds: Histogram;
}

/**
 * Declares sockchat's metrics in `registry`. Gauges that the server can compute (connections,
 * users, queue bytes) are best given a sampler with {@linkcode Gauge.sampleWith}.
 *
 * @example
 * ```ts
 * const metrics = createSockchatMetrics();
 * const queues: { bytes: number }[] = [];
 * metrics.queueBytes.sampleWith(() => queues.reduce((sum, q) => sum + q.bytes, 0));
 * metrics.rejectedConnections.inc("too_many_connections");
 * ```
 */
export function createSockchatMetrics(registry = new MetricsRegistry()): SockchatMetrics {
  return {
    registry,
    connections: registry.gauge(
      "sockchat_connections",
      "Open connections, logged in or not (with TLS, including handshakes in progress).",
    ),
    users: registry.gauge("sockchat_users", "Logged-in users."),
    messagesIn: registry.counter(
      "sockchat_messages_in_total",
      "Frames received from clients and accepted by flood control.",
    ),
    messagesOut: registry.counter(
      "sockchat_messages_out_total",
      "Frames queued for delivery to clients, one per recipient.",
    ),
    droppedSlow: registry.counter(
      "sockchat_dropped_slow_total",
      "Clients disconnected because they read too slowly and their queue overflowed.",
    ),
    rateLimited: registry.counter(
      "sockchat_rate_limited_total",
      "Frames refused by flood control.",
    ),
    rejectedConnections: registry.labeledCounter(
      "sockchat_rejected_connections_total",
      "Connections turned away, by reason.",
      "reason",
      REJECT_REASONS,
    ),
    queueBytes: registry.gauge(
      "sockchat_queue_bytes",
      "Bytes waiting in all outbound queues together.",
    ),
    historyWriteSeconds: registry.histogram(
      "sockchat_history_write_seconds",
      "Time to write a batch of messages to history, in seconds.",
      HISTORY_WRITE_BUCKETS_SECONDS,
    ),
  };
}
