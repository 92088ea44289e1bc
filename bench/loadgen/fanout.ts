/**
 * Fan-out: every client in one room (or in `rooms` equal rooms), some of them sending a fixed
 * number of messages either pipelined or through a bounded window. Measures deliveries per
 * second, loss, order per sender, and the server's CPU time per delivery; against a cluster,
 * each node's CPU time per delivery to its own clients and Redis's CPU time too.
 *
 * @module
 */

import { cpuMs, memory } from "../proc_stats.ts";
import {
  closeAll,
  connectClients,
  joinsSettled,
  nodeOf,
  roomOf,
  sum,
  waitUntil,
} from "./cluster.ts";
import { LatencyHistogram } from "./histogram.ts";
import { deliveryCounts, Departures, Receiver } from "./receiver.ts";
import { Sender } from "./sender.ts";
import { NodeMeter, perNode } from "./node_meter.ts";
import type { FanoutResult, FanoutSpec, Target } from "./spec.ts";
import type { BenchClient } from "./bench_client.ts";

/** Read buffer of a flat-out receiver. */
const READ_BYTES = 64 * 1024;
/** Wait for the join notices of set-up to drain before measuring. */
const QUIET_TIMEOUT_MS = 30_000;
const encoder = new TextEncoder();

/** Runs one fan-out measurement against `target`. */
export async function runFanout(spec: FanoutSpec, target: Target): Promise<FanoutResult> {
  const rooms = spec.rooms ?? 1;
  if (spec.senders % rooms !== 0) {
    throw new Error(`${spec.senders} senders do not split evenly into ${rooms} rooms`);
  }
  const sendersPerRoom = spec.senders / rooms;
  const members = Math.ceil(spec.clients / rooms);
  const room = (i: number) => (rooms === 1 ? "#lobby" : `#r${roomOf(i, spec.clients, rooms)}`);
  const sends = (i: number) => i - roomOf(i, spec.clients, rooms) * members < sendersPerRoom;
  const clients = await connectClients(target, spec, READ_BYTES);
  try {
    const senders: Sender[] = [];
    const senderOf = new Map<number, Sender>();
    const departures = new Departures();
    const onLeave = departures.record;
    const histogram = spec.latency === true ? new LatencyHistogram() : undefined;
    const receivers = clients.map((client, i) => {
      if (sends(i)) {
        const sender = new Sender(client, {
          index: senders.length,
          count: spec.perSender,
          textBytes: spec.textBytes,
          window: spec.window,
          room: room(i),
        });
        senders.push(sender);
        senderOf.set(i, sender);
        client.afterChunk = () => sender.pump();
        return new Receiver(client, {
          senders: spec.senders,
          onAck: () => sender.ack(),
          onLeave,
          histogram,
        });
      }
      return new Receiver(client, { senders: spec.senders, onLeave, histogram });
    });
    await joinsSettled(clients, QUIET_TIMEOUT_MS);
    if (rooms > 1) await joinRooms(clients, spec.clients, rooms, room);

    const perReceiver = (i: number) => spec.perSender * (sendersPerRoom - (sends(i) ? 1 : 0));
    const expected = receivers.reduce((total, _, i) => total + perReceiver(i), 0);
    const rssAfterSetupKiB = memory(target.pid).rssKiB;
    const meter = new NodeMeter(target);
    const serverCpu0 = cpuMs(target.pid, target.clockTicks);
    const loadgenCpu0 = cpuMs("self", target.clockTicks);
    const t0 = performance.now();
    for (const sender of senders) sender.start();

    const complete = () =>
      receivers.every((r, i) => r.delivered >= perReceiver(i) || clients[i].eof) &&
      [...senderOf].every(([i, s]) => s.acked >= s.sent || clients[i].eof);
    const finished = await waitUntil(complete, spec.timeoutMs);
    const lastDelivery = Math.max(...clients.map((c) => c.chunkAt)) / 1000;
    const serverCpu = cpuMs(target.pid, target.clockTicks) - serverCpu0;
    const nodeCount = target.nodes?.length ?? 0;
    const cluster = meter.read(
      perNode(
        spec.clients,
        nodeCount,
        (i) => nodeOf(i, spec.clients, rooms, nodeCount),
        (i) => receivers[i].delivered,
      ),
    );
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
      ...cluster,
      ...(histogram === undefined ? {} : { latency: histogram.summary() }),
    };
  } finally {
    await closeAll(clients);
  }
}

/**
 * Has every client join its room (all stay in `#lobby`, which carries no messages), and waits
 * for the join notices within each room: a room of m members tells m(m-1)/2 joins in all.
 */
async function joinRooms(
  clients: readonly BenchClient[],
  total: number,
  rooms: number,
  room: (i: number) => string,
): Promise<void> {
  const before = sum(clients, (c) => c.joins);
  const sizes = new Map<number, number>();
  for (let i = 0; i < clients.length; i++) {
    const r = roomOf(i, total, rooms);
    sizes.set(r, (sizes.get(r) ?? 0) + 1);
  }
  const expected = before + sum([...sizes.values()], (m) => (m * (m - 1)) / 2);
  await Promise.all(clients.map((client, i) =>
    client.write(
      encoder.encode(`{"type":"cmd","line":"/join ${room(i)}","room":"#lobby"}\n`),
    )
  ));
  if (!(await waitUntil(() => sum(clients, (c) => c.joins) >= expected, QUIET_TIMEOUT_MS, 20))) {
    throw new Error(`the rooms' join notices did not all arrive within ${QUIET_TIMEOUT_MS} ms`);
  }
}
