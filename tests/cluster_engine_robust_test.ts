/**
 * The cluster engine when Redis misbehaves (review findings 4, 5, 7, 9, 12, 14, 17), against a
 * real redis-server and real nodes: Redis restored from an older snapshot (nothing re-delivered),
 * a frozen Redis (authors and logins answered within the command timeout, the node recovers), a
 * second process under a node id in use (refused at start; a running node that finds its lease
 * taken stops writing), a nick freed only once its `bye` is in the log, a shutdown bounded while
 * Redis is frozen, and the grace after an outage counted from the reconnect.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ServerFrame } from "../protocol/frames.ts";
import { RedisConn } from "../cluster/redis_conn.ts";
import { RedisBus, type RedisBusOptions } from "../cluster/redis_bus.ts";
import { RedisHistory } from "../store/redis/history.ts";
import { LOG_KEY, nickLeaseKey, nodeKey } from "../cluster/keys.ts";
import { StoreError } from "../store/store_error.ts";
import { joinsOf, loginAt, redisCli, withCluster } from "./helpers/cluster.ts";
import { JsonClient } from "./helpers/wire.ts";
import { type RedisServer, startRedis } from "./helpers/redis.ts";
import { CLUSTER_CLOSE_MS, REDIS_COMMAND_TIMEOUT_MS } from "../config/cluster_limits.ts";

/** The pid of whoever listens on `port` (a node or Redis). */
async function pidOf(port: number): Promise<number> {
  const out = await new Deno.Command("ss", { args: ["-ltnpH", `sport = :${port}`] }).output();
  const found = /pid=(\d+)/.exec(new TextDecoder().decode(out.stdout));
  if (!found) throw new Error(`nobody listens on ${port}`);
  return Number(found[1]);
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Frames `client` receives until `done` says stop (or `ms` pass: then it throws). */
async function until(
  client: JsonClient,
  done: (frame: ServerFrame) => boolean,
  ms: number,
): Promise<ServerFrame[]> {
  const frames: ServerFrame[] = [];
  const end = Date.now() + ms;
  while (true) {
    const left = end - Date.now();
    if (left <= 0) throw new Error(`gave up after ${ms} ms: ${JSON.stringify(frames)}`);
    const frame = await client.next("frame", left);
    if (frame === null) throw new Error(`closed: ${JSON.stringify(frames)}`);
    frames.push(frame);
    if (done(frame)) return frames;
  }
}

Deno.test("cluster engine: Redis restored from an older RDB snapshot: nothing already delivered comes again, and the next message comes once, above every id seen", async () => {
  await withCluster({ nodes: 2, redis: { appendonly: false } }, async (cluster) => {
    const [a, b] = cluster.nodes;
    const bob = await loginAt(b.port, "bob");
    const alice = await loginAt(a.port, "alice");
    try {
      await joinsOf(bob, ["alice"]);
      let highest = 0;
      const say = async (text: string) => {
        await alice.send({ type: "msg", room: "#lobby", text, ref: text });
        const got = await until(bob, (f) => f.type === "msg" && f.text === text, 5000);
        const m = got[got.length - 1];
        if (m.type === "msg") highest = Math.max(highest, m.id);
      };
      for (const text of ["m1", "m2", "m3"]) await say(text);
      await redisCli(cluster.redis.port, "SAVE");
      for (const text of ["m4", "m5"]) await say(text);
      await cluster.redis.kill9();
      await cluster.redis.restart();
      // Until the node is back, a message may be refused: say it again until it is acked.
      let acked = false;
      for (let tries = 0; !acked && tries < 20; tries++) {
        await alice.send({ type: "msg", room: "#lobby", text: "m6", ref: `m6-${tries}` });
        const answer = await until(
          alice,
          (f) => (f.type === "ack" || f.type === "error") && f.ref === `m6-${tries}`,
          10_000,
        );
        acked = answer[answer.length - 1].type === "ack";
        if (!acked) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.ok(acked, "m6 is acked once Redis is back");
      const heard = await until(bob, (f) => f.type === "msg" && f.text === "m6", 10_000);
      const msgs = heard.filter((f) => f.type === "msg");
      assert.deepEqual(
        msgs.map((f) => f.type === "msg" ? f.text : ""),
        ["m6"],
        "bob hears m6 alone: m1..m3 are not delivered again",
      );
      const m6 = msgs[0];
      assert.ok(m6.type === "msg" && m6.id > highest, `m6's id goes on above ${highest}`);
    } finally {
      alice.close();
      bob.close();
    }
  });
});

Deno.test("cluster engine: a frozen Redis (SIGSTOP): the author gets store_failed and a login its answer within the command timeout, and the node works again once Redis resumes", async () => {
  await withCluster({ nodes: 1 }, async (cluster) => {
    const [a] = cluster.nodes;
    const alice = await loginAt(a.port, "alice");
    const pid = await pidOf(cluster.redis.port);
    let bob: JsonClient | null = null;
    Deno.kill(pid, "SIGSTOP");
    try {
      const started = Date.now();
      await alice.send({ type: "msg", room: "#lobby", text: "hi", ref: "r1" });
      bob = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port: a.port }));
      await bob.send({ type: "hello", v: 1, nick: "bob" });
      const bound = REDIS_COMMAND_TIMEOUT_MS + 3000;
      const answer = await until(alice, (f) => f.type === "ack" || f.type === "error", bound);
      const last = answer[answer.length - 1];
      assert.ok(last.type === "error" && last.code === "store_failed", JSON.stringify(last));
      const login = await bob.next("welcome or error", bound);
      assert.ok(login !== null && login.type === "error", JSON.stringify(login));
      assert.ok(Date.now() - started < bound, "answered within the command timeout");
    } finally {
      Deno.kill(pid, "SIGCONT");
      bob?.close();
    }
    // Back: the node made its connections again and commits.
    let acked = false;
    for (let tries = 0; !acked && tries < 20; tries++) {
      await alice.send({ type: "msg", room: "#lobby", text: "back", ref: `b${tries}` });
      const answer = await until(
        alice,
        (f) => (f.type === "ack" || f.type === "error") && f.ref === `b${tries}`,
        10_000,
      );
      acked = answer[answer.length - 1].type === "ack";
      if (!acked) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(acked, "a message is acked once Redis resumes");
    alice.close();
  });
});

