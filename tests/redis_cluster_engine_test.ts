/**
 * The cluster engine's bus and log reader (cluster/) against a real redis-server: the log in
 * id order with concurrent committers, resumed across a Redis restart without loss or
 * duplicates, nick leases exclusive across nodes, a lost node announced exactly once (and its
 * nicks freed), a rejoin after Redis came back empty, direct messages across nodes, and the
 * cluster-wide login counter.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ClusterEnvelope, CommittedBatch } from "../core/cluster.ts";
import type { StoredMessage } from "../core/ports.ts";
import { RedisConn } from "../cluster/redis_conn.ts";
import { RedisHistory } from "../store/redis/history.ts";
import { RedisBus, type RedisBusOptions } from "../cluster/redis_bus.ts";
import { type LogGap, LogReader } from "../cluster/log_reader.ts";
import { LOG_KEY } from "../cluster/keys.ts";
import { type RedisServer, startRedis } from "./helpers/redis.ts";

function msg(room: string, text: string): StoredMessage {
  return { id: 0, room, from: "alice", text, ts: Date.now() };
}

/** Collects what a log reader hands over; `until(n)` resolves once n batches came. */
class Collector {
  batches: CommittedBatch[] = [];
  events: ClusterEnvelope[] = [];
  gaps: LogGap[] = [];
  #waiters: { done: () => boolean; resolve: () => void }[] = [];

  onBatch = (batch: CommittedBatch) => {
    this.batches.push(batch);
    this.#check();
  };
  onEvent = (envelope: ClusterEnvelope) => {
    this.events.push(envelope);
    this.#check();
  };
  onGap = (gap: LogGap) => {
    this.gaps.push(gap);
    this.#check();
  };

  until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ done, resolve }));
  }

  get ids(): number[] {
    return this.batches.flatMap((b) => b.messages.map((m) => m.id));
  }

  #check() {
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.done()) return true;
      w.resolve();
      return false;
    });
  }
}

async function openConn(redis: RedisServer, name: string) {
  return await RedisConn.open(redis.url, { name });
}

function waitReady(conn: RedisConn): Promise<void> {
  if (conn.ready) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = conn.onReady(() => {
      stop();
      resolve();
    });
  });
}

Deno.test("redis log: concurrent commits from two nodes reach a reader once each, in id order, with their tokens and join offsets", async () => {
  await using redis = await startRedis();
  const ca = await openConn(redis, "a");
  const cb = await openConn(redis, "b");
  const a = await RedisHistory.open(ca, { node: "a", retention: 100 });
  const b = await RedisHistory.open(cb, { node: "b", retention: 100 });
  const seen = new Collector();
  const reader = await LogReader.open(cb, { node: "b", from: b.logStart, ...seen });
  try {
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      writes.push(
        a.append([msg("#x", `a${i}`), msg("#y", `a${i}`)], { token: i, breaks: [[1], undefined] }),
      );
      writes.push(b.append([msg("#x", `b${i}`)], { token: 100 + i, breaks: [undefined] }));
    }
    await Promise.all(writes);
    await seen.until(() => seen.batches.length === 80);
    const ids = seen.ids;
    assert.equal(ids.length, 120);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], "log order is id order");
    const first = seen.batches.find((x) => x.node === "a" && x.token === 0)!;
    assert.deepEqual(first.messages.map((m) => [m.room, m.text, m.breaks]), [["#x", "a0", [1]], [
      "#y",
      "a0",
      undefined,
    ]]);
    assert.equal(
      seen.batches.filter((x) => x.node === "b").length,
      40,
      "a node's own batches come back too",
    );
    assert.equal(seen.gaps.length, 0);
  } finally {
    await reader.close();
    a.close();
    b.close();
    ca.close();
    cb.close();
  }
});

