/**
 * Cluster mode (issue 16): each node's and Redis's CPU time and RSS over a measured phase, read
 * from their `/proc`, and each node's share of the deliveries (those to its own clients).
 *
 * @module
 */

import { cpuMs, memory } from "../proc_stats.ts";
import type { NodeFigures, Target } from "./spec.ts";

/**
 * Started when the measured phase starts; {@linkcode NodeMeter.read} at its end.
 *
 * @example
 * ```ts
 * import type { Target } from "./spec.ts";
 *
 * declare const target: Target;
 * const meter = new NodeMeter(target);
 * // ... load ...
 * const { nodes, redisCpuMs } = meter.read([1200, 1180]);
 * ```
 */
export class NodeMeter {
  readonly #target: Target;
  readonly #cpu0: number[];
  readonly #rss0: number[];
  readonly #redisCpu0: number;

  /** Reads the starting CPU times and RSS (no forced GC) now. */
  constructor(target: Target) {
    this.#target = target;
    const nodes = target.nodes ?? [];
    this.#rss0 = nodes.map((n) => memory(n.pid).rssKiB);
    this.#cpu0 = nodes.map((n) => cpuMs(n.pid, target.clockTicks));
    this.#redisCpu0 = target.redisPid === undefined ? 0 : cpuMs(target.redisPid, target.clockTicks);
  }

  /**
   * Each node's figures, given the deliveries each made to its own clients (in node order), and
   * Redis's CPU time since the start; nothing outside cluster mode.
   */
  read(delivered: readonly number[]): { nodes?: NodeFigures[]; redisCpuMs?: number } {
    const target = this.#target;
    const nodes = target.nodes ?? [];
    if (nodes.length === 0) return {};
    const figures = nodes.map((n, k): NodeFigures => {
      const cpu = cpuMs(n.pid, target.clockTicks) - this.#cpu0[k];
      const own = delivered[k] ?? 0;
      return {
        cpuMs: cpu,
        delivered: own,
        cpuUsPerDelivery: own === 0 ? 0 : (cpu * 1000) / own,
        rssAfterSetupKiB: this.#rss0[k],
        peakRssKiB: memory(n.pid).peakKiB,
      };
    });
    return target.redisPid === undefined ? { nodes: figures } : {
      nodes: figures,
      redisCpuMs: cpuMs(target.redisPid, target.clockTicks) - this.#redisCpu0,
    };
  }
}

/** Deliveries per node: `delivered(i)` of each client, summed by the node `nodeOf(i)` it is on. */
export function perNode(
  clients: number,
  nodes: number,
  nodeOf: (i: number) => number,
  delivered: (i: number) => number,
): number[] {
  const totals = new Array<number>(nodes).fill(0);
  for (let i = 0; i < clients; i++) totals[nodeOf(i)] += delivered(i);
  return totals;
}
