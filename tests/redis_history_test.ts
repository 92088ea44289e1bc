/**
 * The Redis history (store/redis/history.ts) against a real redis-server: shared ids from one
 * script per batch, reads bounded by the delivered watermark, the SQLite store's counts, gaps
 * after Redis came back empty, and no false ack while Redis is down.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CommittedBatch } from "../core/cluster.ts";
import type { StoredMessage } from "../core/ports.ts";
import { RedisConn } from "../cluster/redis_conn.ts";
import { RedisHistory } from "../store/redis/history.ts";
import { StoreError } from "../store/store_error.ts";
import { type RedisServer, startRedis } from "./helpers/redis.ts";

/** A message as the relay hands it over (id and ts are the store's to set). */
function msg(room: string, text: string, ts = 1000, from = "alice"): StoredMessage {
  return { id: 0, room, from, text, ts };
}

/** One node: a connection and a history on it. */
async function node(redis: RedisServer, id: string, retention = 100) {
  const conn = await RedisConn.open(redis.url, { name: id });
  const history = await RedisHistory.open(conn, { node: id, retention });
  return {
    conn,
    history,
    /** Appends and delivers at once (as the hub would once the log brings the batch back). */
    async say(...messages: StoredMessage[]) {
      await history.append(messages, { token: 1, breaks: messages.map(() => undefined) });
      history.delivered({ node: id, token: 1, messages } as CommittedBatch);
      return messages.map((m) => m.id);
    },
    close() {
      history.close();
      conn.close();
    },
  };
}

