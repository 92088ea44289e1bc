/**
 * Test helpers for cluster mode end to end: one real `redis-server` (tests/helpers/redis.ts) and
 * several `sockchat serve --redis URL --node-id ID` subprocesses on free ports, each with the
 * front ends a test asks for; a node can be killed with SIGKILL, stopped and restarted on the
 * same ports. Everything started is stopped, and every temp dir removed, by `Cluster.stop()`.
 *
 * @module
 */

import type { ChatServer } from "../../server.ts";
import type { AckFrame, ServerFrame } from "../../protocol/frames.ts";
import { CLI_PERMISSIONS, loopbackServeArgs, MAIN_PATH } from "../../bench/launch_args.ts";
import { SERVE_HELP } from "../../cli/usage.ts";
import { NODE_CHECK_MS, NODE_LEASE_MS } from "../../config/cluster_limits.ts";
import { type RedisOptions, type RedisServer, startRedis } from "./redis.ts";
import { JsonClient, within } from "./wire.ts";

/**
 * Default bound of one wait on a cluster: wider than wire.ts's WAIT_MS, since every event here
 * crosses Redis and another process, on a CI machine that runs several nodes at once.
 */
export const CLUSTER_WAIT_MS = 10_000;

/**
 * True when `serve` takes `--node-lease SECONDS`: the tests that wait out a lease then run
 * with a short one ({@linkcode LEASE_FLAGS}); without it they wait the default,
 * {@linkcode NODE_LEASE_MS}.
 */
const SHORT_LEASE = SERVE_HELP.includes("--node-lease");

/** The node lease the tests' nodes run with. */
export const LEASE_MS: number = SHORT_LEASE ? 3_000 : NODE_LEASE_MS;

/** The flags that give a node {@linkcode LEASE_MS} (none where it is the default). */
export const LEASE_FLAGS: readonly string[] = SHORT_LEASE
  ? ["--node-lease", String(LEASE_MS / 1000)]
  : [];

/**
 * How long the other nodes may take to declare a silent node lost: the lease, one check
 * (each node looks every NODE_CHECK_MS), the log's trip, and room for a loaded CI machine.
 */
export const LOST_MS: number = LEASE_MS + NODE_CHECK_MS + 4_000;

/** How long a node may take to print that it listens (a cold `deno run` type-checks nothing). */
export const NODE_START_MS = 30_000;

/** How long a node may take to exit after SIGTERM before it is killed. */
const NODE_STOP_MS = 10_000;

/**
 * The door's per-address caps, opened wide unless a test's `extra` sets them: every client of
 * these tests comes from 127.0.0.1 (through HAProxy too), and retried logins count.
 */
const OPEN_DOOR: readonly (readonly [string, string])[] = [
  ["--max-conns-per-ip", "1000"],
  ["--max-logins-per-minute", "0"],
];

/** The front ends a node opens besides NDJSON (each on a free port). */
export interface NodeOptions {
  /** Open `--irc-port 0`. */
  irc?: boolean;
  /** Open `--web-port 0`. */
  web?: boolean;
  /** Open `--ssh-port 0` (the host key is made in the cluster's temp dir). */
  ssh?: boolean;
  /** More `serve` flags, appended last. */
  extra?: string[];
  /** Another way to the cluster's Redis (a {@linkcode TcpCut}'s url), instead of its own. */
  redisUrl?: string;
}

/** The ports one node listens on. */
export interface NodePorts {
  /** NDJSON and netcat. */
  native: number;
  /** IRC, with `irc`. */
  irc?: number;
  /** HTTP and /ws, with `web`. */
  web?: number;
  /** SSH, with `ssh`. */
  ssh?: number;
}

/**
 * A stand-in for a {@linkcode ChatServer} at these ports, for the shared client helpers
 * (JsonClient.login, plainLogin, RawIrcClient.open, WsClient.open), which read only `addr` and
 * `addresses`; nothing else of it exists.
 */
