/**
 * The cluster's one cloak key (`sc:cloakkey`): the first node to start makes it, every other
 * node reads it, so a user's cloak is the same on every node and a room ban by cloak (`+b
 * *!*@1a2b3c4d5e.sc`) set on one node holds on all of them. It outlives node restarts; Redis
 * coming back empty makes a new one at the next node start (cloaks then change, as they did at
 * each restart of a single server).
 *
 * @module
 */

import { CLOAK_KEY_MIN_BYTES } from "../core/cloak.ts";
import { StoreError } from "../store/store_error.ts";
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
 * The cloak key the cluster shares: `sc:cloakkey`, made now (from `random`) if no node made it
 * yet. Rejects with a {@linkcode StoreError} when Redis cannot be reached or the key Redis holds
 * is too short to be one.
 */
export async function clusterCloakKey(
  conn: RedisConn,
  random: (bytes: number) => Uint8Array = (bytes) => crypto.getRandomValues(new Uint8Array(bytes)),
): Promise<Uint8Array> {
  const fresh = Array.from(random(NEW_KEY_BYTES), (b) => b.toString(16).padStart(2, "0")).join("");
  const held = await conn.run(TAKE_KEY, [CLOAK_KEY], [fresh]);
  const key = typeof held === "string" ? new TextEncoder().encode(held) : new Uint8Array();
  if (key.length < CLOAK_KEY_MIN_BYTES) {
    throw new StoreError(
      `${CLOAK_KEY} in Redis at ${conn.where} is not a cloak key (delete it to have a new one made)`,
    );
  }
  return key;
}