Deno.test("redis history: ids rise strictly across two nodes appending at once, ts never goes back, and every room stream holds its messages in id order", async () => {
  await using redis = await startRedis();
  const a = await node(redis, "a");
  const b = await node(redis, "b");
  try {
    const batches: StoredMessage[][] = [];
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      for (const [n, who] of [[a, "a"], [b, "b"]] as const) {
        const batch = [msg("#lobby", `${who}${i}`, 5000 - i), msg("#other", `${who}${i}x`, 10)];
        batches.push(batch);
        writes.push(n.history.append(batch, { token: i, breaks: [undefined, [3]] }));
      }
    }
    await Promise.all(writes);
    const ids = batches.flat().map((m) => m.id).sort((x, y) => x - y);
    assert.equal(new Set(ids).size, ids.length, "no id handed out twice");
    for (const batch of batches) {
      assert.equal(batch[1].id, batch[0].id + 1, "a batch's ids are consecutive");
    }
    const byId = batches.flat().sort((x, y) => x.id - y.id);
    for (let i = 1; i < byId.length; i++) {
      assert.ok(byId[i].ts >= byId[i - 1].ts, "ts never goes back as ids rise");
    }
    // Reads see what was delivered: tell a it delivered everything.
    a.history.delivered({ node: "a", token: 0, messages: [byId[byId.length - 1]] });
    const lobby = await a.history.recent("#lobby", 1000);
    assert.equal(lobby.messages.length, 100);
    assert.equal(lobby.missed, 0);
    assert.deepEqual(
      lobby.messages.map((m) => m.id),
      byId.filter((m) => m.room === "#lobby").map((m) => m.id),
    );
    assert.deepEqual(lobby.messages[0], { ...byId.find((m) => m.room === "#lobby")! });
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("redis history: reads never return a message above the delivered watermark", async () => {
  await using redis = await startRedis();
  const a = await node(redis, "a");
  const b = await node(redis, "b");
  try {
    const [one] = await a.say(msg("#r", "one"));
    // b has not delivered it yet: none of b's reads show it.
    assert.equal((await b.history.recent("#r", 10)).messages.length, 0);
    assert.equal((await b.history.after("#r", 0, 10)).messages.length, 0);
    assert.equal((await b.history.afterOldest("#r", 0, 10)).messages.length, 0);
    assert.equal((await b.history.before("#r", one + 10, 10)).messages.length, 0);
    assert.equal(await b.history.idAt("#r", 0), b.history.watermark + 1);
    b.history.delivered({
      node: "a",
      token: 1,
      messages: [{ id: one, room: "#r", from: "alice", text: "one", ts: 1000 }],
    });
    assert.deepEqual((await b.history.recent("#r", 10)).messages.map((m) => m.text), ["one"]);
    assert.equal(await b.history.idAt("#r", 0), one);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("redis history: counts and byte budgets as the SQLite store gives them (recent, after, before, afterOldest, idAt)", async () => {
  await using redis = await startRedis();
  const a = await node(redis, "a", 5);
  try {
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push(...await a.say(msg("#r", `m${i}`, 1000 + i)));
    // Retention 5 (exact trimming below 1000): m3..m7 remain.
    const recent = await a.history.recent("#r", 3);
    assert.deepEqual(recent.messages.map((m) => m.text), ["m5", "m6", "m7"]);
    assert.equal(recent.missed, 2);
    // A resume from before the trimmed ones: the 5 held plus a gap of at least 1.
    const after = await a.history.after("#r", ids[0], 10);
    assert.deepEqual(after.messages.map((m) => m.text), ["m3", "m4", "m5", "m6", "m7"]);
    assert.equal(after.missed, 1);
    // From the last trimmed one on: nothing missed.
    assert.equal((await a.history.after("#r", ids[2], 10)).missed, 0);
    const some = await a.history.after("#r", ids[4], 2);
    assert.deepEqual(some.messages.map((m) => m.text), ["m6", "m7"]);
    assert.equal(some.missed, 1);
    const before = await a.history.before("#r", ids[6], 2);
    assert.deepEqual(before.messages.map((m) => m.text), ["m4", "m5"]);
    assert.equal(before.missed, 1);
    assert.equal((await a.history.before("#r", ids[5], 2)).missed, 0);
    const oldest = await a.history.afterOldest("#r", ids[3], 2);
    assert.deepEqual(oldest.messages.map((m) => m.text), ["m4", "m5"]);
    assert.equal(oldest.missed, 1);
    assert.equal((await a.history.afterOldest("#r", ids[5], 2)).missed, 0);
    // A byte budget of two rows keeps one (the second crosses it and is left out).
    const row = 64 + 2 + 5 + 2;
    const cut = await a.history.recent("#r", 5, row * 2 - 1);
    assert.deepEqual(cut.messages.map((m) => m.text), ["m7"]);
    assert.equal(cut.missed, 4);
    assert.equal(cut.bytes, row * 2 + 5 * 16);
    assert.equal(await a.history.idAt("#r", 1005), ids[5]);
    assert.equal(await a.history.idAt("#r", 0), ids[3]);
    assert.equal(await a.history.idAt("#r", 9999), a.history.watermark + 1);
    await a.history.setTopic("#R", "hello");
    assert.equal(await a.history.topic("#r"), "hello");
    assert.equal(await a.history.topic("#none"), "");
  } finally {
    a.close();
  }
});

Deno.test("redis history: after Redis comes back empty, ids go on above the highest seen and a resume from before gets missed > 0", async () => {
  await using redis = await startRedis();
  const a = await node(redis, "a");
  try {
    const before = await a.say(msg("#r", "old1"), msg("#r", "old2"));
    const epoch = a.history.epoch.current;
    let changed = "";
    a.history.epoch.onChange((e) => changed = e);
    await redis.restart({ keepData: false });
    await waitReady(a.conn);
    const [fresh] = await a.say(msg("#r", "new"));
    assert.ok(fresh > before[1], `id ${fresh} continues above ${before[1]}`);
    assert.notEqual(a.history.epoch.current, epoch);
    assert.equal(changed, a.history.epoch.current);
    const resume = await a.history.after("#r", before[0], 50);
    assert.deepEqual(resume.messages.map((m) => m.text), ["new"]);
    assert.ok(resume.missed > 0, "a gap is reported");
    // A client that saw everything before the restart is told of no gap.
    assert.equal((await a.history.after("#r", before[1], 50)).missed, 0);
    // A room Redis has no record of any more: a resume from before the epoch is a gap too.
    assert.equal((await a.history.after("#gone", before[0], 50)).missed, 1);
    assert.equal((await a.history.after("#gone", 0, 50)).missed, 0);
  } finally {
    a.close();
  }
});

Deno.test("redis history: an append while Redis is down rejects with a readable StoreError (no false ack), and works again once it is back", async () => {
  await using redis = await startRedis({ appendonly: true });
  const a = await node(redis, "a");
  try {
    const [first] = await a.say(msg("#r", "one"));
    await redis.kill9();
    const batch = [msg("#r", "lost")];
    await assert.rejects(
      a.history.append(batch, { token: 2, breaks: [undefined] }),
      (error: unknown) =>
        error instanceof StoreError &&
        error.message === `Redis at 127.0.0.1:${redis.port} is unreachable`,
    );
    assert.equal(batch[0].id, 0, "no id was handed out");
    await redis.restart({ keepData: true });
    await waitReady(a.conn);
    const [next] = await a.say(msg("#r", "two"));
    assert.ok(next > first, `id ${next} above ${first}`);
    assert.deepEqual((await a.history.recent("#r", 10)).messages.map((m) => m.text), [
      "one",
      "two",
    ]);
  } finally {
    a.close();
  }
});

/** Resolves once `conn` is connected again. */
function waitReady(conn: RedisConn): Promise<void> {
  if (conn.ready) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = conn.onReady(() => {
      stop();
      resolve();
    });
  });
}