export function serverAt(ports: NodePorts): ChatServer {
  const at = (port: number | undefined): Deno.NetAddr | undefined =>
    port === undefined ? undefined : { transport: "tcp", hostname: "127.0.0.1", port };
  const native = at(ports.native) as Deno.NetAddr;
  return {
    addr: native,
    addresses: { native, irc: at(ports.irc), web: at(ports.web), ssh: at(ports.ssh) },
  } as unknown as ChatServer;
}

/** One `sockchat serve --redis` subprocess. */
export class ClusterNode {
  /** The `--node-id`. */
  readonly id: string;
  readonly #redisUrl: () => string;
  readonly #options: NodeOptions;
  readonly #env: Record<string, string>;
  #child: Deno.ChildProcess | null = null;
  #drained: Promise<void> = Promise.resolve();
  #out = "";
  #err = "";
  #ports: NodePorts | null = null;

  private constructor(
    id: string,
    redisUrl: () => string,
    options: NodeOptions,
    env: Record<string, string>,
  ) {
    this.id = id;
    this.#redisUrl = redisUrl;
    this.#options = options;
    this.#env = env;
  }

  /** Starts a node and waits until every listener it was asked for has printed its port. */
  static async start(
    id: string,
    redisUrl: () => string,
    options: NodeOptions,
    env: Record<string, string>,
  ): Promise<ClusterNode> {
    const node = new ClusterNode(id, redisUrl, options, env);
    await node.#spawn(null);
    return node;
  }

  /** The ports it listens on (the same after a restart). */
  get ports(): NodePorts {
    if (this.#ports === null) throw new Error(`node ${this.id} has not started`);
    return this.#ports;
  }

  /** The NDJSON port. */
  get port(): number {
    return this.ports.native;
  }

  /** A {@linkcode ChatServer} stand-in for the shared client helpers (see {@linkcode serverAt}). */
  get server(): ChatServer {
    return serverAt(this.ports);
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child !== null;
  }

  /** Everything it printed (stdout, then stderr), for failure messages. */
  get output(): string {
    return `--- ${this.id} stdout\n${this.#out}--- ${this.id} stderr\n${this.#err}`;
  }

  /** Its stderr so far (the log). */
  get log(): string {
    return this.#err;
  }

  /** Kills it with SIGKILL (no goodbye, no lease release) and waits for it to be gone. */
  async kill9(): Promise<void> {
    await this.#end("SIGKILL");
  }

  /** Stops it with SIGTERM (a clean shutdown), SIGKILL past a bound; waits for it. */
  async stop(): Promise<Deno.CommandStatus | null> {
    return await this.#end("SIGTERM");
  }

  /** Starts it again with the same node id, flags and ports (it must not be running). */
  async restart(): Promise<void> {
    if (this.#child !== null) throw new Error(`node ${this.id} is still running`);
    await this.#spawn(this.#ports);
  }

  async #end(signal: Deno.Signal): Promise<Deno.CommandStatus | null> {
    const child = this.#child;
    if (child === null) return null;
    this.#child = null;
    try {
      child.kill(signal);
    } catch {
      // already exited
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }, NODE_STOP_MS);
    try {
      const status = await child.status;
      await this.#drained;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  async #spawn(ports: NodePorts | null): Promise<void> {
    const options = this.#options;
    const portFlag = (flag: string, port: number | undefined) => [flag, String(port ?? 0)];
    const extra = options.extra ?? [];
    const args = [
      ...loopbackServeArgs("warn", ["--db", ":memory:"]),
      ...OPEN_DOOR.filter(([flag]) => !extra.includes(flag)).flat(),
      "--redis",
      options.redisUrl ?? this.#redisUrl(),
      "--node-id",
      this.id,
      ...(options.irc ? portFlag("--irc-port", ports?.irc) : []),
      ...(options.web ? portFlag("--web-port", ports?.web) : []),
      ...(options.ssh ? portFlag("--ssh-port", ports?.ssh) : []),
      ...extra,
    ];
    if (ports !== null) args[args.indexOf("--port") + 1] = String(ports.native);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...CLI_PERMISSIONS, MAIN_PATH, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...this.#env },
    }).spawn();
    this.#child = child;
    this.#out = "";
    this.#err = "";
    let wake: () => void = () => {};
    let exited = false;
    const pump = async (stream: ReadableStream<Uint8Array>, into: (text: string) => void) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        into(chunk);
        wake();
      }
    };
    this.#drained = Promise.all([
      pump(child.stdout, (text) => (this.#out += text)),
      pump(child.stderr, (text) => (this.#err += text)),
    ]).then(() => {
      exited = true;
      wake();
    });
    try {
      this.#ports = await within(
        (async () => {
          while (true) {
            const found = this.#parsePorts();
            if (found !== null) return found;
            if (exited) throw new Error(`node ${this.id} exited before listening`);
            await new Promise<void>((resolve) => (wake = resolve));
          }
        })(),
        `node ${this.id} to listen`,
        NODE_START_MS,
      );
    } catch (error) {
      await this.#end("SIGKILL");
      throw new Error(`${(error as Error).message}\n${this.output}`);
    }
  }

  #parsePorts(): NodePorts | null {
    const port = (pattern: RegExp) => {
      const match = pattern.exec(this.#out);
      return match === null ? undefined : Number(match[1]);
    };
    const native = port(/^listening on .*:(\d+)$/m);
    const irc = port(/^irc listening on .*:(\d+)$/m);
    const web = port(/^web listening on https?:\/\/.*:(\d+)\/$/m);
    const ssh = port(/^ssh listening on .*:(\d+)$/m);
    const options = this.#options;
    if (native === undefined) return null;
    if (options.irc && irc === undefined) return null;
    if (options.web && web === undefined) return null;
    if (options.ssh && ssh === undefined) return null;
    return { native, irc, web, ssh };
  }
}

