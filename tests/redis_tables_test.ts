/**
 * The cluster's record tables (store/redis/tables.ts) against a real redis-server: loaded once
 * for the hub, written through with a `record` event per change, other nodes' changes taken
 * into the cache, writes made while Redis was away written once it is back, and everything
 * re-seeded after Redis came back empty. Also the history's age sweep (`--max-age`).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ClusterEvent } from "../core/cluster.ts";
import type { Ban } from "../core/ports.ts";
import { RedisConn } from "../cluster/redis_conn.ts";
import { RedisTables } from "../store/redis/tables.ts";
import { RedisHistory } from "../store/redis/history.ts";
import { BANS_KEY } from "../cluster/keys.ts";
import { startRedis } from "./helpers/redis.ts";

const ban: Ban = { kind: "nick", target: "mallory", until: 0, reason: "spam", by: "op" };

function waitReady(conn: RedisConn): Promise<void> {
  if (conn.ready) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = conn.onReady(() => {
      stop();
      resolve();
    });
  });
}

Deno.test("redis tables: a save writes through and publishes a record event; another node loads it; deletes too", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url);
  const published: ClusterEvent[] = [];
  const a = await RedisTables.open(conn, { publish: (e) => published.push(e) });
  try {
    a.moderation.bans.save(ban);
    a.accounts.save({ key: "alice", nick: "Alice", created: 5, kind: "password", hash: "x" });
    assert.deepEqual(published[0], {
      t: "record",
      change: { table: "bans", op: "save", record: ban },
    });
    assert.equal(published[1].t === "record" && published[1].change.table, "accounts");
    assert.deepEqual(a.moderation.bans.load(), [ban], "the cache answers at once");
    await a.settled();
    assert.notEqual(await conn.command(["HGET", BANS_KEY, "nick:mallory"]), null);
    assert.notEqual(await conn.command(["HGET", "sc:accounts", "alice"]), null);
    const b = await RedisTables.open(conn, { publish: () => {} });
    assert.deepEqual(b.moderation.bans.load(), [ban]);
    assert.deepEqual(b.accounts.load().map((r) => r.nick), ["Alice"]);
    a.moderation.bans.delete("nick", "mallory");
    assert.deepEqual(published[2], {
      t: "record",
      change: { table: "bans", op: "delete", kind: "nick", target: "mallory" },
    });
    await a.settled();
    assert.equal(await conn.command(["HGET", BANS_KEY, "nick:mallory"]), null);
    // b hears of it from the log: its cache follows.
    b.applyRemote({ table: "bans", op: "delete", kind: "nick", target: "mallory" });
    assert.deepEqual(b.moderation.bans.load(), []);
    b.close();
  } finally {
    a.close();
    conn.close();
  }
});

Deno.test("redis tables: a save made while Redis is away is written once it is back; after Redis came back empty, reseed writes the cache back", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url);
  const errors: string[] = [];
  const a = await RedisTables.open(conn, { publish: () => {}, onError: (m) => errors.push(m) });
  try {
    a.moderation.mutes.save({ kind: "nick", target: "bob", until: 0, by: "op" });
    await a.settled();
    await redis.kill9();
    a.moderation.bans.save(ban);
    await a.settled();
    await redis.restart({ keepData: false });
    await waitReady(conn);
    // The failed write is retried on reconnect (the mute was lost with Redis's data).
    await a.settled();
    assert.notEqual(await conn.command(["HGET", BANS_KEY, "nick:mallory"]), null);
    assert.ok(errors.some((m) => m.includes("nick:mallory")), errors.join("; "));
    assert.equal(await conn.command(["HGET", "sc:mutes", "nick:bob"]), null);
    // Another node saved a newer mute meanwhile: reseed does not overwrite it.
    const newer = JSON.stringify({ kind: "nick", target: "bob", until: 9, by: "other" });
    await conn.command(["HSET", "sc:mutes", "nick:bob", newer]);
    await conn.command(["DEL", BANS_KEY]);
    await a.reseed();
    assert.equal(await conn.command(["HGET", "sc:mutes", "nick:bob"]), newer);
    assert.deepEqual(
      JSON.parse(String(await conn.command(["HGET", BANS_KEY, "nick:mallory"]))),
      ban,
    );
  } finally {
    a.close();
    conn.close();
  }
});

Deno.test("redis history: the age sweep trims each room to its messages young enough, one node per interval", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url);
  let now = 1_000_000;
  const options = { retention: 100, maxAgeMs: 1000, upkeepIntervalMs: 0, now: () => now };
  const a = await RedisHistory.open(conn, { node: "a", ...options });
  const b = await RedisHistory.open(conn, { node: "b", ...options });
  try {
    const batch = [0, 1, 2, 3].map((i) => ({
      id: 0,
      room: "#r",
      from: "x",
      text: `t${i}`,
      ts: 1000 * i,
    }));
    await a.append(batch, { token: 1, breaks: batch.map(() => undefined) });
    a.delivered({ node: "a", token: 1, messages: batch });
    now = 3500; // t0..t2 are older than 1 s
    assert.equal(await b.upkeep(), 3);
    assert.equal(await a.upkeep(), 0, "another node swept this interval");
    const left = await a.recent("#r", 10);
    assert.deepEqual(left.messages.map((m) => m.text), ["t3"]);
    const resume = await a.after("#r", batch[0].id, 10);
    assert.equal(resume.missed, 1, "a resume over trimmed messages is told of a gap");
  } finally {
    a.close();
    b.close();
    conn.close();
  }
});
