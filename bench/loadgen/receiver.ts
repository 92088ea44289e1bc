/**
 * Per-connection delivery accounting: counts stamped messages, checks that each sender's
 * sequence numbers arrive without gaps and in order, and optionally records their latency.
 *
 * @module
 */

import type { BenchClient } from "./bench_client.ts";
import { type FrameKind, readField, readStamp, type StampedText } from "./frame_scan.ts";
import type { LatencyHistogram } from "./histogram.ts";
import { readIrcStamp } from "./irc_scan.ts";
import { sum } from "./cluster.ts";
import type { DeliveryCounts } from "./spec.ts";

/** Someone left the room, as a receiver saw it. */
export interface Departure {
  /** Who left. */
  nick: string;
  /** The reason the room was given, such as too_slow. */
  reason: string;
}

/** Who left and why, each client counted once however many receivers saw it go. */
export class Departures {
  readonly #seen = new Map<string, string>();

  /** Records a departure; bound, so it can be passed as a callback. */
  readonly record = (departure: Departure): void => {
    if (!this.#seen.has(departure.nick)) this.#seen.set(departure.nick, departure.reason);
  };

  /** The reason `nick` left, if it did. */
  reasonOf(nick: string): string | undefined {
    return this.#seen.get(nick);
  }

  /** Reason → number of clients that left for it. */
  reasons(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const reason of this.#seen.values()) counts[reason] = (counts[reason] ?? 0) + 1;
    return counts;
  }
}

/** Options for a {@linkcode Receiver}. */
export interface ReceiverOptions {
  /** Senders whose stamps may arrive (indices `0 .. senders-1`). */
  senders: number;
  /** Where latencies go, if they are wanted; swappable between phases. */
  histogram?: LatencyHistogram;
  /** Called for each stamped message with its send stamp and latency, both in microseconds. */
  onStamp?: (sentAtMicros: number, latencyMicros: number) => void;
  /** Called for each ack on this connection (the client's own messages). */
  onAck?: () => void;
  /** Called for each `leave` seen. */
  onLeave?: (departure: Departure) => void;
}

/**
 * Hooks itself into a {@linkcode BenchClient} and keeps its counters.
 *
 * @example
 * ```ts
 * import { BenchClient } from "./bench_client.ts";
 *
 * const client = await BenchClient.connect(7342, "r0", { readBytes: 65536 });
 * const r = new Receiver(client, { senders: 5 });
 * // ... run ...
 * console.log(r.delivered, r.orderViolations);
 * ```
 */
export class Receiver {
  /** Stamped messages received. */
  delivered = 0;
  /** Messages that skipped ahead of, or fell behind, their sender's sequence. */
  orderViolations = 0;
  /** Where latencies go; null to record none. */
  histogram: LatencyHistogram | null;
  readonly #client: BenchClient;
  readonly #next: Int32Array;
  readonly #stamp: StampedText = { sender: 0, seq: 0, sentAtMicros: 0 };
  readonly #options: ReceiverOptions;

  /** Takes over `client.onFrame`. */
  constructor(client: BenchClient, options: ReceiverOptions) {
    this.#client = client;
    this.#options = options;
    this.#next = new Int32Array(options.senders);
    this.histogram = options.histogram ?? null;
    client.onFrame = (buf, start, end, kind) => this.#frame(buf, start, end, kind);
  }

  /** Deliveries from `sender` that this receiver has seen in sequence so far. */
  seenFrom(sender: number): number {
    return this.#next[sender];
  }

  #frame(buf: Uint8Array, start: number, end: number, kind: FrameKind): void {
    switch (kind) {
      case "msg": {
        const stamp = this.#stamp;
        const read = this.#client.protocol === "irc" ? readIrcStamp : readStamp;
        if (!read(buf, start, end, stamp) || stamp.sender >= this.#next.length) return;
        this.delivered++;
        const expected = this.#next[stamp.sender];
        if (stamp.seq !== expected) this.orderViolations++;
        if (stamp.seq >= expected) this.#next[stamp.sender] = stamp.seq + 1;
        if (this.histogram !== null) {
          this.histogram.record(this.#client.chunkAt - stamp.sentAtMicros);
        }
        this.#options.onStamp?.(stamp.sentAtMicros, this.#client.chunkAt - stamp.sentAtMicros);
        return;
      }
      case "ack":
        this.#options.onAck?.();
        return;
      case "leave":
        this.#options.onLeave?.({
          nick: readField(buf, "nick", start, end),
          reason: readField(buf, "reason", start, end),
        });
        return;
      default:
        return;
    }
  }
}

/**
 * The delivery figures every scenario reports, from `sent` acked messages, the `expected`
 * deliveries and what `receivers` counted: one definition of "lost" for every table.
 */
export function deliveryCounts(
  sent: number,
  expected: number,
  receivers: readonly Receiver[],
): DeliveryCounts {
  const delivered = sum(receivers, (r) => r.delivered);
  return {
    sent,
    expected,
    delivered,
    lost: expected - delivered,
    orderViolations: sum(receivers, (r) => r.orderViolations),
  };
}
