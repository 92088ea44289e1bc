/**
 * Losing a node costs its users only a reconnect (issue 16), fast: a killed node's users who
 * reconnect to another node at once get their own nicks back within about
 * {@linkcode NODE_GONE_CONFIRM_MS}, not after the dead node's whole lease
 * ({@linkcode NODE_LEASE_MS}). The node holding the nick is checked (cluster/node_gone.ts): no
 * subscriber on its direct-message channel twice, and its lease not renewed between, and it is
 * declared lost at once, exactly once. A live node whose subscriber is away keeps renewing its
 * lease and is never declared lost this way.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AckFrame, ServerFrame } from "../protocol/frames.ts";
import { RedisConn } from "../cluster/redis_conn.ts";
import { RedisBus } from "../cluster/redis_bus.ts";
import { heldKey, LOG_KEY, nickLeaseKey, nodeKey, NODES_KEY } from "../cluster/keys.ts";
import { NODE_GONE_CONFIRM_MS, NODE_LEASE_MS } from "../config/cluster_limits.ts";
import { type RedisServer, startRedis } from "./helpers/redis.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { collect, helloAt, joinsOf, loginAt, say, withCluster } from "./helpers/cluster.ts";
import { MemoryCluster } from "../store/memory/cluster.ts";
import { PROTOCOL_VERSION } from "../protocol/frames.ts";
import { memoryHub, memoryLogin } from "./helpers/memory_cluster.ts";
import { Hub } from "../core/hub.ts";
import { BanList } from "../core/moderation.ts";
import { only, RecordingSink } from "./helpers/core.ts";

/**
 * How long after the kill the dead node's user may take to be welcomed on the other node: the
 * confirmation, a few round trips, and room for a loaded CI machine; far below the lease.
 */
const FAST_REJOIN_MS = NODE_GONE_CONFIRM_MS + 1_500;

/** The `node_lost` events in the cluster log, by lost node. */
async function nodeLostEntries(conn: RedisConn): Promise<string[]> {
  const log = await conn.command(["XRANGE", LOG_KEY, "-", "+"]) as [string, string[]][];
  const lost: string[] = [];
  for (const [, fields] of log) {
    const at = fields.indexOf("d");
    const event = JSON.parse(fields[at + 1]) as { t?: string; node?: string };
    if (event.t === "node_lost" && event.node !== undefined) lost.push(event.node);
  }
  return lost;
}

/** The `CLIENT LIST` id of the connection named `name`. */
async function clientId(conn: RedisConn, name: string): Promise<string> {
  const list = String(await conn.command(["CLIENT", "LIST"]));
  const line = list.split("\n").find((l) => l.includes(` name=${name} `));
  const id = line === undefined ? undefined : /^id=(\d+) /.exec(line)?.[1];
  if (id === undefined) throw new Error(`no connection named ${name}:\n${list}`);
  return id;
}

/** How many `PUBSUB NUMSUB` Redis ran since its stats were reset (scripts' calls included). */
async function numsubCalls(conn: RedisConn): Promise<number> {
  const stats = String(await conn.command(["INFO", "commandstats"]));
  const match = /^cmdstat_pubsub\|numsub:calls=(\d+),/m.exec(stats);
  return match === null ? 0 : Number(match[1]);
}