Deno.test("cluster engine: SIGTERM while Redis is frozen: the node still exits, within the shutdown bound", async () => {
  await withCluster({ nodes: 1 }, async (cluster) => {
    const [a] = cluster.nodes;
    const users: JsonClient[] = [];
    for (let i = 0; i < 5; i++) users.push(await loginAt(a.port, `u${i}`));
    const redisPid = await pidOf(cluster.redis.port);
    const nodePid = await pidOf(a.port);
    Deno.kill(redisPid, "SIGSTOP");
    try {
      const started = Date.now();
      Deno.kill(nodePid, "SIGTERM");
      // The peers' flush (SHUTDOWN_GRACE_MS), then leaving the cluster (CLUSTER_CLOSE_MS).
      const bound = CLUSTER_CLOSE_MS * 2 + 5000;
      while (alive(nodePid) && Date.now() - started < bound) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(alive(nodePid), false, `the node exits within ${bound} ms`);
    } finally {
      Deno.kill(redisPid, "SIGCONT");
      for (const user of users) user.close();
    }
  });
});

Deno.test("cluster engine: a second process started with a node id in use is refused with a clear error; the first keeps serving", async () => {
  await withCluster({ nodes: 1 }, async (cluster) => {
    const [a] = cluster.nodes;
    await assert.rejects(
      cluster.addNode(undefined, "n1"),
      /exited before listening[\s\S]*node id n1 is in use by a running node/,
    );
    const alice = await loginAt(a.port, "alice");
    await alice.send({ type: "msg", room: "#lobby", text: "still here", ref: "r1" });
    const got = await until(alice, (f) => f.type === "ack", 5000);
    assert.equal(got[got.length - 1].type, "ack");
    alice.close();
  });
});

async function openBus(redis: RedisServer, node: string, extra: Partial<RedisBusOptions> = {}) {
  const conn = await RedisConn.open(redis.url, { name: node });
  const bus = await RedisBus.open(conn, {
    node,
    leaseMs: 1000,
    refreshMs: 200,
    checkMs: 60_000,
    ...extra,
  });
  return {
    bus,
    conn,
    async close(leave = true) {
      await bus.close({ leave });
      conn.close();
    },
  };
}

