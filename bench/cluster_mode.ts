/**
 * Cluster mode (issue 16) in the bench: the scenarios, and how their servers start. A real
 * `redis-server` (tests/helpers/redis.ts: a free port, a temporary directory) is started for each
 * run, with `appendonly yes` and `appendfsync always` (every acknowledged message fsynced) unless
 * the setup says otherwise, then one or more `sockchat serve --redis URL --node-id nK` nodes on
 * it. The load generator spreads its clients over the nodes (`nodeOf` in
 * `bench/loadgen/cluster.ts`) and reads each node's and Redis's CPU time from `/proc`.
 *
 * @module
 */

import { LOG_SEQ_KEY } from "../cluster/keys.ts";
import { type RedisServer, startRedis } from "../tests/helpers/redis.ts";
import type { FanoutSpec, LatencySpec, LoadSpec } from "./loadgen/spec.ts";
import { type ServerProcess, startServer } from "./processes.ts";

/** How Redis keeps what it is sent: fsynced before each reply, or in memory only. */
export type RedisPersistence = "fsync always" | "no AOF";

/** What serves a cluster-table scenario. */
export interface ClusterSetup {
  /** Sockchat nodes; with `redis` false, exactly one (the embedded SQLite store, as today). */
  nodes: number;
  /** Whether the nodes run with `--redis`. */
  redis: boolean;
  /** Redis's persistence (when `redis`). @default "fsync always" */
  persistence?: RedisPersistence;
}

/** The name of a setup as the cluster table's rows show it. */
export function setupLabel(setup: ClusterSetup): string {
  if (!setup.redis) return "1 node, SQLite (no --redis)";
  const nodes = `${setup.nodes} node${setup.nodes === 1 ? "" : "s"}`;
  return `${nodes}, Redis ${setup.persistence ?? "fsync always"}`;
}

/** Common part of every cluster scenario's name: `--only "issue 16"` runs them all. */
export const CLUSTER_COMPARISON = "cluster (issue 16)";

/** A cluster-table scenario: the load, what serves it, and which group of rows it feeds. */
export interface ClusterScenario {
  /** The name in reports and on the command line. */
  name: string;
  /** What the load generator runs. */
  spec: LoadSpec;
  /** What serves it. */
  cluster: ClusterSetup;
  /** The load's label in the cluster table (one group of rows per load). */
  clusterLoad: string;
}

/** Times each cluster measurement is repeated, interleaved across setups; medians count. */
const REPEATS = 3;
const TEXT_BYTES = 64;
const WINDOW = 64;

/** The one-room load: 50 clients, 10 senders, spread over the nodes alternately. */
const ONE_ROOM: FanoutSpec = {
  kind: "fanout",
  clients: 50,
  senders: 10,
  perSender: 3000,
  textBytes: TEXT_BYTES,
  window: WINDOW,
  timeoutMs: 120_000,
  latency: true,
};

/** A room twice as big: more deliveries per message to spread each node's per-message cost over. */
const BIG_ROOM: FanoutSpec = { ...ONE_ROOM, clients: 100, perSender: 1500 };

/** Many small rooms, each on one node: every node reads every room's batches from the log. */
const MANY_ROOMS: FanoutSpec = {
  kind: "fanout",
  clients: 100,
  senders: 40,
  perSender: 1000,
  textBytes: TEXT_BYTES,
  window: WINDOW,
  timeoutMs: 120_000,
  rooms: 20,
  latency: true,
};

/** Paced messages for a latency p99 that is not queueing behind a flood. */
const PACED: LatencySpec = {
  kind: "latency",
  clients: 50,
  intervalMs: 10,
  durationMs: 5000,
  textBytes: TEXT_BYTES,
  timeoutMs: 30_000,
};

const ONE_ROOM_LABEL = "one room: 50 clients, 10 send 3000 x 64 B, window 64";
const BIG_ROOM_LABEL = "one room: 100 clients, 10 send 1500 x 64 B, window 64";
const MANY_ROOMS_LABEL = "20 rooms of 5, 2 send 1000 each, window 64; each room on one node";
const PACED_LABEL = "paced: 50 clients in one room, 1 message / 10 ms for 5 s";

/**
 * The full run's cluster scenarios, in `REPEATS` interleaved rounds: the one-room load on the
 * SQLite node, one Redis node (fsync always, and without an AOF), two and three nodes; a room
 * twice as big and the many-room load on one and two Redis nodes; and a paced run (latency, and
 * CPU per delivery at one message per batch) on the SQLite node and one to three Redis nodes.
 */