Deno.test("cluster fast failover: after kill -9 of node A its user logs in on B with the same nick and resume ids within seconds (not the lease), gets exactly what it missed, and B's room saw it leave (node_lost), announced once", async () => {
  await withCluster(
    { nodes: 2, node: { extra: ["--rate", "0"] } },
    async ({ redis, nodes: [a, b] }) => {
      const bob = await loginAt(b.port, "bob");
      const ann = await loginAt(a.port, "ann");
      const clients: { close(): void }[] = [bob, ann];
      const conn = await RedisConn.open(redis.url, { name: "test" });
      try {
        await joinsOf(bob, ["ann"]);
        const before: AckFrame[] = [];
        for (let i = 0; i < 3; i++) before.push(await say(bob, `before ${i}`, `p${i}`));
        const seenByAnn = await collect(ann, "#lobby", (seen) => seen.length === 3);
        assert.deepEqual(seenByAnn.map((m) => m.id), before.map((ack) => ack.id));
        const lastSeen = seenByAnn[2].id;

        const killed = performance.now();
        await a.kill9();
        // bob's frames from here on: ann must leave (node_lost) before she joins again.
        const order: string[] = [];
        const watch = (frame: ServerFrame) => {
          if (frame.type === "leave" && frame.nick === "ann") order.push(`leave ${frame.reason}`);
          if (frame.type === "join" && frame.nick === "ann") order.push("join");
        };
        const missed: AckFrame[] = [];
        for (let i = 0; i < 4; i++) missed.push(await say(bob, `missed ${i}`, `m${i}`, watch));

        // ann's client reconnects to B at once, with the same nick and where she was.
        const { client: annAgain, frame } = await helloAt(b.port, "ann", {
          resume: { "#lobby": lastSeen },
        });
        clients.push(annAgain);
        const took = performance.now() - killed;
        assert.equal(frame?.type, "welcome", `ann's hello on B: ${JSON.stringify(frame)}`);
        assert.ok(
          took < FAST_REJOIN_MS && took < NODE_LEASE_MS / 2,
          `welcomed ${Math.round(took)} ms after the kill`,
        );

        const after = await say(bob, "after the reconnect", "after", watch);
        const gaps: unknown[] = [];
        const resumed = await collect(
          annAgain,
          "#lobby",
          (seen) => seen.at(-1)?.text === "after the reconnect",
          undefined,
          (f) => void (f.type === "gap" && gaps.push(f)),
        );
        assert.deepEqual(gaps, [], "nothing lost, so no gap");
        assert.deepEqual(
          resumed.map((m) => [m.id, m.text, m.history]),
          [
            ...missed.map((ack, i) => [ack.id, `missed ${i}`, true]),
            [after.id, "after the reconnect", false],
          ],
          "exactly what ann missed, once each, then live",
        );
        await collect(bob, "#lobby", () => order.includes("join"), undefined, watch);
        assert.deepEqual(order, ["leave node_lost", "join"], "B's room: ann left, then came back");
        assert.deepEqual(await nodeLostEntries(conn), [a.id], "A announced lost exactly once");
        assert.equal(await conn.command(["SISMEMBER", NODES_KEY, a.id]), 0);
      } finally {
        for (const client of clients) client.close();
        conn.close();
      }
    },
  );
});

