/**
 * The Redis keys the cluster uses, in one place: every key starts with `sc:`, so one Redis can
 * hold a sockchat cluster beside other data (and `redis-cli --scan --pattern 'sc:*'` shows it
 * all). docs/CLUSTER.md lists what each holds.
 *
 * @module
 */

import { roomKey } from "../core/room.ts";

/** The shared message id counter: the newest id handed out (messages and DM blocks). */
export const ID_KEY = "sc:id";
/** The newest `ts` handed out: no message gets an older one. */
export const TS_KEY = "sc:ts";
/** A random token, new each time the data starts over (Redis came back empty). */
export const EPOCH_KEY = "sc:epoch";
/** The id the current epoch started above: ids at or below it may have been lost. */
export const BASE_KEY = "sc:base";
/** The shared log: one Stream of committed batches (`m`) and events (`e`). */
export const LOG_KEY = "sc:log";
/** How many entries were ever written to the log in this epoch (each entry carries its number). */
export const LOG_SEQ_KEY = "sc:logseq";
/** Every room key that has a stream (for the retention sweep). */
export const ROOMS_KEY = "sc:rooms";
/** Room topics: field = room key. */
export const TOPICS_KEY = "sc:topics";
/** Live node ids. */
export const NODES_KEY = "sc:nodes";
/** The lock that lets one node at a time run the retention sweep. */
export const UPKEEP_KEY = "sc:upkeep";
/** Bans: field = kind + ":" + target. */
export const BANS_KEY = "sc:bans";
/** Mutes: field = kind + ":" + target. */
export const MUTES_KEY = "sc:mutes";
/** Accounts: field = folded nick. */
export const ACCOUNTS_KEY = "sc:accounts";
/** Room claims: field = room key. */
export const CLAIMS_KEY = "sc:claims";

/** The cloak key every node shares (cluster/cloak_key.ts), so a user's cloak is one. */
export const CLOAK_KEY = "sc:cloakkey";

/** A room's stream (entries `<id>-0`, fields `m` = the stored message's JSON, `n` = its number). */
export function roomStreamKey(room: string): string {
  return `sc:room:${roomKey(room)}`;
}

/** A room's bookkeeping hash: `floor` (ids at or below it may be lost) and `seq` (messages ever). */
export function roomMetaKey(room: string): string {
  return `sc:room:${roomKey(room)}:meta`;
}

/** The lease of node `node` (its value: the node's start time). */
export function nodeKey(node: string): string {
  return `sc:node:${node}`;
}

/** The lease on the folded nick `key` (its value: the holding node's id). */
export function nickLeaseKey(key: string): string {
  return `sc:nick:${key}`;
}

/** The pub/sub channel that carries direct messages to node `node`. */
export function directChannel(node: string): string {
  return `sc:dm:${node}`;
}

/**
 * The prefix of `address`'s login-rate counters: one per rate window, `<prefix>:<window>`
 * (cluster/shared_counter.ts; the window comes from Redis's clock).
 */
export function ratePrefix(address: string): string {
  return `sc:rate:${address}`;
}

/** The count of `kind` events (wrong secrets, registrations) from the address key `address`. */
export function countKey(kind: string, address: string): string {
  return `sc:count:${kind}:${address}`;
}

/** The folded nicks' lease keys node `node` holds (freed at once when it is lost). */
export function heldKey(node: string): string {
  return `sc:held:${node}`;
}

/** The prefix of every key (the Lua scripts build per-node keys from it). */
export const KEY_PREFIX = "sc:";