export function clusterScenarios(): ClusterScenario[] {
  const list: ClusterScenario[] = [];
  const oneRoom: ClusterSetup[] = [
    { nodes: 1, redis: false },
    { nodes: 1, redis: true },
    { nodes: 2, redis: true },
    { nodes: 3, redis: true },
    { nodes: 1, redis: true, persistence: "no AOF" },
    { nodes: 2, redis: true, persistence: "no AOF" },
  ];
  const manyRooms: ClusterSetup[] = [{ nodes: 1, redis: true }, { nodes: 2, redis: true }];
  const paced: ClusterSetup[] = oneRoom.slice(0, 4);
  for (let run = 1; run <= REPEATS; run++) {
    const add = (spec: LoadSpec, label: string, setups: ClusterSetup[]) => {
      for (const cluster of setups) {
        list.push({
          name: `${CLUSTER_COMPARISON}: ${label}; ${setupLabel(cluster)} (run ${run})`,
          spec,
          cluster,
          clusterLoad: label,
        });
      }
    };
    add(ONE_ROOM, ONE_ROOM_LABEL, oneRoom);
    add(BIG_ROOM, BIG_ROOM_LABEL, manyRooms);
    add(MANY_ROOMS, MANY_ROOMS_LABEL, manyRooms);
    add(PACED, PACED_LABEL, paced);
  }
  return list;
}

/** The smoke run's cluster scenario: two nodes on one Redis, a toy load, loss checked. */
export function clusterSmokeScenarios(): ClusterScenario[] {
  const cluster: ClusterSetup = { nodes: 2, redis: true };
  const spec: FanoutSpec = { ...ONE_ROOM, clients: 10, senders: 2, perSender: 100, window: 16 };
  return [{
    name: `${CLUSTER_COMPARISON} (smoke): 10 clients on 2 nodes, 2 send 100`,
    spec: { ...spec, timeoutMs: 10_000 },
    cluster,
    clusterLoad: "smoke",
  }];
}

/** A running cluster under test: its nodes and, with `--redis`, its Redis. */
export interface RunningCluster {
  /** The nodes, in order (`n1`, `n2`, ...). */
  nodes: ServerProcess[];
  /** The process id of the redis-server they share, if any. */
  redisPid?: number;
  /**
   * Entries written to the cluster log so far (`sc:logseq`, read with `redis-cli`): batches and
   * events. Null without Redis, or when it cannot be read.
   */
  logEntries(): Promise<number | null>;
  /** Stops the nodes, then Redis; resolves to what the nodes said on stderr. */
  stop(): Promise<string>;
}

/** Options for {@linkcode startCluster}. */
export interface ClusterLaunch {
  /** What to start. */
  setup: ClusterSetup;
  /** `serve` flags for every node (the bench's, and any `--serve-arg`). */
  serveArgs: string[];
  /** The SQLite node's database path (`--db`), when `serve` has that flag. */
  db?: string;
  /** Extra `deno run` flags for every node (`--cpu-prof`). */
  denoArgs: string[];
  /** Core for the nodes and Redis alike; null: unpinned. */
  cpu: number | null;
}

/** Is `redis-server` installed? The cluster scenarios are skipped without it. */
export async function redisVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command("redis-server", { args: ["--version"], stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/**
 * Starts Redis (pinned like the nodes) and the nodes on it, one after another, each waited for
 * until it listens. On failure, whatever started is stopped and the error rethrown.
 */
export async function startCluster(launch: ClusterLaunch): Promise<RunningCluster> {
  const { setup } = launch;
  const nodes: ServerProcess[] = [];
  let redis: RedisServer | null = null;
  const stop = async () => {
    const said = await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
    return said.filter((s) => s.trim() !== "").join("\n");
  };
  try {
    if (setup.redis) {
      redis = await startRedis({ appendonly: (setup.persistence ?? "fsync always") !== "no AOF" });
      if (launch.cpu !== null && redis.pid !== undefined) await pin(redis.pid, launch.cpu);
    }
    for (let k = 1; k <= setup.nodes; k++) {
      const cluster = redis === null
        ? (launch.db === undefined ? [] : ["--db", launch.db])
        : ["--redis", redis.url, "--node-id", `n${k}`];
      nodes.push(
        await startServer({
          program: "sockchat",
          serveArgs: [...launch.serveArgs, ...cluster],
          denoArgs: launch.denoArgs,
          cpu: launch.cpu,
        }),
      );
    }
    const port = redis?.port;
    const logEntries = () => port === undefined ? Promise.resolve(null) : logSeq(port);
    return { nodes, redisPid: redis?.pid, logEntries, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Moves a running process to `cpu` (`taskset -p`). */
async function pin(pid: number, cpu: number): Promise<void> {
  const out = await new Deno.Command("taskset", {
    args: ["-p", "-c", String(cpu), String(pid)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`taskset -p ${pid}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** `GET sc:logseq` through `redis-cli`: the log's entry count, or null. */
async function logSeq(port: number): Promise<number | null> {
  try {
    const out = await new Deno.Command("redis-cli", {
      args: ["-p", String(port), "GET", LOG_SEQ_KEY],
      stdout: "piped",
      stderr: "null",
    }).output();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    return out.success && Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}