/** Options for {@linkcode startCluster}. */
export interface ClusterOptions {
  /** How many nodes (default 2), named n1, n2, ... */
  nodes?: number;
  /** Front ends and flags for every node. */
  node?: NodeOptions;
  /** How Redis runs (default: appendonly with appendfsync always, as the README advises). */
  redis?: RedisOptions;
  /**
   * Files written (mode 0600) into the cluster's temp dir before any node starts, by name;
   * `@DIR@` in a node's `extra` flags stands for that dir (`--oper-file @DIR@/oper`).
   */
  files?: Record<string, string>;
}

/** A Redis and the nodes sharing it. */
export interface Cluster {
  /** The Redis server. */
  readonly redis: RedisServer;
  /** The nodes, in start order. */
  readonly nodes: ClusterNode[];
  /** A temp dir removed by `stop()` (keys, configs). */
  readonly dir: string;
  /** The environment the nodes run with (XDG dirs in `dir`): give it to clients started too. */
  readonly env: Record<string, string>;
  /** Starts one more node (`n<count+1>` unless named). */
  addNode(options?: NodeOptions, id?: string): Promise<ClusterNode>;
  /** Every node's output, for a failure message. */
  output(): string;
  /** Stops every node, then Redis, and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis and `nodes` sockchat nodes on it. On failure whatever started is stopped.
 *
 * @example
 * ```ts ignore
 * const cluster = await startCluster({ nodes: 2 });
 * try {
 *   const alice = await loginAt(cluster.nodes[0].port, "alice");
 * } finally {
 *   await cluster.stop();
 * }
 * ```
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-cluster-" });
  // Nodes keep an SSH host key under XDG_STATE_HOME, and `join` keys under XDG_CONFIG_HOME:
  // never the real user's.
  const env = { XDG_STATE_HOME: `${dir}/state`, XDG_CONFIG_HOME: `${dir}/config` };
  let redis: RedisServer | null = null;
  const nodes: ClusterNode[] = [];
  const stop = async () => {
    const ended = await Promise.allSettled(nodes.map((node) => node.stop()));
    await redis?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    for (const end of ended) if (end.status === "rejected") throw end.reason;
  };
  try {
    for (const [name, text] of Object.entries(options.files ?? {})) {
      await Deno.writeTextFile(`${dir}/${name}`, text, { mode: 0o600 });
    }
    const started = await startRedis(options.redis ?? { appendonly: true });
    redis = started;
    const addNode = async (node: NodeOptions = options.node ?? {}, id?: string) => {
      const extra = node.extra?.map((arg) => arg.replaceAll("@DIR@", dir));
      const added = await ClusterNode.start(
        id ?? `n${nodes.length + 1}`,
        () => started.url,
        { ...node, extra },
        env,
      );
      nodes.push(added);
      return added;
    };
    // One at a time: each `deno run` is busy for a while at start, and the order fixes names.
    for (let i = 0; i < (options.nodes ?? 2); i++) await addNode();
    return {
      redis: started,
      nodes,
      dir,
      env,
      addNode,
      output: () => nodes.map((node) => node.output).join("\n"),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs `body` with a started cluster, stopping it after (and printing node logs on failure). */
export async function withCluster(
  options: ClusterOptions,
  body: (cluster: Cluster) => Promise<void>,
): Promise<void> {
  const cluster = await startCluster(options);
  try {
    await body(cluster);
  } catch (error) {
    console.error(cluster.output());
    throw error;
  } finally {
    await cluster.stop();
  }
}

/** Connects an NDJSON client to `port` and logs in as `nick`; fails on anything but a welcome. */
export async function loginAt(
  port: number,
  nick: string,
  fields: Record<string, unknown> = {},
): Promise<JsonClient> {
  const client = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  await client.send({ type: "hello", v: 1, nick, ...fields });
  const frame = await client.next(`welcome for ${nick}`, CLUSTER_WAIT_MS);
  if (frame?.type !== "welcome") {
    client.close();
    throw new Error(`login as ${nick} on ${port} failed: ${JSON.stringify(frame)}`);
  }
  return client;
}

/** Sends a hello to `port` and returns the first frame answering it (welcome, error, ...). */
export async function helloAt(
  port: number,
  nick: string,
  fields: Record<string, unknown> = {},
): Promise<{ client: JsonClient; frame: ServerFrame | null }> {
  const client = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  await client.send({ type: "hello", v: 1, nick, ...fields });
  return { client, frame: await client.next(`answer to ${nick}'s hello`, CLUSTER_WAIT_MS) };
}

/** A room message as an observer saw it. */
export interface Seen {
  id: number;
  room: string;
  from: string;
  text: string;
  history: boolean;
}

/** Sends one message to #lobby and returns its ack; frames read meanwhile go to `other`. */
export async function say(
  client: JsonClient,
  text: string,
  ref: string,
  other: (frame: ServerFrame) => void = () => {},
): Promise<AckFrame> {
  await client.send({ type: "msg", room: "#lobby", text, ref });
  while (true) {
    const frame = await client.next(`the ack of ${text}`);
    if (frame === null) throw new Error(`EOF before the ack of ${text}`);
    if (frame.type === "error" && frame.ref === ref) throw new Error(JSON.stringify(frame));
    if (frame.type === "ack" && frame.ref === ref) return frame;
    other(frame);
  }
}

/**
 * Reads `client`'s frames until `done(seen)` holds, collecting every `msg` of `room` (`*`: of
 * any room); other frames go to `other` if given. Fails on EOF or after `ms`.
 */
export async function collect(
  client: JsonClient,
  room: string,
  done: (seen: Seen[]) => boolean,
  ms = CLUSTER_WAIT_MS,
  other?: (frame: ServerFrame) => void,
): Promise<Seen[]> {
  const seen: Seen[] = [];
  await within(
    (async () => {
      while (!done(seen)) {
        const frame = await client.next("a msg", ms);
        if (frame === null) throw new Error(`EOF after ${seen.length} messages`);
        if (frame.type === "msg" && (frame.room === room || room === "*")) {
          seen.push({
            id: frame.id,
            room: frame.room,
            from: frame.from,
            text: frame.text,
            history: frame.history === true,
          });
        } else other?.(frame);
      }
    })(),
    `messages in ${room}`,
    ms,
  ).catch((error) => {
    throw new Error(
      `${(error as Error).message} (${seen.length} seen, last ${JSON.stringify(seen.at(-1))})`,
    );
  });
  return seen;
}

/** Reads `client`'s frames until it was told each of `nicks` joined `room` (in any order). */
export async function joinsOf(
  client: JsonClient,
  nicks: readonly string[],
  room = "#lobby",
  ms = CLUSTER_WAIT_MS,
): Promise<void> {
  const missing = new Set(nicks);
  await collect(client, room, () => missing.size === 0, ms, (frame) => {
    if (frame.type === "join" && frame.room === room) missing.delete(frame.nick);
  }).catch((error) => {
    throw new Error(`${[...missing].join(", ")} never joined ${room}: ${error.message}`);
  });
}

/** Throws unless the ids rise strictly (which also rules out duplicates). */
export function assertRising(seen: readonly { id: number }[], who: string): void {
  for (let i = 1; i < seen.length; i++) {
    if (!(seen[i].id > seen[i - 1].id)) {
      throw new Error(
        `${who} saw id ${seen[i].id} after ${seen[i - 1].id} (position ${i} of ${seen.length})`,
      );
    }
  }
}

/** Runs `redis-cli -p PORT --json ARGS...` and parses its answer. */
export async function redisCli(port: number, ...args: string[]): Promise<unknown> {
  const command = new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), "--json", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const out = await within(
    command.output().catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error("redis-cli is needed for this test: apt-get install -y redis-tools");
    }),
    `redis-cli ${args.join(" ")}`,
  );
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(`redis-cli ${args.join(" ")}: ${text} ${new TextDecoder().decode(out.stderr)}`);
  }
  return text === "" ? null : JSON.parse(text);
}

