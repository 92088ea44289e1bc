/**
 * Slow consumer: senders run flat out while one reader stops reading for `stallMs`. The server
 * should cut that reader off as `too_slow` and keep everyone else's delivery whole and prompt,
 * with its memory bounded by the per-connection queue cap.
 *
 * @module
 */

import { memory } from "../proc_stats.ts";
import { ServerProbe } from "./server_probe.ts";
import { collectGarbage } from "./inspector.ts";
import { closeAll, connectClients, joinsSettled, sleep, sum, waitUntil } from "./cluster.ts";
import { LatencyHistogram } from "./histogram.ts";
import { deliveryCounts, Departures, Receiver } from "./receiver.ts";
import { Sender } from "./sender.ts";
import type { Phased, SlowConsumerResult, SlowConsumerSpec, Target } from "./spec.ts";

const READ_BYTES = 64 * 1024;

/** Runs the stalled-reader measurement against `target`. */
export async function runSlowConsumer(
  spec: SlowConsumerSpec,
  target: Target,
): Promise<SlowConsumerResult> {
  const clients = await connectClients(target, spec, READ_BYTES);
  try {
    const stalled = clients[clients.length - 1];
    const departures = new Departures();
    const onLeave = departures.record;
    const phases = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()];
    const stopAt = performance.now() + spec.timeoutMs;
    const senders: Sender[] = [];
    const receivers = clients.map((client, i) => {
      const histogram = client === stalled ? undefined : phases[0];
      if (i >= spec.senders) {
        return new Receiver(client, { senders: spec.senders, histogram, onLeave });
      }
      const sender = new Sender(client, {
        index: i,
        count: Number.MAX_SAFE_INTEGER,
        textBytes: spec.textBytes,
        window: spec.window,
        stopAt,
      });
      senders.push(sender);
      client.afterChunk = () => sender.pump();
      return new Receiver(client, {
        senders: spec.senders,
        histogram,
        onAck: () => sender.ack(),
        onLeave,
      });
    });
    const others = receivers.slice(0, -1);
    await joinsSettled(clients, spec.timeoutMs);

    const base = memory(target.pid);
    const probe = new ServerProbe(target, 3);
    const enter = (next: number) => {
      probe.phase = next;
      for (const r of others) r.histogram = phases[next];
    };
    try {
      for (const sender of senders) sender.start();
      await sleep(spec.warmMs);
      const resume = Promise.withResolvers<void>();
      stalled.stall(resume.promise);
      enter(1);
      await sleep(spec.stallMs);
      enter(2);
      resume.resolve();
      await sleep(spec.afterMs);
      for (const sender of senders) sender.stop();
      await waitUntil(() => senders.every((s) => s.acked >= s.sent), spec.timeoutMs);
    } finally {
      await probe.stop();
    }

    const expectedFor = (i: number) =>
      sum(senders, (s) => s.acked) - (i < spec.senders ? senders[i].acked : 0);
    const finished = await waitUntil(
      () => others.every((r, i) => r.delivered >= expectedFor(i) || clients[i].eof),
      spec.timeoutMs,
    );
    const expected = sum(others.map((_, i) => expectedFor(i)), (n) => n);
    return {
      kind: "slow",
      ...deliveryCounts(sum(senders, (s) => s.acked), expected, others),
      stalledFate: departures.reasonOf(stalled.nick) ??
        (stalled.eof ? "closed, no leave seen" : "still connected"),
      leaveReasons: departures.reasons(),
      stalledBytesRead: stalled.bytesRead,
      before: phases[0].summary(),
      during: phases[1].summary(),
      after: phases[2].summary(),
      baseRssKiB: base.rssKiB,
      peakRssKiB: phased(probe.rssPeakKiB),
      peakQueueBytes: probe.queuePeakBytes === null ? null : phased(probe.queuePeakBytes),
      heapAfter: target.inspectPort === undefined ? null : await collectGarbage(target.inspectPort),
      timedOut: !finished,
    };
  } finally {
    await closeAll(clients);
  }
}

function phased([before, during, after]: number[]): Phased {
  return { before, during, after };
}
