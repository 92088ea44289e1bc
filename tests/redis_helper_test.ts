/**
 * The test redis-server helper (tests/helpers/redis.ts): it starts, answers, keeps its AOF data
 * across kill -9, comes back empty when asked, and leaves nothing running.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createClient } from "redis";
import { startRedis } from "./helpers/redis.ts";

function newClient(url: string) {
  return createClient({ url });
}

async function withClient<T>(url: string, work: (c: ReturnType<typeof newClient>) => Promise<T>) {
  const client = newClient(url);
  client.on("error", () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    client.destroy();
  }
}

Deno.test("redis helper: data survives kill -9 with appendonly, and a restart without data empties it", async () => {
  await using redis = await startRedis({ appendonly: true });
  await withClient(redis.url, (c) => c.set("k", "v"));
  await redis.kill9();
  assert.equal(redis.running, false);
  await redis.restart({ keepData: true });
  assert.equal(await withClient(redis.url, (c) => c.get("k")), "v");
  await redis.restart({ keepData: false });
  assert.equal(await withClient(redis.url, (c) => c.get("k")), null);
  assert.equal(typeof await redis.cpuTicks(), "number");
});