Deno.test("redis log: a reader resumes after Redis is killed and restarted with its AOF, with nothing lost and nothing twice", async () => {
  await using redis = await startRedis({ appendonly: true });
  const ca = await openConn(redis, "a");
  const cr = await openConn(redis, "r");
  const a = await RedisHistory.open(ca, { node: "a", retention: 100 });
  const r = await RedisHistory.open(cr, { node: "r", retention: 100 });
  const seen = new Collector();
  const reader = await LogReader.open(cr, { node: "r", from: r.logStart, ...seen });
  try {
    for (let i = 0; i < 5; i++) {
      await a.append([msg("#x", `before${i}`)], { token: i, breaks: [undefined] });
    }
    // Some are written, maybe not yet read, when Redis dies.
    await redis.kill9();
    await assert.rejects(a.append([msg("#x", "while down")], { token: 99, breaks: [undefined] }));
    await redis.restart({ keepData: true });
    await waitReady(ca);
    for (let i = 0; i < 5; i++) {
      await a.append([msg("#x", `after${i}`)], { token: 10 + i, breaks: [undefined] });
    }
    await seen.until(() => seen.batches.length >= 10);
    assert.deepEqual(
      seen.batches.flatMap((x) => x.messages.map((m) => m.text)),
      [0, 1, 2, 3, 4].map((i) => `before${i}`).concat([0, 1, 2, 3, 4].map((i) => `after${i}`)),
    );
    const ids = seen.ids;
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1]);
    assert.equal(seen.gaps.length, 0);
  } finally {
    await reader.close();
    a.close();
    r.close();
    ca.close();
    cr.close();
  }
});

Deno.test("redis log: when Redis comes back empty the reader reports the log restarted, then reads the new log", async () => {
  await using redis = await startRedis();
  const ca = await openConn(redis, "a");
  const cr = await openConn(redis, "r");
  const a = await RedisHistory.open(ca, { node: "a", retention: 100 });
  const seen = new Collector();
  const reader = await LogReader.open(cr, { node: "r", from: a.logStart, ...seen });
  try {
    await a.append([msg("#x", "one")], { token: 1, breaks: [undefined] });
    await seen.until(() => seen.batches.length === 1);
    await redis.restart({ keepData: false });
    await waitReady(ca);
    await a.append([msg("#x", "two")], { token: 2, breaks: [undefined] });
    await seen.until(() => seen.batches.length === 2);
    assert.deepEqual(seen.gaps, [{ reason: "restarted" }]);
    assert.ok(seen.ids[1] > seen.ids[0], "ids go on above the old epoch's");
  } finally {
    await reader.close();
    a.close();
    ca.close();
    cr.close();
  }
});

/** A bus with a short lease for tests (lost within about 300 ms). */
async function bus(redis: RedisServer, node: string, extra: Partial<RedisBusOptions> = {}) {
  const conn = await openConn(redis, node);
  const b = await RedisBus.open(conn, {
    node,
    leaseMs: 300,
    refreshMs: 100,
    checkMs: 50,
    ...extra,
  });
  return {
    bus: b,
    conn,
    async close(leave = true) {
      await b.close({ leave });
      conn.close();
    },
  };
}

Deno.test("redis bus: a nick is held by one node at a time; released, another may take it; published events reach other nodes in order", async () => {
  await using redis = await startRedis();
  const a = await bus(redis, "a");
  const b = await bus(redis, "b");
  const cr = await openConn(redis, "r");
  const seen = new Collector();
  const r = await RedisHistory.open(cr, { node: "r", retention: 10 });
  const reader = await LogReader.open(cr, { node: "a", from: r.logStart, ...seen });
  try {
    const [x, y] = await Promise.all([a.bus.claimNick("alice"), b.bus.claimNick("alice")]);
    assert.equal(x !== y, true, "exactly one node got it");
    const holder = x ? a : b;
    const other = x ? b : a;
    assert.equal(await holder.bus.claimNick("alice"), true, "the holder keeps it");
    assert.equal(await other.bus.claimNick("alice"), false);
    holder.bus.releaseNick("alice");
    await holder.bus.flushed();
    // The release is one script on the same connection: a later claim sees it.
    await holder.conn.command(["PING"]);
    assert.equal(await other.bus.claimNick("alice"), true);
    for (let i = 0; i < 10; i++) b.bus.publish({ t: "join", nick: `n${i}`, room: "#x" });
    await b.bus.flushed();
    await seen.until(() => seen.events.length === 10);
    assert.deepEqual(
      seen.events.map((e) => [e.node, e.event.t === "join" && e.event.nick]),
      [...Array(10).keys()].map((i) => ["b", `n${i}`]),
    );
  } finally {
    await reader.close();
    r.close();
    cr.close();
    await a.close();
    await b.close();
  }
});

