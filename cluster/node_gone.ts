/**
 * Fast failover: a node that holds a wanted nick is checked for being dead, and declared lost at
 * once when it is, instead of after its whole lease (`NODE_LEASE_MS`). Without this, a
 * killed node's users who reconnect to another node at once are refused their own nicks until
 * its lease runs out (about 16 s); IRC clients then switch to another nick, and the web page
 * shows an error.
 *
 * The evidence: a live node keeps a subscriber on its direct-message channel (`sc:dm:<node>`),
 * and Redis drops a killed process's connections at once. So when the channel has no subscriber
 * now, and still none {@linkcode NODE_GONE_CONFIRM_MS} later, and the node's lease was not
 * renewed in between (same run's token, same expiry), the node is dead: it is declared lost by
 * the same exactly-once step as a lease that ran out (`node_lost` in the log under its id, its
 * nicks freed). A live node whose subscriber is reconnecting renews its lease meanwhile (the bus
 * beats every `SUBSCRIBER_DOWN_BEAT_MS` while its subscriber is away), so it is never
 * declared lost this way.
 *
 * Concurrent checks of one node share one look (a reconnect storm of a dead node's users makes
 * one check, not one per login).
 *
 * @module
 */

import type { RedisConn, Reply } from "./redis_conn.ts";
import { Script } from "./redis_conn.ts";
import { DEPART_LUA } from "./bus_scripts.ts";
import { directChannel, KEY_PREFIX, LOG_KEY, LOG_SEQ_KEY, nodeKey, NODES_KEY } from "./keys.ts";
import { LOG_MAXLEN, NODE_GONE_CONFIRM_MS } from "../config/cluster_limits.ts";

/**
 * How far a lease's expiry may seem to move without a renewal (ms): it is computed from
 * Redis's clock and PTTL, each rounded to the millisecond. A renewal moves it by a whole beat.
 */
const EXPIRY_SLACK_MS = 10;

/** Redis's clock in ms, as Lua computes it (a local function of both scripts). */
const NOW_LUA = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * The first look at a node. KEYS: its lease. ARGV: its direct-message channel. Returns the
 * channel's subscribers, the lease's run token ('' when there is none) and its expiry (ms on
 * Redis's clock; 0 without a lease).
 */
const LOOK = new Script(
  NOW_LUA + `
local subs = redis.call('PUBSUB', 'NUMSUB', ARGV[1])[2]
local token = redis.call('GET', KEYS[1])
if not token then return {subs, '', '0'} end
local expiry = now_ms() + redis.call('PTTL', KEYS[1])
return {subs, token, string.format('%.0f', expiry)}
`,
);

/**
 * The second look, and the declaration if the node still looks dead: no subscriber on its
 * channel, and its lease gone or not renewed since the first look (the same run's token, an
 * expiry no later). KEYS: nodes, log, logseq, its lease. ARGV: node, log cap, key prefix, its
 * channel, the token and expiry seen first, the slack. Returns `subscribed` or `renewed` (alive),
 * `lost` (declared lost now) or `gone` (not a member any more: declared or left already).
 */
const CONFIRM = new Script(
  DEPART_LUA + NOW_LUA + `
if redis.call('PUBSUB', 'NUMSUB', ARGV[4])[2] > 0 then return 'subscribed' end
local token = redis.call('GET', KEYS[4])
if token then
  if token ~= ARGV[5] then return 'renewed' end
  local expiry = now_ms() + redis.call('PTTL', KEYS[4])
  if expiry > tonumber(ARGV[6]) + tonumber(ARGV[7]) then return 'renewed' end
end
if depart(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[1], false) then return 'lost' end
return 'gone'
`,
);

/** Options for {@linkcode NodeGone}. */
export interface NodeGoneOptions {
  /** This node's id: never checked. */
  node: string;
  /** How long a node must look dead (ms). @default NODE_GONE_CONFIRM_MS */
  confirmMs?: number;
  /**
   * True while no node may be declared lost (this node's post-outage grace, while the others
   * reconnect; or it is closing). @default never
   */
  paused?: () => boolean;
  /** Told of each node a check declared lost (already announced in the log). @default nothing */
  onLost?: (node: string) => void;
}

/**
 * Checks whether nodes are dead; see the module documentation.
 *
 * @example
 * ```ts ignore
 * const gone = new NodeGone(conn, { node: "b" });
 * if (await gone.check("a")) {
 *   // "a" was declared lost (or had left): the nicks it held are free.
 * }
 * gone.close();
 * ```
 */
export class NodeGone {
  readonly #conn: RedisConn;
  readonly #node: string;
  readonly #confirmMs: number;
  readonly #paused: () => boolean;
  readonly #onLost: (node: string) => void;
  /** The check in progress per node (shared by every caller meanwhile). */
  readonly #checks = new Map<string, Promise<boolean>>();
  /** Confirmation waits in progress, ended by `close`. */
  readonly #waits = new Map<ReturnType<typeof setTimeout>, () => void>();
  #started = 0;
  #closed = false;

  /** Checks over `conn` (the bus's main connection). */
  constructor(conn: RedisConn, options: NodeGoneOptions) {
    this.#conn = conn;
    this.#node = options.node;
    this.#confirmMs = options.confirmMs ?? NODE_GONE_CONFIRM_MS;
    this.#paused = options.paused ?? (() => false);
    this.#onLost = options.onLost ?? (() => {});
  }

  /** Checks started so far (concurrent callers of one node's check count once). */
  get started(): number {
    return this.#started;
  }

  /**
   * True when `node` is gone now: declared lost by this check, or no member of the cluster any
   * more (the nicks it held are free then). False when it is (or may be) alive, when checks are
   * paused, or when Redis cannot be reached. Never rejects.
   */
  check(node: string): Promise<boolean> {
    if (node === this.#node || this.#closed || this.#paused()) return Promise.resolve(false);
    let running = this.#checks.get(node);
    if (running === undefined) {
      this.#started++;
      running = this.#run(node).catch(() => false).finally(() => this.#checks.delete(node));
      this.#checks.set(node, running);
    }
    return running;
  }

  /** Ends every wait in progress (their checks answer false). */
  close(): void {
    this.#closed = true;
    for (const [timer, end] of this.#waits) {
      clearTimeout(timer);
      end();
    }
    this.#waits.clear();
  }

  async #run(node: string): Promise<boolean> {
    const channel = directChannel(node);
    const first = await this.#conn.run(LOOK, [nodeKey(node)], [channel]);
    const [subs, token, expiry] = Array.isArray(first) ? first : [];
    if (Number(subs) > 0 || typeof token !== "string") return false;
    // Without a lease the node is lost already by the usual rule: no need to wait.
    if (token !== "" && !(await this.#wait())) return false;
    if (this.#closed || this.#paused()) return false;
    const answer: Reply = await this.#conn.run(CONFIRM, [
      NODES_KEY,
      LOG_KEY,
      LOG_SEQ_KEY,
      nodeKey(node),
    ], [node, LOG_MAXLEN, KEY_PREFIX, channel, token, String(expiry), EXPIRY_SLACK_MS]);
    if (answer === "lost") this.#onLost(node);
    return answer === "lost" || answer === "gone";
  }

  /** Waits the confirmation time; false if closed meanwhile. */
  #wait(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waits.delete(timer);
        resolve(!this.#closed);
      }, this.#confirmMs);
      this.#waits.set(timer, () => resolve(false));
    });
  }
}