/** One entry of a room stream, with its message parsed. */
export interface StreamEntry {
  /** The stream entry id (`<msgid>-0`). */
  entry: string;
  /** The StoredMessage it holds. */
  message: { id: number; room: string; from: string; text: string; ts: number };
}

/** Every entry of the room stream `sc:room:<key>` (key: the folded room name), oldest first. */
export async function roomStream(redisPort: number, key: string): Promise<StreamEntry[]> {
  const answer = await redisCli(redisPort, "XRANGE", `sc:room:${key}`, "-", "+");
  if (!Array.isArray(answer)) throw new Error(`XRANGE answered ${JSON.stringify(answer)}`);
  return answer.map((item) => {
    const [entry, fields] = item as [string, string[]];
    const at = fields.indexOf("m");
    if (at === -1) throw new Error(`stream entry ${entry} has no m field: ${fields}`);
    return { entry, message: JSON.parse(fields[at + 1]) };
  });
}

/** A free TCP port on 127.0.0.1 (bound and released: another process could take it first). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** The address HAProxy connects to the nodes from: give nodes `--proxy-from` it. */
export const PROXY_SOURCE = "127.0.0.2";

/** How long HAProxy may take to accept on every front end. */
const HAPROXY_START_MS = 10_000;

/** A running HAProxy in front of the nodes. */
export interface Haproxy {
  /** Its listening port for each front end named at start. */
  readonly ports: Record<string, number>;
  /** Its output so far. */
  output(): string;
  /** Stops it and waits for it. */
  stop(): Promise<void>;
}

