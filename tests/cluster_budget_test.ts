/**
 * `--max-db-bytes` in cluster mode (store/redis/budget.ts): the room streams' byte count is
 * exact whatever trims them, past the high-water mark the oldest messages of any room go first,
 * an append past the budget is refused with a sentence naming it before anything is written,
 * the log keeps to its share; and on a real cluster one flooding client no longer fills Redis
 * (review-sec16: OOM refused every node's messages and logins).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CommittedBatch } from "../core/cluster.ts";
import type { StoredMessage } from "../core/ports.ts";
import { RedisConn } from "../cluster/redis_conn.ts";
import { RedisHistory } from "../store/redis/history.ts";
import { roomBudget } from "../store/redis/budget.ts";
import { StoreError } from "../store/store_error.ts";
import { HISTORY_ENTRY_OVERHEAD_BYTES, LOG_BUDGET_DIVISOR } from "../config/cluster_limits.ts";
import { type RedisServer, startRedis } from "./helpers/redis.ts";
import { helloAt, loginAt, redisCli } from "./helpers/cluster.ts";
import { withCluster } from "./helpers/cluster.ts";

const MiB = 1024 * 1024;

function msg(room: string, text: string, ts = 1000): StoredMessage {
  return { id: 0, room, from: "alice", text, ts };
}

/** What the room streams hold, recomputed entry by entry: each stored JSON plus the overhead. */
async function heldByWalk(redis: RedisServer): Promise<{ bytes: number; ids: number[] }> {
  const rooms = await redisCli(redis.port, "SMEMBERS", "sc:rooms") as string[];
  let bytes = 0;
  const ids: number[] = [];
  for (const room of rooms) {
    const entries = await redisCli(redis.port, "XRANGE", `sc:room:${room}`, "-", "+") as [
      string,
      string[],
    ][];
    for (const [id, fields] of entries) {
      bytes += new TextEncoder().encode(fields[fields.indexOf("m") + 1]).length +
        HISTORY_ENTRY_OVERHEAD_BYTES;
      ids.push(Number(id.split("-")[0]));
    }
  }
  return { bytes, ids: ids.sort((x, y) => x - y) };
}

/** Redis's `used_memory`, in bytes. */
async function usedMemory(port: number): Promise<number> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), "INFO", "memory"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return Number(/used_memory:(\d+)/.exec(new TextDecoder().decode(out.stdout))?.[1]);
}

async function counted(redis: RedisServer): Promise<number> {
  return Number(await redisCli(redis.port, "GET", "sc:bytes") ?? 0);
}

Deno.test("cluster budget: the rooms' byte count is exact; past the high-water mark the oldest messages of any room go first; a resume over them is told of a gap; the log keeps to its share", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url);
  const maxBytes = MiB;
  const history = await RedisHistory.open(conn, { node: "a", retention: 0, maxBytes });
  try {
    const rooms = ["#a", "#b", "#c", "#d", "#e"];
    const refused: string[] = [];
    const said: number[] = [];
    for (let i = 0; i < 2500; i++) {
      const m = msg(rooms[i % rooms.length], `${i} ${"é".repeat(300)}${"x".repeat(400)}`);
      try {
        await history.append([m], { token: i, breaks: [undefined] });
        history.delivered({ node: "a", token: i, messages: [m] } as CommittedBatch);
        said.push(m.id);
      } catch (error) {
        assert.ok(error instanceof StoreError, String(error));
        refused.push(error.message);
      }
      if (i % 500 === 499) {
        const total = await counted(redis);
        assert.ok(total <= roomBudget(maxBytes), `${total} within the rooms' budget`);
      }
    }
    // Wait for the trim an append started, then check the count against the streams.
    for (let i = 0; i < 100 && await counted(redis) > roomBudget(maxBytes) * 0.9; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const walk = await heldByWalk(redis);
    assert.equal(await counted(redis), walk.bytes, "the kept count is the streams' bytes exactly");
    assert.ok(walk.bytes <= roomBudget(maxBytes) * 0.9, `${walk.bytes} trimmed down`);
    assert.ok(walk.bytes >= roomBudget(maxBytes) * 0.5, `${walk.bytes}: not emptied`);
    // Oldest first across rooms: what is left is exactly the newest messages said.
    assert.deepEqual(walk.ids, said.slice(said.length - walk.ids.length));
    assert.ok(refused.length < 50, `few refusals while trimming keeps up: ${refused.length}`);
    // A resume from the first message is told that messages are gone.
    const slice = await history.after("#a", said[0], 10);
    assert.ok(slice.missed > 0, "a gap is reported");
    // The log holds at most its share (plus the entry that crossed it).
    const log = await redisCli(redis.port, "XRANGE", "sc:log", "-", "+") as [string, string[]][];
    const logBytes = log.reduce((sum, [, f]) => sum + f[f.indexOf("d") + 1].length, 0);
    assert.ok(logBytes <= maxBytes / LOG_BUDGET_DIVISOR + 4096, `log ${logBytes} within share`);
  } finally {
    history.close();
    conn.close();
  }
});