Deno.test("cluster fast failover: an IRC user of a killed node who reconnects to B at once keeps the nick (001, not 433 and a switch to another nick)", async () => {
  await withCluster({ nodes: 2, node: { irc: true } }, async ({ nodes: [a, b] }) => {
    const bob = await loginAt(b.port, "bob");
    const ivy = await RawIrcClient.login(a.server, "ivy");
    const clients: { close(): void }[] = [bob, ivy];
    try {
      await ivy.send("JOIN #lobby");
      await joinsOf(bob, ["ivy"]);
      const killed = performance.now();
      await a.kill9();
      const again = await RawIrcClient.open(b.server);
      clients.push(again);
      await again.send("NICK ivy", "USER ivy 0 * :ivy tester");
      const answer = await again.expect(/ (?:001|433) /, FAST_REJOIN_MS + 1_000);
      assert.match(answer, / 001 ivy /, `ivy's registration on B: ${answer}`);
      const took = performance.now() - killed;
      assert.ok(took < FAST_REJOIN_MS, `welcomed ${Math.round(took)} ms after the kill`);
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("cluster fast failover: a live node whose direct-message subscriber is cut off (and cannot reconnect) keeps renewing its lease, so a login of its user's nick elsewhere is refused and nobody declares it lost", async () => {
  await withCluster(
    { nodes: 2, node: { extra: ["--rate", "0"] } },
    async ({ redis, nodes: [a, b] }) => {
      const bob = await loginAt(b.port, "bob");
      const ann = await loginAt(a.port, "ann");
      const clients: { close(): void }[] = [bob, ann];
      const conn = await RedisConn.open(redis.url, { name: "test" });
      const maxclients = (await conn.command(["CONFIG", "GET", "maxclients"]) as string[])[1];
      try {
        await joinsOf(bob, ["ann"]);
        // A's subscriber is killed, and Redis takes no new connection (this one stays): A's
        // channel has no subscriber for as long as the test wants, while A itself runs.
        const info = String(await conn.command(["INFO", "clients"]));
        const connected = Number(/^connected_clients:(\d+)/m.exec(info)?.[1]);
        await conn.command(["CONFIG", "SET", "maxclients", String(connected - 1)]);
        await conn.command(["CLIENT", "KILL", "ID", await clientId(conn, `sockchat:${a.id}:dm`)]);
        const numsub = await conn.command(["PUBSUB", "NUMSUB", `sc:dm:${a.id}`]) as [
          string,
          number,
        ];
        assert.equal(numsub[1], 0, "A's channel has no subscriber");

        const started = performance.now();
        const { client: twin, frame } = await helloAt(b.port, "ann");
        clients.push(twin);
        const took = performance.now() - started;
        assert.equal(frame?.type, "error", `a hello for ann on B: ${JSON.stringify(frame)}`);
        assert.equal(frame?.type === "error" && frame.code, "nick_taken");
        // The check did run (its channel looked dead at first): it waited for the confirmation.
        assert.ok(took >= NODE_GONE_CONFIRM_MS - 100, `answered after ${Math.round(took)} ms`);
        assert.equal(await conn.command(["SISMEMBER", NODES_KEY, a.id]), 1, "A is a member still");
        assert.deepEqual(await nodeLostEntries(conn), [], "nobody announced A lost");

        // ann, on A, is still here for B's room: her words reach bob, and she never left.
        await conn.command(["CONFIG", "SET", "maxclients", maxclients]);
        const left: ServerFrame[] = [];
        await ann.send({ type: "msg", room: "#lobby", text: "still here", ref: "s" });
        await collect(
          bob,
          "#lobby",
          (seen) => seen.at(-1)?.text === "still here",
          undefined,
          (f) => {
            if (f.type === "leave") left.push(f);
          },
        );
        assert.deepEqual(left, [], "ann never left B's room");
      } finally {
        await conn.command(["CONFIG", "SET", "maxclients", maxclients]).catch(() => {});
        for (const client of clients) client.close();
        conn.close();
      }
    },
  );
});

/** A bus on its own connection, with the default lease (no node here expires by itself). */
async function openBus(redis: RedisServer, node: string, onLost: (nodes: string[]) => void) {
  const conn = await RedisConn.open(redis.url, { name: node });
  const bus = await RedisBus.open(conn, { node, onLost });
  return {
    bus,
    conn,
    async close() {
      await bus.close();
      conn.close();
    },
  };
}

/** Makes node `x` as Redis sees a node: its lease (run `token`), membership, and nicks. */
async function fakeNode(conn: RedisConn, x: string, token: string, nicks: string[]) {
  await conn.command(["SET", nodeKey(x), token, "PX", String(NODE_LEASE_MS)]);
  await conn.command(["SADD", NODES_KEY, x]);
  for (const nick of nicks) {
    await conn.command(["SET", nickLeaseKey(nick), x, "PX", String(NODE_LEASE_MS)]);
    await conn.command(["SADD", heldKey(x), nickLeaseKey(nick)]);
  }
}

Deno.test("redis bus fast failover: a node with no subscriber whose lease is renewed is alive (claim refused, not declared lost); once it stops renewing, 20 concurrent claims of its nicks make one check, all succeed, and it is announced lost once", async () => {
  await using redis = await startRedis();
  const declared: string[] = [];
  const b = await openBus(redis, "b", (nodes) => declared.push(...nodes));
  const raw = await RedisConn.open(redis.url, { name: "x" });
  const nicks = Array.from({ length: 20 }, (_, i) => `n${i}`);
  let renewing: ReturnType<typeof setInterval> | undefined;
  try {
    await fakeNode(raw, "x", "run-1", nicks);
    // x beats as a live node whose subscriber is away does (its lease's expiry moves).
    renewing = setInterval(() => {
      raw.command(["SET", nodeKey("x"), "run-1", "PX", String(NODE_LEASE_MS)]).catch(() => {});
    }, 200);
    const started = performance.now();
    const told: string[] = [];
    assert.equal(
      await b.bus.claimNick("n0", (node) => told.push(node)),
      false,
      "x is alive: its nick stays x's",
    );
    assert.deepEqual(told, []);
    assert.ok(performance.now() - started >= NODE_GONE_CONFIRM_MS - 50, "it was checked");
    assert.equal(await raw.command(["SISMEMBER", NODES_KEY, "x"]), 1);
    assert.deepEqual(await nodeLostEntries(raw), []);
    clearInterval(renewing);
    renewing = undefined;
    // A renewal still on its way lands before anything after this (one connection, in order).
    await raw.command(["PING"]);

    // x dies (no more renewals). A reconnect storm of its users: one check for all.
    await raw.command(["CONFIG", "RESETSTAT"]);
    const freed: string[] = [];
    const claims = await Promise.all(
      nicks.map((nick) => b.bus.claimNick(nick, (node) => freed.push(node))),
    );
    assert.deepEqual(claims, nicks.map(() => true), "every nick of the dead node is free");
    assert.deepEqual(freed, nicks.map(() => "x"), "each claim says it found x dead");
    assert.equal(await numsubCalls(raw), 2, "one check: one look, one confirmation");
    assert.deepEqual(await nodeLostEntries(raw), ["x"], "announced lost exactly once");
    assert.deepEqual(declared, ["x"]);
    assert.equal(await raw.command(["EXISTS", nodeKey("x")]), 0, "its lease is gone");
  } finally {
    if (renewing !== undefined) clearInterval(renewing);
    raw.close();
    await b.close();
  }
});

Deno.test("redis bus fast failover: a node restarted under the same id during the check (a new run's lease) is not declared lost", async () => {
  await using redis = await startRedis();
  const declared: string[] = [];
  const b = await openBus(redis, "b", (nodes) => declared.push(...nodes));
  const raw = await RedisConn.open(redis.url, { name: "x" });
  try {
    await fakeNode(raw, "x", "run-1", ["ann"]);
    await raw.command(["CONFIG", "RESETSTAT"]);
    const claim = b.bus.claimNick("ann");
    // Once the first look is done (no subscriber), a new run of x takes the lease: its token
    // differs, as if it started within the confirmation and had not subscribed yet.
    while (await numsubCalls(raw) < 1) {
      // each look at the stats is a round trip: the claim's look runs meanwhile
    }
    await raw.command(["SET", nodeKey("x"), "run-2", "PX", String(NODE_LEASE_MS)]);
    assert.equal(await claim, false);
    assert.deepEqual(declared, []);
    assert.deepEqual(await nodeLostEntries(raw), []);
  } finally {
    raw.close();
    await b.close();
  }
});

Deno.test("cluster fast failover: a login on B of a nick its live holder on A just gave up (a rename B's log has not brought yet) is refused nick_taken, and B keeps the renamed user (no node_lost)", async () => {
  const cluster = new MemoryCluster();
  const nodeA = cluster.node("a");
  const nodeB = cluster.node("b");
  const hubA = memoryHub(nodeA, "a");
  const hubB = memoryHub(nodeB, "b");
  try {
    const x = await memoryLogin(hubA, "xavier", 1);
    const observer = await memoryLogin(hubB, "obs", 2);
    await cluster.settle();
    observer.sink.take();
    // B's log reader lags (a burst, a reconnect): A's `nick` event waits for it.
    nodeB.hub = undefined;
    assert.equal(await hubA.rename(x.user, "yves", "n"), true);
    await cluster.settle();
    const result = await hubB.login(new RecordingSink(), {
      version: PROTOCOL_VERSION,
      nick: "xavier",
      address: "192.0.2.3",
    });
    assert.equal(result.ok ? "ok" : result.error.code, "nick_taken");
    nodeB.attach(hubB);
    await cluster.settle();
    const yves = hubB.user("yves");
    assert.ok(yves !== undefined && yves.node === "a", "B still mirrors the renamed user");
    assert.deepEqual([...yves.rooms].map((room) => room.name), ["#lobby"]);
    assert.deepEqual(only(observer.sink.take(), "leave"), [], "nobody left as node_lost");
  } finally {
    await cluster.settle();
    hubA.shutdown();
    hubB.shutdown();
    await cluster.settle();
  }
});

Deno.test("cluster fast failover: a nick claimed before the hub's queue is given back when the flush ahead of its login fails (the login never runs), so another node can take it", async () => {
  const cluster = new MemoryCluster();
  const nodeA = cluster.node("a");
  const nodeB = cluster.node("b");
  // A's commits report their time to a callback that fails: the relay's flush then rejects.
  const hubA = new Hub({
    maxUsers: 100,
    maxFrame: 65536,
    serverName: "sockchat-a",
    store: nodeA.store,
    replayBudgetBytes: 1 << 18,
    bans: new BanList(nodeA.store.moderation),
    cluster: nodeA.bus,
    onCommit: () => {
      throw new Error("metrics broke");
    },
  });
  nodeA.attach(hubA);
  const hubB = memoryHub(nodeB, "b");
  try {
    const alice = await memoryLogin(hubA, "alice", 1);
    await cluster.settle();
    // A's first append waits, so the hub's queue is busy while zed's login is queued.
    const append = nodeA.store.append.bind(nodeA.store);
    const held = Promise.withResolvers<void>();
    let appends = 0;
    nodeA.store.append = (...args) =>
      ++appends === 1 ? held.promise.then(() => append(...args)) : append(...args);
    hubA.say(alice.user, "#lobby", "first");
    await new Promise((resolve) => setTimeout(resolve, 0));
    const login = Promise.resolve(hubA.login(new RecordingSink(), {
      version: PROTOCOL_VERSION,
      nick: "zed",
      address: "192.0.2.2",
    }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Said after zed's login was queued: the flush in front of the login commits it.
    hubA.say(alice.user, "#lobby", "second");
    held.resolve();
    await assert.rejects(login, /metrics broke/);
    await cluster.settle();
    const onB = await hubB.login(new RecordingSink(), {
      version: PROTOCOL_VERSION,
      nick: "zed",
      address: "192.0.2.3",
    });
    assert.equal(onB.ok ? "ok" : onB.error.code, "ok", "A gave zed back");
  } finally {
    await cluster.settle();
    hubA.shutdown();
    hubB.shutdown();
    await cluster.settle();
  }
});

Deno.test("redis bus fast failover: a node that is closing (writing what it queued before it leaves) declares no other node lost", async () => {
  await using redis = await startRedis();
  const declared: string[] = [];
  const b = await openBus(redis, "b", (nodes) => declared.push(...nodes));
  const raw = await RedisConn.open(redis.url, { name: "x" });
  try {
    // x holds ann, has no subscriber and its lease is gone: a check would declare it at once.
    await fakeNode(raw, "x", "run-1", ["ann"]);
    await raw.command(["DEL", nodeKey("x")]);
    // A queue to write keeps close() in its flush window while the claim runs.
    for (let i = 0; i < 5_000; i++) {
      b.bus.publish({ t: "topic", room: "#x", topic: `t${i}`, by: "bob", ts: i });
    }
    const closed = b.bus.close();
    assert.equal(await b.bus.claimNick("ann"), false, "a closing node checks nobody");
    await closed;
    assert.deepEqual(declared, []);
    assert.deepEqual(await nodeLostEntries(raw), ["b"], "only b itself left");
  } finally {
    raw.close();
    await b.close();
  }
});