/** The sample HAProxy config the operator's guide ships, which the front-end test runs. */
export const HAPROXY_SAMPLE = new URL("../../docs/haproxy.cfg", import.meta.url);

/**
 * Starts HAProxy with docs/haproxy.cfg, made to run here: each of its front ends named in
 * `backends` (native, irc, web, ssh) binds a free port on 127.0.0.1, and its servers `a`, `b`,
 * ... are the given node ports in order, reached from {@linkcode PROXY_SOURCE} (so nodes given
 * `--proxy-from` it take a PROXY header only from HAProxy, and the tests' own clients connect
 * directly). Everything else (mode tcp, balance, send-proxy-v2, health checks) is the sample's.
 */
export async function startHaproxy(
  dir: string,
  backends: Record<string, number[]>,
): Promise<Haproxy> {
  const sample = await Deno.readTextFile(HAPROXY_SAMPLE);
  const ports: Record<string, number> = {};
  let section = "";
  const config = sample.split("\n").map((line) => {
    const header = /^(frontend|backend) (\S+)/.exec(line);
    if (header !== null) section = header[2].replace(/_nodes$/, "");
    const bind = /^(\s*)bind \S+$/.exec(line);
    if (bind !== null && section in backends) {
      ports[section] = freePort();
      return `${bind[1]}bind 127.0.0.1:${ports[section]}`;
    }
    const server = /^(\s*)server ([a-z]) \S+(.*)$/.exec(line);
    if (server !== null && section in backends) {
      const port = backends[section][server[2].charCodeAt(0) - "a".charCodeAt(0)];
      if (port === undefined) return "";
      return `${server[1]}server ${server[2]} 127.0.0.1:${port} source ${PROXY_SOURCE}${server[3]}`;
    }
    return line;
  }).join("\n");
  for (const name of Object.keys(backends)) {
    if (ports[name] === undefined) throw new Error(`docs/haproxy.cfg has no front end ${name}`);
  }
  const path = `${dir}/haproxy-${crypto.randomUUID().slice(0, 8)}.cfg`;
  await Deno.writeTextFile(path, config);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("haproxy", {
      args: ["-f", path, "-db"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error("haproxy is needed for this test: apt-get install -y haproxy");
  }
  let out = "";
  let exited = false;
  const drained = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) out += chunk;
  })).then(() => {
    exited = true;
  });
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    await drained;
  };
  try {
    // HAProxy says nothing when it is ready: ready is when every front end accepts.
    await within(
      (async () => {
        for (const port of Object.values(ports)) {
          while (true) {
            if (exited) throw new Error(`haproxy exited: ${out}`);
            try {
              (await Deno.connect({ hostname: "127.0.0.1", port })).close();
              break;
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          }
        }
      })(),
      "haproxy to listen",
      HAPROXY_START_MS,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${config}\n${out}`);
  }
  return { ports, output: () => out, stop };
}

/**
 * A TCP forwarder to a local port that a test can cut and mend, to take one node off Redis
 * while the others keep it. Cut, it closes every connection it carries and every new one at
 * once (a node sees its connection reset, as when a link fails).
 */
export class TcpCut {
  readonly #listener: Deno.Listener;
  readonly #target: number;
  readonly #conns = new Set<Deno.Conn>();
  readonly #pipes = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;
  #cut = false;
  #frozen = false;

  /** Listens on a free port, forwarding to 127.0.0.1:`target`. */
  constructor(target: number) {
    this.#target = target;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** `redis://127.0.0.1:PORT` of the forwarder. */
  get url(): string {
    return `redis://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  /** Closes every connection and refuses new ones until {@linkcode TcpCut.mend}. */
  cut(): void {
    this.#cut = true;
    for (const conn of this.#conns) close(conn);
  }

  /**
   * Drops every byte either way from now on, keeping the connections open: a link gone silent
   * (a partition, a firewall dropping packets), which no reset announces. Ended by a cut.
   */
  freeze(): void {
    this.#frozen = true;
  }

  /** Forwards again (after a cut, or a freeze: its connections are cut first). */
  mend(): void {
    if (this.#frozen) this.cut();
    this.#frozen = false;
    this.#cut = false;
  }

  /** Stops listening, closes every connection and waits for its pumps. */
  async close(): Promise<void> {
    this.#cut = true;
    this.#listener.close();
    for (const conn of this.#conns) close(conn);
    await this.#accepting;
    await Promise.all(this.#pipes);
  }

  async #accept(): Promise<void> {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      if (this.#cut) {
        close(conn);
        continue;
      }
      const pipe = this.#forward(conn);
      this.#pipes.add(pipe);
      void pipe.finally(() => this.#pipes.delete(pipe));
    }
  }

  async #forward(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    let server: Deno.Conn | null = null;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
      this.#conns.add(server);
      if (this.#cut) return;
      const frozen = () => this.#frozen;
      const pumps = [pump(client, server, frozen), pump(server, client, frozen)];
      await Promise.race(pumps);
      // One side ended: end the other, and wait for its read to let go.
      close(client);
      close(server);
      await Promise.all(pumps);
    } catch {
      // the target is down, or the link was cut
    } finally {
      close(client);
      this.#conns.delete(client);
      if (server !== null) {
        close(server);
        this.#conns.delete(server);
      }
    }
  }
}

/** Copies `from` to `to` until either ends; while `frozen()`, what is read is dropped. */
async function pump(from: Deno.Conn, to: Deno.Conn, frozen: () => boolean): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    while (true) {
      const n = await from.read(buffer);
      if (n === null) return;
      if (frozen()) continue;
      let chunk = buffer.subarray(0, n);
      while (chunk.length > 0) chunk = chunk.subarray(await to.write(chunk));
    }
  } catch {
    // closed by a cut, or by the other side
  }
}

/** Closes a connection that may be closed already. */
function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/**
 * A `sockchat join ADDRESSES --json --reconnect --no-key` subprocess: the real client, whose
 * frames (one JSON line each on stdout) a test reads as they come. Its stderr is kept.
 */
export class JoinProcess {
  /** Every frame printed so far, in order. */
  readonly frames: ServerFrame[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #stdout: ReadableStreamDefaultReader<string>;
  readonly #stderr: Promise<string>;
  #partial = "";

  /** Starts `sockchat join` as `nick` over `ports` (127.0.0.1), in that order. */
  constructor(ports: number[], nick: string, env: Record<string, string>) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...CLI_PERMISSIONS,
        MAIN_PATH,
        "join",
        ports.map((port) => `127.0.0.1:${port}`).join(","),
        "-n",
        nick,
        "--json",
        "--reconnect",
        "--no-key",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    this.#stdout = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stderr = new Response(this.#child.stderr).text();
  }

  /** Reads frames until one passes `check`; returns it. Fails if join exits or after `ms`. */
  async until(
    what: string,
    check: (frame: ServerFrame) => boolean,
    ms: number,
  ): Promise<ServerFrame> {
    return await within(
      (async () => {
        while (true) {
          const nl = this.#partial.indexOf("\n");
          if (nl !== -1) {
            const frame = JSON.parse(this.#partial.slice(0, nl)) as ServerFrame;
            this.#partial = this.#partial.slice(nl + 1);
            this.frames.push(frame);
            if (check(frame)) return frame;
            continue;
          }
          const { value, done } = await this.#stdout.read();
          if (done) throw new Error(`join exited before ${what}`);
          this.#partial += value;
        }
      })(),
      what,
      ms,
    );
  }

  /** Ends its input (it quits), waits for it (killing it past a bound); returns its stderr. */
  async close(): Promise<string> {
    await this.#child.stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // exited
      }
    }, NODE_STOP_MS);
    try {
      await this.#child.status;
    } finally {
      clearTimeout(timer);
    }
    await this.#stdout.cancel().catch(() => {});
    return await this.#stderr;
  }
}