Deno.test("cluster budget: an append the budget cannot take is refused before anything is written, with a sentence naming --max-db-bytes; the age sweep keeps the count exact", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url);
  let now = Date.now();
  const history = await RedisHistory.open(conn, {
    node: "a",
    retention: 0,
    maxBytes: MiB,
    maxAgeMs: 60_000,
    upkeepIntervalMs: 0,
    now: () => now,
  });
  try {
    await history.append([msg("#a", "small", now)]);
    const before = await counted(redis);
    assert.ok(before > 0);
    const big = msg("#a", "x".repeat(roomBudget(MiB)));
    await assert.rejects(
      () => history.append([big]),
      (error: Error) =>
        error instanceof StoreError && /--max-db-bytes budget of 1 MiB/.test(error.message),
    );
    assert.equal(await counted(redis), before, "nothing was written");
    assert.equal(await redisCli(redis.port, "XLEN", "sc:room:#a"), 1);
    // The age sweep trims the stream; the count follows it.
    await history.append([msg("#b", "other", now)]);
    now += 120_000;
    assert.equal(await history.upkeep(), 2);
    assert.equal(await counted(redis), 0);
    assert.equal(await redisCli(redis.port, "ZCARD", "sc:heads"), 0);
  } finally {
    history.close();
    conn.close();
  }
});

Deno.test("cluster budget: one client flooding 60 KB messages cannot fill Redis (maxmemory 40mb, noeviction): --max-db-bytes trims, the other node's user still talks and a newcomer still logs in", async () => {
  await withCluster({
    nodes: 2,
    redis: { args: ["--maxmemory", "40mb", "--maxmemory-policy", "noeviction"] },
    node: { extra: ["--rate", "0", "--rate-bytes", "100000000", "--max-db-bytes", "8M"] },
  }, async ({ redis, nodes: [a, b] }) => {
    const mallory = await loginAt(a.port, "mallory");
    const bob = await loginAt(b.port, "bob");
    const big = "x".repeat(60_000);
    const rooms = 10;
    for (let r = 0; r < rooms; r++) {
      await mallory.send({ type: "cmd", line: `/join #flood${r}`, room: "#lobby" });
      await mallory.expect("joined");
    }
    let acked = 0;
    const refusals: string[] = [];
    for (let i = 0; i < 600; i++) {
      await mallory.send({ type: "msg", room: `#flood${i % rooms}`, text: big });
      for (;;) {
        const f = await mallory.next("mallory's answer");
        assert.ok(f !== null, "mallory stays connected");
        if (f.type === "ack") {
          acked++;
          break;
        }
        if (f.type === "error") {
          refusals.push(f.message);
          break;
        }
      }
    }
    // Over three times the budget went through; nothing was refused for Redis's own memory.
    assert.ok(acked > 400, `${acked} acked`);
    for (const why of refusals) assert.match(why, /--max-db-bytes/);
    const used = await usedMemory(redis.port);
    assert.ok(used < 30 * MiB, `Redis uses ${used} bytes`);
    // Bob on the other node, and a newcomer, are not refused.
    for (let i = 0; i < 10; i++) {
      await bob.send({ type: "msg", room: "#lobby", text: `bob ${i}` });
      await bob.expect("ack");
    }
    const { client, frame } = await helloAt(a.port, "newcomer");
    client.close();
    assert.equal(frame?.type, "welcome", JSON.stringify(frame));
    mallory.close();
    bob.close();
  });
});
