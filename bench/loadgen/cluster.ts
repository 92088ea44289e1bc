/**
 * Setting up many bench clients at once, and waiting on conditions with a deadline. Every wait
 * here is bounded: a benchmark that hangs measures nothing.
 *
 * @module
 */

import { BenchClient } from "./bench_client.ts";
import type { IrcOper, Protocol, Target } from "./spec.ts";

/** Options for {@linkcode connectAll}. */
export interface ConnectAllOptions {
  /** Connections being opened and logged in at once. */
  concurrency: number;
  /** Read buffer per client. */
  readBytes: number;
  /** Deadline for the whole set-up. */
  timeoutMs: number;
  /** What the server speaks. @default "sockchat" */
  protocol?: Protocol;
  /** IRC only: the operator that lifts each client's flood limits. */
  ircOper?: IrcOper;
  /** IRC only: the caps each client requests before registering. */
  ircCaps?: string[];
}

/**
 * The node a client connects to in a cluster of `nodes`: alternately, so that every room spans
 * them all; but with `rooms` > 1, a room's members all on one node (room `r` on node `r %
 * nodes`), so that each node has members in only some of the rooms.
 */
export function nodeOf(index: number, clients: number, rooms: number, nodes: number): number {
  return rooms <= 1 ? index % nodes : roomOf(index, clients, rooms) % nodes;
}

/** The room (0-based) of client `index` when `clients` are split into `rooms` equal rooms. */
export function roomOf(index: number, clients: number, rooms: number): number {
  return Math.floor(index / Math.ceil(clients / rooms));
}

/** Connections opened and logged in at once, unless a spec says otherwise. */
export const SETUP_CONCURRENCY = 64;

/**
 * Connects and logs in a scenario's `clients` within its `timeoutMs`, `concurrency` (or
 * {@linkcode SETUP_CONCURRENCY}) at a time, each reading `readBytes` at most per read.
 */
export function connectClients(
  target: Target,
  spec: { clients: number; timeoutMs: number; concurrency?: number; rooms?: number },
  readBytes: number,
): Promise<BenchClient[]> {
  const nodes = target.nodes;
  const port = nodes === undefined
    ? target.port
    : (i: number) => nodes[nodeOf(i, spec.clients, spec.rooms ?? 1, nodes.length)].port;
  return connectAll(port, spec.clients, {
    concurrency: spec.concurrency ?? SETUP_CONCURRENCY,
    readBytes,
    timeoutMs: spec.timeoutMs,
    protocol: target.protocol,
    ircOper: target.ircOper,
    ircCaps: target.ircCaps,
  });
}

/**
 * Opens `count` connections to 127.0.0.1:`port` (or client i to `port(i)`) and logs them in as
 * `c0`, `c1`, ... in order of index (each login waits for its welcome). Closes them all and
 * throws if any fails.
 */
export async function connectAll(
  port: number | ((index: number) => number),
  count: number,
  options: ConnectAllOptions,
): Promise<BenchClient[]> {
  const clients: BenchClient[] = new Array(count);
  const deadline = performance.now() + options.timeoutMs;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`set-up of ${count} clients took over ${options.timeoutMs} ms`);
      }
      const client = await BenchClient.connect(
        typeof port === "number" ? port : port(index),
        `c${index}`,
        {
          readBytes: options.readBytes,
          protocol: options.protocol,
          ircOper: options.ircOper,
          ircCaps: options.ircCaps,
        },
      );
      clients[index] = client;
      await client.login(left);
    }
  };
  const workers = Array.from({ length: Math.min(options.concurrency, count) }, worker);
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed !== undefined) {
    closeAll(clients);
    throw failed.reason;
  }
  return clients;
}

/** Closes every client (ignoring gaps in the array) and waits for their readers to stop. */
export async function closeAll(clients: readonly (BenchClient | undefined)[]): Promise<void> {
  const ended: Promise<void>[] = [];
  for (const client of clients) {
    if (client === undefined) continue;
    client.close();
    ended.push(client.ended);
  }
  await Promise.all(ended);
}

/**
 * Waits until every client has seen the join notice of everyone who logged in after it (one by
 * one, or counted in a presence summary), so that set-up traffic is over before a measurement
 * starts. Resolves to false on timeout.
 */
export function joinsSettled(
  clients: readonly BenchClient[],
  timeoutMs: number,
): Promise<boolean> {
  const expected = (clients.length * (clients.length - 1)) / 2;
  return waitUntil(() => sum(clients, (c) => c.joins) >= expected, timeoutMs, 20);
}

/**
 * Polls `done` every `pollMs` until it is true or `timeoutMs` passes; resolves to whether it
 * became true. Used where the condition is spread over many connections and has no one event.
 */
export async function waitUntil(
  done: () => boolean,
  timeoutMs: number,
  pollMs = 5,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sum of `pick` over `items`: totals across many connections' counters. */
export function sum<T>(items: readonly T[], pick: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += pick(item);
  return total;
}
