/**
 * The cluster's one cloak key (`sc:cloakkey`): the first node to start makes it, every other
 * node reads it, so a user's cloak is the same on every node and a room ban by cloak (`+b
 * *!*@1a2b3c4d5e.sc`) set on one node holds on all of them. It outlives node restarts. When
 * Redis comes back empty (a new epoch), every running node offers the key it has again and
 * takes whichever is there first, so the nodes keep one key (the old one, unless a node started
 * meanwhile made a new one).
 *
 * @module
 */

import { CLOAK_KEY_MIN_BYTES } from "../core/cloak.ts";
import { StoreError } from "../store/store_error.ts";
import type { EpochWatch } from "./epoch.ts";
import { CLOAK_KEY } from "./keys.ts";
import { type RedisConn, Script } from "./redis_conn.ts";

/** Bytes of randomness in a new key (hex-encoded in Redis). */
const NEW_KEY_BYTES = 32;

/** Sets the key if there is none, and returns the one that is there, in one step. */
const TAKE_KEY = new Script(`
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
`);

/**
 * The cloak key the cluster shares: `sc:cloakkey`, set to `offer` (by default a new random key)
 * if no node set it yet. Rejects with a {@linkcode StoreError} when Redis cannot be reached or
 * the key Redis holds is too short to be one.
 */
async function clusterCloakKey(
  conn: RedisConn,
  offer: Uint8Array = newKey(),
): Promise<Uint8Array> {
  const held = await conn.run(TAKE_KEY, [CLOAK_KEY], [new TextDecoder().decode(offer)]);
  const key = typeof held === "string" ? new TextEncoder().encode(held) : new Uint8Array();
  if (key.length < CLOAK_KEY_MIN_BYTES) {
    throw new StoreError(
      `${CLOAK_KEY} in Redis at ${conn.where} is not a cloak key (delete it to have a new one made)`,
    );
  }
  return key;
}

/**
 * Takes the cluster's cloak key now and gives it to `use` (core/cloak.ts's `setCloakKey`), then
 * keeps the nodes on one key across a Redis that came back empty: at each new epoch it offers
 * the key it has and gives `use` whatever Redis then holds. Rejects as
 * {@linkcode clusterCloakKey} at start; later failures go to `onError` (the node keeps the key
 * it has).
 */
export async function shareCloakKey(
  conn: RedisConn,
  epoch: EpochWatch,
  use: (key: Uint8Array) => void,
  onError: (message: string) => void,
): Promise<void> {
  let key = await clusterCloakKey(conn);
  use(key);
  epoch.onChange(() => {
    clusterCloakKey(conn, key).then((held) => {
      key = held;
      use(held);
    }, (error) => onError(`the cloak key could not be offered again: ${(error as Error).message}`));
  });
}

/** A new key: random bytes, hex-encoded (the key is that text, as Redis holds it). */
function newKey(): Uint8Array {
  const bytes = crypto.getRandomValues(new Uint8Array(NEW_KEY_BYTES));
  return new TextEncoder().encode(
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
  );
}