Deno.test("redis bus: a node that stops renewing its lease is announced lost exactly once, and its nicks are free at once", async () => {
  await using redis = await startRedis();
  const a = await bus(redis, "a");
  const lostBy: string[] = [];
  let lost!: () => void;
  const announced = new Promise<void>((resolve) => lost = resolve);
  const onLost = (nodes: string[]) => {
    lostBy.push(...nodes);
    lost();
  };
  const b = await bus(redis, "b", { onLost });
  const c = await bus(redis, "c", { onLost });
  try {
    assert.equal(await a.bus.claimNick("alice"), true);
    assert.equal(await b.bus.claimNick("alice"), false);
    await a.close(false); // stops as kill -9 would: no leave, no more renewals
    await announced;
    // More checks find nothing more to announce.
    await Promise.all([b.bus.findLost(), c.bus.findLost(), b.bus.findLost()]);
    assert.deepEqual(lostBy, ["a"]);
    const log = await b.conn.command(["XRANGE", LOG_KEY, "-", "+"]) as [string, string[]][];
    const entries = log.map(([, f]) =>
      Object.fromEntries(f.map((v, i) => [v, f[i + 1]]).filter((_, i) => i % 2 === 0))
    );
    assert.deepEqual(entries.filter((e) => e.k === "e").map((e) => [e.n, JSON.parse(e.d)]), [["a", {
      t: "node_lost",
      node: "a",
    }]]);
    assert.equal(await b.bus.claimNick("alice"), true, "the lost node's nick is free");
  } finally {
    await b.close();
    await c.close();
  }
});

Deno.test("redis bus: a node restarted under the same id while its old lease lives announces the old run lost (no ghost users)", async () => {
  await using redis = await startRedis();
  const old = await bus(redis, "a", { leaseMs: 60_000 });
  await old.bus.claimNick("alice");
  await old.close(false);
  const b = await bus(redis, "b");
  const again = await bus(redis, "a", { leaseMs: 60_000 });
  try {
    const log = await b.conn.command(["XRANGE", LOG_KEY, "-", "+"]) as [string, string[]][];
    assert.deepEqual(log.map(([, f]) => [f[1], JSON.parse(f[5])]), [["a", {
      t: "node_lost",
      node: "a",
    }]]);
    assert.equal(await b.bus.claimNick("alice"), true, "the old run's nick is free");
  } finally {
    await again.close();
    await b.close();
  }
});

