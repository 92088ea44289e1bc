/**
 * Idle connections: log in many clients that then say nothing, and read how much resident
 * memory the server gained per connection once the join notices have died down. It reads RSS
 * twice: at the end of the quiet period as an operator would see it (no forced GC), and at its
 * lowest once a full GC has been forced through the inspector, if the server has one.
 *
 * @module
 */

import { cpuMs, memory } from "../proc_stats.ts";
import { collectGarbage } from "./inspector.ts";
import { closeAll, connectClients, joinsSettled, sleep, sum } from "./cluster.ts";
import type { IdleResult, IdleSpec, Target } from "./spec.ts";

/** Idle clients mostly read join notices; a small buffer keeps the load generator small. */
const READ_BYTES = 8 * 1024;
const SETTLE_POLL_MS = 250;

/** Runs the idle-connection measurement against `target`. */
export async function runIdle(spec: IdleSpec, target: Target): Promise<IdleResult> {
  const gc = () =>
    target.inspectPort === undefined ? Promise.resolve(null) : collectGarbage(target.inspectPort);
  const baseHeap = await gc();
  const base = memory(target.pid);
  const cpu0 = cpuMs(target.pid, target.clockTicks);
  const t0 = performance.now();
  const clients = await connectClients(target, spec, READ_BYTES);
  try {
    const quiet = await joinsSettled(
      clients,
      Math.max(spec.timeoutMs - (performance.now() - t0), 0),
    );
    const setupMs = performance.now() - t0;
    const setupBytes = sum(clients, (c) => c.bytesRead);
    const serverCpuMs = cpuMs(target.pid, target.clockTicks) - cpu0;
    const afterSetup = memory(target.pid);
    // Set-up leaves garbage that V8 frees only when it gets round to it; the settled figure is
    // the lowest RSS seen while everyone sits idle, after a forced collection if we can force one.
    let settled = afterSetup.rssKiB;
    const until = performance.now() + spec.settleMs;
    while (performance.now() < until) {
      await sleep(SETTLE_POLL_MS);
      settled = Math.min(settled, memory(target.pid).rssKiB);
    }
    const quietRss = memory(target.pid).rssKiB;
    const heap = await gc();
    await sleep(SETTLE_POLL_MS);
    settled = Math.min(settled, memory(target.pid).rssKiB);
    const joined = clients.filter((c) => !c.eof).length;
    const perConnection = (total: number, before: number) =>
      joined === 0 ? 0 : (total - before) / joined;
    return {
      kind: "idle",
      clients: spec.clients,
      joined,
      baseRssKiB: base.rssKiB,
      rssAfterSetupKiB: afterSetup.rssKiB,
      rssKiB: settled,
      peakRssKiB: memory(target.pid).peakKiB,
      rssPerConnectionKiB: perConnection(settled, base.rssKiB),
      rssNoGcKiB: quietRss,
      rssPerConnectionNoGcKiB: perConnection(quietRss, base.rssKiB),
      forcedGc: heap !== null,
      heapPerConnectionKiB: heap === null || baseHeap === null
        ? null
        : perConnection(heap.usedKiB, baseHeap.usedKiB),
      buffersPerConnectionKiB: heap === null || baseHeap === null
        ? null
        : perConnection(heap.backingStoreKiB, baseHeap.backingStoreKiB),
      setupMs,
      joinNotices: sum(clients, (c) => c.joins),
      setupBytes,
      serverCpuMs,
      timedOut: !quiet,
    };
  } finally {
    await closeAll(clients);
  }
}
