/**
 * Watches the server from outside while a scenario runs: its RSS from `/proc`, and, when it
 * serves metrics, the bytes waiting in all its outbound queues (`sockchat_queue_bytes`). Keeps
 * the peak of each per phase, so that a phase's cost can be told from the load's.
 *
 * @module
 */

import { memory } from "../proc_stats.ts";
import { sleep } from "./cluster.ts";
import type { Target } from "./spec.ts";

const POLL_MS = 50;
const QUEUE_BYTES = /^sockchat_queue_bytes\s+([0-9.eE+-]+)\s*$/m;

/**
 * Samples until stopped; `phase` says where samples go.
 *
 * @example
 * ```ts
 * import type { Target } from "./spec.ts";
 *
 * declare const target: Target;
 * const probe = new ServerProbe(target, 3);
 * probe.phase = 1; // ... later
 * await probe.stop();
 * console.log(probe.rssPeakKiB); // [before, during, after]
 * ```
 */
export class ServerProbe {
  /** Index of the phase that samples count towards. */
  phase = 0;
  /** Highest RSS seen per phase, in KiB. */
  readonly rssPeakKiB: number[];
  /** Highest `sockchat_queue_bytes` seen per phase; null when the server has no metrics. */
  readonly queuePeakBytes: number[] | null;
  readonly #target: Target;
  #running = true;
  readonly #done: Promise<void>;

  /** Starts sampling at once, counting towards phase 0 of `phases`. */
  constructor(target: Target, phases: number) {
    this.#target = target;
    const rss = memory(target.pid).rssKiB;
    this.rssPeakKiB = new Array(phases).fill(rss);
    this.queuePeakBytes = target.metricsPort === undefined ? null : new Array(phases).fill(0);
    this.#done = this.#run();
  }

  /** Stops sampling. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const at = this.phase;
      this.rssPeakKiB[at] = Math.max(this.rssPeakKiB[at], memory(this.#target.pid).rssKiB);
      if (this.queuePeakBytes !== null && this.#target.metricsPort !== undefined) {
        const queued = await queueBytes(this.#target.metricsPort);
        this.queuePeakBytes[at] = Math.max(this.queuePeakBytes[at], queued);
      }
      await sleep(POLL_MS);
    }
  }
}

/** The server's `sockchat_queue_bytes` gauge, read from its /metrics page (0 if absent). */
export async function queueBytes(port: number): Promise<number> {
  try {
    const page = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(QUEUE_BYTES.exec(page)?.[1] ?? 0);
  } catch {
    return 0;
  }
}
