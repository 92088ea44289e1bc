/**
 * Fan-out: every client in one room, some of them sending a fixed number of messages either
 * pipelined or through a bounded window. Measures deliveries per second, loss, order per
 * sender, and the server's CPU time per delivery.
 *
 * @module
 */

import { cpuMs, memory } from "../proc_stats.ts";
import { closeAll, connectClients, joinsSettled, sum, waitUntil } from "./cluster.ts";
import { deliveryCounts, Departures, Receiver } from "./receiver.ts";
import { Sender } from "./sender.ts";
import type { FanoutResult, FanoutSpec, Target } from "./spec.ts";

/** Read buffer of a flat-out receiver. */
const READ_BYTES = 64 * 1024;
/** Wait for the join notices of set-up to drain before measuring. */
const QUIET_TIMEOUT_MS = 30_000;

/** Runs one fan-out measurement against `target`. */
export async function runFanout(spec: FanoutSpec, target: Target): Promise<FanoutResult> {
  const clients = await connectClients(target, spec, READ_BYTES);
  try {
    const senders: Sender[] = [];
    const departures = new Departures();
    const onLeave = departures.record;
    const receivers = clients.map((client, i) => {
      if (i < spec.senders) {
        const sender = new Sender(client, {
          index: i,
          count: spec.perSender,
          textBytes: spec.textBytes,
          window: spec.window,
        });
        senders.push(sender);
        client.afterChunk = () => sender.pump();
        return new Receiver(client, { senders: spec.senders, onAck: () => sender.ack(), onLeave });
      }
      return new Receiver(client, { senders: spec.senders, onLeave });
    });
    await joinsSettled(clients, QUIET_TIMEOUT_MS);

    const perReceiver = (i: number) => spec.perSender * (spec.senders - (i < spec.senders ? 1 : 0));
    const expected = receivers.reduce((total, _, i) => total + perReceiver(i), 0);
    const rssAfterSetupKiB = memory(target.pid).rssKiB;
    const serverCpu0 = cpuMs(target.pid, target.clockTicks);
    const loadgenCpu0 = cpuMs("self", target.clockTicks);
    const t0 = performance.now();
    for (const sender of senders) sender.start();

    const complete = () =>
      receivers.every((r, i) => r.delivered >= perReceiver(i) || clients[i].eof) &&
      senders.every((s, i) => s.acked >= s.sent || clients[i].eof);
    const finished = await waitUntil(complete, spec.timeoutMs);
    const lastDelivery = Math.max(...clients.map((c) => c.chunkAt)) / 1000;
    const serverCpu = cpuMs(target.pid, target.clockTicks) - serverCpu0;
    const loadgenCpu = cpuMs("self", target.clockTicks) - loadgenCpu0;
    const { peakKiB } = memory(target.pid);

    const counts = deliveryCounts(sum(senders, (s) => s.acked), expected, receivers);
    const { delivered } = counts;
    const elapsedMs = Math.max(lastDelivery - t0, 0.001);
    return {
      kind: "fanout",
      ...counts,
      elapsedMs,
      deliveriesPerSec: (delivered * 1000) / elapsedMs,
      serverCpuMs: serverCpu,
      serverCpuUsPerDelivery: delivered === 0 ? 0 : (serverCpu * 1000) / delivered,
      loadgenCpuMs: loadgenCpu,
      rssAfterSetupKiB,
      peakRssKiB: peakKiB,
      disconnected: clients.filter((c) => c.eof).length,
      leaveReasons: departures.reasons(),
      timedOut: !finished,
    };
  } finally {
    await closeAll(clients);
  }
}
