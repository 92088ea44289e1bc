/**
 * Latency under light load: one message every `intervalMs`, the sender rotating through the
 * clients, each message stamped with its send time and timed by every receiver.
 *
 * @module
 */

import {
  closeAll,
  connectClients,
  joinsSettled,
  nodeOf,
  sleep,
  sum,
  waitUntil,
} from "./cluster.ts";
import { NodeMeter, perNode } from "./node_meter.ts";
import { LatencyHistogram, type LatencySummary } from "./histogram.ts";
import { deliveryCounts, Receiver } from "./receiver.ts";
import { stampedFrame, stampedIrcLine } from "./sender.ts";
import type { LatencyResult, LatencySpec, Target } from "./spec.ts";

const encoder = new TextEncoder();
const READ_BYTES = 16 * 1024;

/** Runs the paced-latency measurement against `target`. */
export async function runLatency(spec: LatencySpec, target: Target): Promise<LatencyResult> {
  const clients = await connectClients(target, spec, READ_BYTES);
  try {
    const histogram = new LatencyHistogram();
    // Messages go out one at a time, so the send stamp names a message. The first receiver's
    // latency is the server's plus one hop; the last one's adds the load generator reading
    // the other sockets one after another.
    const spread = new Map<number, { first: number; last: number }>();
    const onStamp = (sentAt: number, latency: number) => {
      const seen = spread.get(sentAt);
      if (seen === undefined) spread.set(sentAt, { first: latency, last: latency });
      else {
        seen.first = Math.min(seen.first, latency);
        seen.last = Math.max(seen.last, latency);
      }
    };
    let acked = 0;
    const receivers = clients.map((client) =>
      new Receiver(client, { senders: spec.clients, histogram, onStamp, onAck: () => acked++ })
    );
    await joinsSettled(clients, spec.timeoutMs);

    const irc = target.protocol === "irc";
    const meter = new NodeMeter(target);
    const seqs = new Int32Array(spec.clients);
    const start = performance.now();
    let sent = 0;
    for (let k = 0; k * spec.intervalMs < spec.durationMs; k++) {
      const wait = start + k * spec.intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      const from = k % spec.clients;
      const frame = (irc ? stampedIrcLine : stampedFrame)(
        from,
        seqs[from]++,
        Math.round(performance.now() * 1000),
        spec.textBytes,
      );
      await clients[from].write(encoder.encode(frame));
      sent++;
      // An IRC server acks nothing: a message written is a message sent.
      if (irc) acked++;
    }
    const expected = sent * (spec.clients - 1);
    const finished = await waitUntil(
      () => sum(receivers, (r) => r.delivered) >= expected && acked >= sent,
      spec.timeoutMs,
    );
    const nodeCount = target.nodes?.length ?? 0;
    const cluster = meter.read(
      perNode(
        spec.clients,
        nodeCount,
        (i) => nodeOf(i, spec.clients, 1, nodeCount),
        (i) => receivers[i].delivered,
      ),
    );
    return {
      kind: "latency",
      ...cluster,
      ...deliveryCounts(acked, expected, receivers),
      latency: histogram.summary(),
      firstReceiver: summarise([...spread.values()].map((s) => s.first)),
      lastReceiver: summarise([...spread.values()].map((s) => s.last)),
      timedOut: !finished,
    };
  } finally {
    await closeAll(clients);
  }
}

function summarise(micros: number[]): LatencySummary {
  const histogram = new LatencyHistogram();
  for (const us of micros) histogram.record(us);
  return histogram.summary();
}
