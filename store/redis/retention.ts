/**
 * `--max-age` for the Redis history: a sweep that trims each room's stream to the messages young
 * enough (`XTRIM MINID` at the first one, found by bisection inside Redis). Streams are keyed by
 * message id, not time, so `MINID` needs that id; `--retention` needs no sweep (each append's
 * `MAXLEN` keeps it). One node per interval sweeps (a lock with the interval's expiry): the work
 * is the same whoever does it.
 *
 * @module
 */

import type { RedisConn } from "../../cluster/redis_conn.ts";
import { ROOMS_KEY, UPKEEP_KEY } from "../../cluster/keys.ts";
import { RETENTION_SWEEP_ROOMS } from "../../config/cluster_limits.ts";
import { TRIM_AGE } from "./scripts.ts";

/** What {@linkcode sweepAge} needs. */
export interface AgeSweep {
  /** The sweeping node's id (held in the lock, for whoever looks). */
  node: string;
  /** How long the lock keeps other nodes from sweeping (ms): the sweep interval. */
  lockMs: number;
  /** Messages with a ts before this (ms since the epoch) are deleted. */
  cutoff: number;
  /** True once the store closed: the sweep stops between rooms. */
  stopped: () => boolean;
}

/**
 * Trims every room's stream by age, unless another node holds the lock. Resolves with the
 * entries deleted; rejects (StoreError) when Redis cannot be reached.
 */
export async function sweepAge(conn: RedisConn, sweep: AgeSweep): Promise<number> {
  const lock = await conn.command(["SET", UPKEEP_KEY, sweep.node, "NX", "PX", sweep.lockMs]);
  if (lock !== "OK") return 0;
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, members] = await conn.command([
      "SSCAN",
      ROOMS_KEY,
      cursor,
      "COUNT",
      RETENTION_SWEEP_ROOMS,
    ]) as [string, string[]];
    cursor = next;
    for (const key of members) {
      if (sweep.stopped()) return deleted;
      deleted += Number(await conn.run(TRIM_AGE, [`sc:room:${key}`], [sweep.cutoff]));
    }
  } while (cursor !== "0");
  return deleted;
}
