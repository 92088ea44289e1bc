/**
 * Direct messages across cluster nodes whose hand-over has an unknown outcome: the bus's
 * `direct` rejected with a StoreError of kind `ambiguous` (Redis timed out, or the connection
 * broke mid-command), so the other node may have delivered it. The sender must hear it could not
 * be confirmed, never that it was not delivered (they would send it twice). Hubs are linked by
 * the in-memory cluster (store/memory/cluster.ts); the Redis bus is checked to reject so on a real
 * `redis-server` that does not answer in time.
 */

import assert from "node:assert/strict";
import { type ServerFrame } from "../protocol/frames.ts";
import { AmbiguousStoreError, RedisConn } from "../cluster/redis_conn.ts";
import { RedisBus } from "../cluster/redis_bus.ts";
import { startRedis } from "./helpers/redis.ts";
import { MemoryCluster } from "../store/memory/cluster.ts";
import { memoryHub, memoryLogin } from "./helpers/memory_cluster.ts";

/** Node `id` of `cluster` with its hub. */
function nodeOf(cluster: MemoryCluster, id: string) {
  const node = cluster.node(id);
  return { node, hub: memoryHub(node, id, { maxUsers: 10 }) };
}

/** The error frames among `frames`. */
function errors(frames: readonly ServerFrame[]): { code: string; message: string; ref?: string }[] {
  return frames.flatMap((f) => f.type === "error" ? [f] : []);
}

/** Two nodes, alice on a and bob on b, every node told of both; frames so far dropped. */
async function twoNodes() {
  const cluster = new MemoryCluster();
  const a = nodeOf(cluster, "a");
  const b = nodeOf(cluster, "b");
  const alice = await memoryLogin(a.hub, "alice", 1);
  const bob = await memoryLogin(b.hub, "bob", 2);
  await cluster.settle();
  alice.sink.take();
  bob.sink.take();
  const close = async () => {
    a.hub.shutdown();
    b.hub.shutdown();
    await cluster.settle();
  };
  return { cluster, a, b, alice, bob, close };
}

Deno.test("cluster direct: a DM whose hand-over to the other node timed out (outcome unknown) is told it could not be confirmed and may have been delivered, not that it was not delivered (a definite failure still is)", async () => {
  const { cluster, a, alice, bob, close } = await twoNodes();
  const direct = a.node.bus.direct.bind(a.node.bus);
  a.node.bus.direct = (node, key, frame) => {
    // The PUBLISH went out (bob gets it), but its answer never came.
    void direct(node, key, frame);
    return Promise.reject(new AmbiguousStoreError("Redis did not answer within 2000 ms"));
  };
  await a.hub.direct(alice.user, "bob", "are you there?", "d1");
  await cluster.settle();
  const frames = alice.sink.take();
  assert.deepEqual(frames.filter((f) => f.type === "ack"), [], "no ack: nothing confirmed it");
  const [error] = errors(frames);
  assert.ok(error !== undefined, "the sender is told");
  assert.equal(error.ref, "d1");
  assert.equal(error.code, "store_failed");
  assert.match(error.message, /could not be confirmed \(Redis did not answer within 2000 ms\)/);
  assert.match(error.message, /may have been delivered/);
  assert.doesNotMatch(error.message, /not delivered/);
  assert.deepEqual(
    bob.sink.take().flatMap((f) => f.type === "dm" ? [f.text] : []),
    ["are you there?"],
  );
  // A definite failure (any other rejection, or the node unreachable) is still "not delivered".
  a.node.bus.direct = () => Promise.reject(new Error("connection refused"));
  await a.hub.direct(alice.user, "bob", "one", "d2");
  a.node.bus.direct = () => false;
  await a.hub.direct(alice.user, "bob", "two", "d3");
  await cluster.settle();
  const told = errors(alice.sink.take()).sort((x, y) => (x.ref ?? "").localeCompare(y.ref ?? ""));
  assert.deepEqual(told.map((e) => [e.ref, e.code]), [["d2", "no_such_user"], [
    "d3",
    "no_such_user",
  ]]);
  for (const e of told) assert.match(e.message, /your message was not delivered/);
  await close();
});

Deno.test("cluster direct: the Redis bus rejects a DM hand-over whose PUBLISH got no answer in time as ambiguous (it may have been delivered), not as unreachable", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url, { name: "a", commandTimeoutMs: 500 });
  const pauser = await RedisConn.open(redis.url, { name: "pauser" });
  const bus = await RedisBus.open(conn, {
    node: "a",
    leaseMs: 5000,
    refreshMs: 1000,
    checkMs: 60_000,
  });
  try {
    const frame: ServerFrame = { type: "dm", id: 1, from: "alice", to: "bob", text: "hi", ts: 1 };
    await pauser.command(["CLIENT", "PAUSE", "1500", "ALL"]);
    await assert.rejects(
      Promise.resolve(bus.direct("b", "bob", frame)),
      (error: unknown) => error instanceof AmbiguousStoreError,
    );
  } finally {
    await bus.close();
    conn.close();
    pauser.close();
  }
});
