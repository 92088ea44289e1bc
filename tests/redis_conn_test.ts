/**
 * The Redis connection (cluster/redis_conn.ts): a readable error when Redis cannot be reached
 * or refuses the login, a password in the URL, commands failing at once while Redis is down
 * (no offline queue) and the connection coming back by itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RedisConn, redisWhere } from "../cluster/redis_conn.ts";
import { StoreError } from "../store/store_error.ts";
import { startRedis } from "./helpers/redis.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("redis conn: an unreachable Redis at start is a readable StoreError naming it, without the password", async () => {
  const port = freePort();
  await assert.rejects(
    RedisConn.open(`redis://:secret@127.0.0.1:${port}`),
    (error: unknown) =>
      error instanceof StoreError &&
      error.message === `Redis at 127.0.0.1:${port} is unreachable` &&
      !error.message.includes("secret"),
  );
  assert.equal(redisWhere("rediss://user:pw@redis.example:6380/2"), "redis.example:6380");
  assert.equal(redisWhere("redis://localhost"), "localhost:6379");
});

Deno.test("redis conn: a password in the URL logs in; a wrong one is refused in Redis's words", async () => {
  await using redis = await startRedis({ args: ["--requirepass", "s3cret"] });
  const conn = await RedisConn.open(`redis://:s3cret@127.0.0.1:${redis.port}`);
  try {
    assert.equal(await conn.command(["PING"]), "PONG");
  } finally {
    conn.close();
  }
  await assert.rejects(
    RedisConn.open(`redis://:wrong@127.0.0.1:${redis.port}`),
    (error: unknown) =>
      error instanceof StoreError &&
      /^Redis at 127\.0\.0\.1:\d+ refused it \(WRONGPASS/.test(error.message),
  );
});

Deno.test("redis conn: while Redis is down a command fails at once, the outage is reported once, and the connection comes back by itself", async () => {
  await using redis = await startRedis();
  const states: (string | null)[] = [];
  const conn = await RedisConn.open(redis.url, { onState: (s) => states.push(s) });
  try {
    await redis.shutdown();
    const started = performance.now();
    await assert.rejects(conn.command(["PING"]), StoreError);
    await assert.rejects(conn.command(["PING"]), StoreError);
    assert.ok(performance.now() - started < 1000, "no waiting for Redis to come back");
    const back = new Promise<void>((resolve) => {
      const stop = conn.onReady(() => {
        stop();
        resolve();
      });
    });
    await redis.restart();
    await back;
    assert.equal(await conn.command(["PING"]), "PONG");
    assert.equal(states.length, 2);
    assert.match(String(states[0]), /^Redis at 127\.0\.0\.1:\d+ is unreachable/);
    assert.equal(states[1], null);
  } finally {
    conn.close();
  }
});