Deno.test("redis bus: after Redis comes back empty, the node renews at once: it re-takes its nicks and asks its owner to announce its users again", async () => {
  await using redis = await startRedis();
  const rejoins: string[][] = [];
  let rejoined!: () => void;
  const once = new Promise<void>((resolve) => rejoined = resolve);
  const a = await bus(redis, "a", {
    refreshMs: 60_000,
    onRejoin: (taken) => {
      rejoins.push(taken);
      rejoined();
    },
  });
  const b = await bus(redis, "b", { refreshMs: 60_000 });
  try {
    assert.equal(await a.bus.claimNick("alice"), true);
    assert.equal(await a.bus.claimNick("bob"), true);
    const epoch = a.bus.epoch.current;
    await redis.restart({ keepData: false });
    await once;
    assert.deepEqual(rejoins, [[]]);
    assert.equal(await b.bus.claimNick("alice"), false, "a holds alice again");
    assert.equal(await b.bus.claimNick("bob"), false, "and bob");
    assert.notEqual(a.bus.epoch.current, epoch, "a new epoch began");
    // Declared lost while stalled, and bob taken by b meanwhile: the next beat says so.
    await a.conn.command(["DEL", "sc:node:a"]);
    await a.conn.command(["SET", "sc:nick:bob", "b"]);
    await a.bus.heartbeat();
    assert.deepEqual(rejoins, [[], ["bob"]]);
    assert.deepEqual([...a.bus.held], ["alice"]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("redis bus: a direct message reaches the node it is sent to; to a node with nobody listening it is refused", async () => {
  await using redis = await startRedis();
  let got!: (value: [string, unknown]) => void;
  const received = new Promise<[string, unknown]>((resolve) => got = resolve);
  const a = await bus(redis, "a");
  const b = await bus(redis, "b", { onDirect: (key, frame) => got([key, frame]) });
  try {
    const frame = { type: "dm" as const, id: 7, from: "alice", to: "bob", text: "hi", ts: 1 };
    assert.equal(await a.bus.direct("b", "bob", frame as never), true);
    assert.deepEqual(await received, ["bob", frame]);
    assert.equal(await a.bus.direct("nobody", "bob", frame as never), false);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("redis log: a reader whose next entries were trimmed from the log is told how many it missed before the entries after them", async () => {
  await using redis = await startRedis();
  const conn = await openConn(redis, "a");
  const a = await RedisHistory.open(conn, { node: "a", retention: 100 });
  await a.append([msg("#x", "0")], { token: 0, breaks: [undefined] });
  const after0 = await RedisHistory.open(conn, { node: "r", retention: 100 });
  for (let i = 1; i < 5; i++) {
    await a.append([msg("#x", `${i}`)], { token: i, breaks: [undefined] });
  }
  // The log keeps only the last two: entries 2 and 3 (of 1..5) are gone unread.
  await conn.command(["XTRIM", LOG_KEY, "MAXLEN", 2]);
  const seen = new Collector();
  const reader = await LogReader.open(conn, { node: "r", from: after0.logStart, ...seen });
  try {
    await seen.until(() => seen.batches.length === 2);
    assert.deepEqual(seen.gaps, [{ reason: "trimmed", missed: 2 }]);
    assert.deepEqual(seen.batches.map((b) => b.messages[0].text), ["3", "4"]);
  } finally {
    await reader.close();
    a.close();
    after0.close();
    conn.close();
  }
});

Deno.test("redis bus: after a Redis outage longer than the lease, nodes renew at once and declare nobody lost (users do not leave and come back)", async () => {
  await using redis = await startRedis({ appendonly: true });
  const a = await bus(redis, "a", { leaseMs: 200, refreshMs: 60_000, checkMs: 60_000 });
  const b = await bus(redis, "b", { leaseMs: 200, refreshMs: 60_000, checkMs: 60_000 });
  try {
    await redis.kill9();
    // The leases run out while Redis is away (they are kept in the AOF with their expiry).
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.restart({ keepData: true });
    await Promise.all([waitReady(a.conn), waitReady(b.conn)]);
    // As if a had not renewed yet (its connection back a moment after b's).
    await b.conn.command(["DEL", "sc:node:a"]);
    assert.deepEqual(await b.bus.findLost(), [], "no node is declared lost right after the outage");
    assert.deepEqual(await a.bus.findLost(), []);
    const log = await b.conn.command(["XRANGE", LOG_KEY, "-", "+"]) as [string, string[]][];
    assert.equal(log.length, 0, "no node_lost in the log");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("redis log: a node's events and messages keep its order in the log (a join before the words said right after it), and an append does not hang on events while Redis is down", async () => {
  await using redis = await startRedis();
  const a = await bus(redis, "a");
  const history = await RedisHistory.open(a.conn, {
    node: "a",
    retention: 100,
    before: () => a.bus.written(),
  });
  const cr = await openConn(redis, "r");
  const order: string[] = [];
  const seen = new Collector();
  const reader = await LogReader.open(cr, {
    node: "r",
    from: history.logStart,
    onBatch: (batch) => {
      order.push(`msg ${batch.messages[0].text}`);
      seen.onBatch(batch);
    },
    onEvent: (envelope) => {
      if (envelope.event.t === "join") order.push(`join ${envelope.event.nick}`);
      seen.onEvent(envelope);
    },
  });
  try {
    // The first event is on its way when the second is queued behind it; the message is said
    // at once after both.
    a.bus.publish({ t: "join", nick: "ann", room: "#x" });
    a.bus.publish({ t: "join", nick: "bob", room: "#x" });
    await history.append([msg("#x", "hi from bob")], { token: 1, breaks: [undefined] });
    await seen.until(() => seen.batches.length === 1 && seen.events.length === 2);
    assert.deepEqual(order, ["join ann", "join bob", "msg hi from bob"]);

    await redis.kill9();
    a.bus.publish({ t: "join", nick: "cat", room: "#x" });
    await assert.rejects(history.append([msg("#x", "lost")], { token: 2, breaks: [undefined] }));
    // Back before closing: node-redis's own wait between reconnects is not cancelled by a
    // close during an outage (it ends within REDIS_RECONNECT_MAX_MS), which the sanitizer sees.
    await redis.restart();
    await Promise.all([waitReady(a.conn), waitReady(cr)]);
  } finally {
    await reader.close();
    history.close();
    await a.close();
    cr.close();
  }
});