Deno.test("cluster engine: a running node whose lease holds another run's token stops serving cluster writes and says so once", async () => {
  await using redis = await startRedis();
  const said: string[] = [];
  const a = await openBus(redis, "a", { onUsurped: (message) => said.push(message) });
  const other = await RedisConn.open(redis.url, { name: "other" });
  try {
    await a.bus.claimNick("alice");
    await other.command(["SET", nodeKey("a"), "another-run", "PX", 60_000]);
    await a.bus.heartbeat();
    assert.match(a.bus.usurped ?? "", /node id a is in use by another running node/);
    assert.equal(said.length, 1);
    await assert.rejects(a.bus.claimNick("bob"), StoreError);
    a.bus.releaseNick("alice");
    a.bus.publish({ t: "bye", nick: "alice", reason: "quit", message: "" });
    await a.bus.heartbeat();
    assert.equal(said.length, 1, "said once");
    assert.equal(await other.command(["GET", nodeKey("a")]), "another-run", "lease left alone");
    assert.equal(await other.command(["GET", nickLeaseKey("alice")]), "a", "nick not released");
    assert.equal(await other.command(["XLEN", LOG_KEY]), 0, "nothing published");
  } finally {
    await a.close();
    other.close();
  }
});

Deno.test("cluster engine: a nick is free in Redis only once the bye published before its release is in the log", async () => {
  await using redis = await startRedis();
  const a = await openBus(redis, "a");
  const b = await RedisConn.open(redis.url, { name: "b" });
  try {
    assert.equal(await a.bus.claimNick("x"), true);
    // Many events ahead of the bye: the pump writes them in several round trips.
    for (let i = 0; i < 2000; i++) a.bus.publish({ t: "join", nick: `u${i}`, room: "#r" });
    a.bus.publish({ t: "bye", nick: "x", reason: "quit", message: "" });
    a.bus.releaseNick("x");
    // The log as it stands the first moment the nick is free, in one step.
    const check = `if redis.call('EXISTS', KEYS[1]) == 1 then return false end
      local out = {}
      for _, e in ipairs(redis.call('XRANGE', KEYS[2], '-', '+')) do out[#out + 1] = e[2][6] end
      return out`;
    let log: unknown = null;
    while (log === null) {
      log = await b.command(["EVAL", check, 2, nickLeaseKey("x"), LOG_KEY]);
      if (log === null) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const events = (log as string[]).map((d) => JSON.parse(d) as { t: string });
    assert.ok(
      events.some((e) => e.t === "bye"),
      `the bye is in the log (${events.length} entries)`,
    );
  } finally {
    await a.close();
    b.close();
  }
});

Deno.test("cluster engine: after an outage, the grace before declaring nodes lost counts from the reconnect and covers a slow one", async () => {
  await using redis = await startRedis({ appendonly: true });
  const a = await openBus(redis, "a");
  const b = await openBus(redis, "b");
  try {
    // b stops renewing (its process is stuck reconnecting); its lease runs out during the outage.
    await b.close(false);
    await redis.kill9();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await redis.restart({ keepData: true });
    await new Promise<void>((resolve) => {
      if (a.conn.ready) return resolve();
      const stop = a.conn.onReady(() => {
        stop();
        resolve();
      });
    });
    // Past refresh + 1 s (the old grace) but within a slow reconnect (a connect attempt that
    // hangs, then the backoff): b must not be declared lost yet.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.deepEqual(await a.bus.findLost(), []);
  } finally {
    await a.close();
  }
});

Deno.test("cluster engine: an append whose reply does not come in time is reported as ambiguous (it may have been stored)", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url, { name: "a", commandTimeoutMs: 500 });
  const other = await RedisConn.open(redis.url, { name: "pauser" });
  const history = await RedisHistory.open(conn, { node: "a", retention: 10 });
  try {
    await other.command(["CLIENT", "PAUSE", "1500", "ALL"]);
    const started = Date.now();
    await assert.rejects(
      history.append([{ id: 0, room: "#r", from: "alice", text: "hi", ts: Date.now() }], {
        token: 1,
        breaks: [undefined],
      }),
      (error: unknown) =>
        error instanceof StoreError &&
        (error as StoreError & { kind?: string }).kind === "ambiguous" &&
        /did not answer within 500 ms/.test(error.message),
    );
    assert.ok(Date.now() - started < 1400, "rejected at the timeout, not when Redis answers");
  } finally {
    history.close();
    conn.close();
    other.close();
  }
});
