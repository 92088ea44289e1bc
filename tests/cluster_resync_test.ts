/**
 * A node's presence repaired by a snapshot (`sync_begin`, hellos, `sync_end`), never by hoping
 * no event was lost: receivers drop the mirrors a snapshot does not name (findings 6, 8 and 19
 * of the cluster review). In one process over the in-memory cluster (a node with 2000 users
 * answering `node_up` while its users come and go, a quit lost in an outage, a re-join whose
 * claims cannot reach the cluster, restarted and incomplete snapshots), over a real Redis at
 * the bus (a 12 000-user snapshot that takes no queue space, an overflowing queue during an
 * outage, a snapshot interrupted by an outage) and end to end with real nodes (the review's
 * repro: a queue overflow during an outage left a ghost holding its nick).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Hub, type User } from "../core/hub.ts";
import type { ClusterEnvelope, ClusterEvent, UserCard } from "../core/cluster.ts";
import { runCommand } from "../core/commands/chat.ts";
import { LOBBY, PROTOCOL_VERSION } from "../protocol/frames.ts";
import { MemoryCluster, type MemoryNode } from "../store/memory/cluster.ts";
import { RedisConn } from "../cluster/redis_conn.ts";
import { RedisBus, SYNC_CHUNK } from "../cluster/redis_bus.ts";
import { LogReader } from "../cluster/log_reader.ts";
import { PUBLISH_QUEUE_MAX } from "../config/cluster_limits.ts";
import { only, Peer, RecordingSink } from "./helpers/core.ts";
import { memoryHub } from "./helpers/memory_cluster.ts";
import { startRedis } from "./helpers/redis.ts";
import { helloAt, joinsOf, loginAt, TcpCut, withCluster } from "./helpers/cluster.ts";
import { command, within } from "./helpers/wire.ts";

/** Hubs linked by one in-memory cluster. */
class Chat {
  readonly cluster = new MemoryCluster();
  readonly hubs = new Map<string, Hub>();
  readonly nodes = new Map<string, MemoryNode>();
  #hosts = 0;

  constructor(ids: string[], readonly maxUsers = 100) {
    for (const id of ids) this.add(id);
  }

  add(id: string): Hub {
    const node = this.cluster.node(id);
    const hub = memoryHub(node, id, { maxUsers: this.maxUsers });
    this.nodes.set(id, node);
    this.hubs.set(id, hub);
    return hub;
  }

  hub(id: string): Hub {
    const hub = this.hubs.get(id);
    if (hub === undefined) throw new Error(`no node ${id}`);
    return hub;
  }

  /** Logs `nick` in on node `id` (without waiting for the other nodes). */
  async enter(id: string, nick: string): Promise<Peer> {
    const sink = new RecordingSink();
    const address = `192.0.2.${++this.#hosts % 250}`;
    const result = await this.hub(id).login(sink, { version: PROTOCOL_VERSION, nick, address });
    if (!result.ok) throw new Error(`login of ${nick} refused: ${result.error.message}`);
    return new Peer(this.hub(id), result.user, sink);
  }

  async login(id: string, nick: string): Promise<Peer> {
    const peer = await this.enter(id, nick);
    await this.cluster.settle();
    peer.take();
    return peer;
  }

  /** The events node `id` published from log position `from` on. */
  eventsOf(id: string, from = 0): ClusterEvent[] {
    return this.cluster.log.slice(from).flatMap((e) =>
      e.kind === "e" && e.node === id ? [e.event] : []
    );
  }

  async close(): Promise<void> {
    await this.cluster.settle();
    for (const hub of this.hubs.values()) hub.shutdown();
    await this.cluster.settle();
  }
}

/** The nicks of `hub`'s mirrors of `node`'s users, sorted. */
function mirrorsOf(hub: Hub, node: string): string[] {
  return [...hub.users].filter((u: User) => u.node === node).map((u) => u.nick).sort();
}

/** The nicks of `hub`'s own users, sorted. */
function localsOf(hub: Hub): string[] {
  return [...hub.users].filter((u: User) => u.node === undefined).map((u) => u.nick).sort();
}

function card(nick: string, rooms = [LOBBY]): UserCard {
  return {
    nick,
    address: "192.0.2.1",
    ident: nick,
    verified: false,
    operator: false,
    away: null,
    since: 0,
    lastActive: 0,
    rooms,
  };
}

Deno.test("cluster resync: a node with 2000 users answers node_up with one paced snapshot, and the new node mirrors exactly its users while some come and go", async () => {
  const chat = new Chat(["a"], 3000);
  const peers: Peer[] = [];
  for (let i = 0; i < 2000; i++) peers.push(await chat.enter("a", `u${i}`));
  await chat.cluster.settle();
  const from = chat.cluster.log.length;
  chat.add("c");
  // Wait for A's snapshot to start, then act while it is being written.
  for (let turn = 0; !chat.eventsOf("a", from).some((e) => e.t === "sync_begin"); turn++) {
    assert.ok(turn < 1000, "A never began a snapshot");
    await Promise.resolve();
  }
  peers[0].quit(); // already in the snapshot
  peers[1999].quit(); // not reached yet
  await runCommand(chat.hub("a"), peers[1000].user, "/nick renamed1000", LOBBY);
  const late = await chat.enter("a", "late");
  await chat.cluster.settle();
  assert.deepEqual(mirrorsOf(chat.hub("c"), "a"), localsOf(chat.hub("a")));
  assert.equal(mirrorsOf(chat.hub("c"), "a").length, 1999);
  assert.equal(chat.hub("c").user("late")?.node, "a");
  assert.equal(chat.hub("c").user("renamed1000")?.node, "a");
  assert.equal(chat.hub("c").user("u1000"), undefined);
  // One snapshot, its hellos counted in its end, never one event per user outside it.
  const sent = chat.eventsOf("a", from);
  const begins = sent.filter((e) => e.t === "sync_begin");
  const ends = sent.flatMap((e) => e.t === "sync_end" ? [e] : []);
  assert.equal(begins.length, 1);
  assert.equal(ends.length, 1);
  const hellos = sent.filter((e) => e.t === "hello" && e.sync === ends[0].token).length;
  assert.equal(ends[0].count, hellos);
  assert.ok(hellos >= 1998, `${hellos} hellos in the snapshot`);
  late.take();
  await chat.close();
});

Deno.test("cluster resync: a quit lost while the node was cut off leaves no ghost once it re-joins (the snapshot names who is left)", async () => {
  const chat = new Chat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const bob = await chat.login("a", "bob");
  const watcher = await chat.login("b", "watcher");
  chat.cluster.fail("Redis is unreachable");
  bob.quit(); // its bye is lost
  alice.run("/away brb");
  chat.cluster.fail(null);
  await chat.hub("a").rejoinCluster();
  await chat.cluster.settle();
  assert.deepEqual(mirrorsOf(chat.hub("b"), "a"), ["alice"]);
  assert.equal(chat.hub("b").user("alice")?.away, "brb");
  assert.deepEqual(
    only(watcher.take(), "leave").map((f) => `${f.room} ${f.nick} ${f.reason}`),
    [`${LOBBY} bob quit`],
  );
  await chat.close();
});

Deno.test("cluster resync: a re-join whose claims cannot reach the cluster (it dropped again) announces its users once the cluster is back", async () => {
  const chat = new Chat(["a", "b"]);
  await chat.login("a", "alice");
  await chat.login("a", "carol");
  // B declared A lost; A learns it, and the cluster drops again before A's claims get through.
  await chat.hub("b").applyRemote({ node: "a", event: { t: "node_lost", node: "a" } });
  assert.deepEqual(mirrorsOf(chat.hub("b"), "a"), []);
  chat.cluster.fail("Redis is unreachable");
  await chat.hub("a").rejoinCluster();
  await chat.cluster.settle();
  assert.deepEqual(mirrorsOf(chat.hub("b"), "a"), []);
  chat.cluster.fail(null);
  await chat.cluster.settle();
  assert.deepEqual(mirrorsOf(chat.hub("b"), "a"), ["alice", "carol"]);
  await chat.close();
});

Deno.test("cluster resync: a new sync_begin restarts the snapshot; an old or incomplete sync_end removes nobody", async () => {
  const chat = new Chat(["b"]);
  const watcher = await chat.login("b", "watcher");
  const b = chat.hub("b");
  const apply = (event: ClusterEvent) =>
    b.applyRemote({ node: "a", event } satisfies ClusterEnvelope);
  for (const nick of ["x", "y", "z"]) await apply({ t: "hello", user: card(nick) });
  await apply({ t: "sync_begin", token: "t1" });
  await apply({ t: "hello", user: card("x"), sync: "t1" });
  await apply({ t: "sync_begin", token: "t2" });
  await apply({ t: "hello", user: card("y"), sync: "t2" });
  await apply({ t: "sync_end", token: "t1", count: 1 });
  assert.deepEqual(mirrorsOf(b, "a"), ["x", "y", "z"], "an old snapshot's end changes nothing");
  // t2 claims two hellos, one was missed (a log gap): removing would drop a live user.
  await apply({ t: "sync_end", token: "t2", count: 2 });
  assert.deepEqual(mirrorsOf(b, "a"), ["x", "y", "z"]);
  await apply({ t: "sync_begin", token: "t3" });
  await apply({ t: "hello", user: card("y"), sync: "t3" });
  await apply({ t: "bye", nick: "z", reason: "quit", message: "" });
  await apply({ t: "sync_end", token: "t3", count: 1 });
  assert.deepEqual(mirrorsOf(b, "a"), ["y"]);
  const leaves = only(watcher.take(), "leave").map((f) => `${f.nick} ${f.reason}`);
  assert.deepEqual(leaves, ["z quit", "x quit"]);
  await chat.close();
});

/** Reads the log from its start; `until` waits for a condition on what came. */
async function logWatch(conn: RedisConn, node: string) {
  const events: ClusterEnvelope[] = [];
  const errors: string[] = [];
  let wake = () => {};
  const reader = await LogReader.open(conn, {
    node,
    from: { id: "0-0", seq: 0 },
    onBatch: () => {},
    onEvent: (envelope) => {
      events.push(envelope);
      wake();
    },
    onError: (error) => errors.push((error as Error).message),
  });
  return {
    events,
    async until(done: () => boolean): Promise<void> {
      await within(
        (async () => {
          while (!done()) await new Promise<void>((resolve) => wake = resolve);
        })(),
        `the log (${events.length} events, errors: ${errors.join("; ")})`,
        20_000,
      );
    },
    async close() {
      await reader.close();
    },
  };
}

Deno.test("redis resync: a 12 000-user snapshot (more than the queue's cap) is written whole, in chunks, taking no queue space", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url, { name: "a" });
  const watch = await RedisConn.open(redis.url, { name: "w" });
  const errors: string[] = [];
  const bus = await RedisBus.open(conn, { node: "a", onError: (e) => errors.push(e) });
  const log = await logWatch(watch, "w");
  try {
    const users = PUBLISH_QUEUE_MAX + 2000;
    let read = 0;
    let maxQueued = 0;
    bus.setRoster(function* () {
      for (let i = 0; i < users; i++) {
        read++;
        maxQueued = Math.max(maxQueued, bus.queued);
        yield card(`u${i}`);
      }
    });
    bus.sync();
    // Read lazily: a chunk per round trip, not the whole roster at once.
    assert.ok(read <= SYNC_CHUNK + 1, `${read} cards read before the first write`);
    bus.publish({ t: "join", nick: "u1", room: "#x" }); // waits its turn, never dropped
    await bus.flushed();
    await log.until(() => log.events.some((e) => e.event.t === "sync_end"));
    const kinds = log.events.map((e) => e.event.t);
    assert.equal(kinds[0], "sync_begin");
    assert.equal(kinds.filter((t) => t === "hello").length, users);
    assert.equal(kinds.filter((t) => t === "join").length, 1);
    const end = log.events.at(-1)?.event;
    assert.equal(end?.t === "sync_end" && end.count, users);
    assert.equal(maxQueued, 0);
    assert.deepEqual(errors, []);
  } finally {
    await log.close();
    await bus.close();
    conn.close();
    watch.close();
  }
});

Deno.test("redis resync: a queue overflowing during an outage folds its presence events into one snapshot written once Redis is back (no bye lost)", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url, { name: "a" });
  const errors: string[] = [];
  const bus = await RedisBus.open(conn, {
    node: "a",
    refreshMs: 60_000,
    onError: (e) => errors.push(e),
  });
  let roster = ["bob", "carol", "dave"];
  bus.setRoster(() => roster.map((nick) => card(nick)));
  try {
    await redis.shutdown();
    // The first write is on its way (it is tried again as it is); bob's bye waits behind it.
    bus.publish({ t: "topic", room: "#x", topic: "kept", by: "carol", ts: 1 });
    bus.publish({ t: "bye", nick: "bob", reason: "quit", message: "" });
    roster = ["carol", "dave"];
    for (let i = 0; i < PUBLISH_QUEUE_MAX + 10; i++) {
      bus.publish({ t: "user", user: card("carol") });
    }
    // Past the cap the presence events went: what waits is bounded.
    assert.ok(bus.queued <= 1, `${bus.queued} events queued`);
    assert.equal(bus.syncing, true);
    assert.match(errors.join("\n"), /snapshot of this node's users will be sent instead/);
    await redis.restart();
    const watch = await RedisConn.open(redis.url, { name: "w" });
    const log = await logWatch(watch, "w");
    try {
      await bus.heartbeat();
      await bus.flushed();
      await log.until(() => log.events.some((e) => e.event.t === "sync_end"));
      const kinds = log.events.filter((e) => e.node === "a").map((e) => e.event.t);
      assert.deepEqual(kinds, ["topic", "sync_begin", "hello", "hello", "sync_end"]);
    } finally {
      await log.close();
      watch.close();
    }
  } finally {
    await bus.close();
    conn.close();
  }
});

Deno.test("redis resync: a presence event that finds the queue full of other events (no presence to fold) is owed a snapshot, not dropped", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url, { name: "a" });
  const errors: string[] = [];
  const bus = await RedisBus.open(conn, {
    node: "a",
    refreshMs: 60_000,
    onError: (e) => errors.push(e),
  });
  bus.setRoster(() => [card("carol")]);
  try {
    await redis.shutdown();
    // An op script's flood of topics during the outage fills the queue.
    for (let i = 0; i <= PUBLISH_QUEUE_MAX; i++) {
      bus.publish({ t: "topic", room: "#x", topic: `t${i}`, by: "carol", ts: i });
    }
    assert.equal(bus.syncing, false);
    bus.publish({ t: "bye", nick: "bob", reason: "quit", message: "" });
    assert.equal(bus.syncing, true, "bob's bye is owed a snapshot");
    assert.match(errors.join("\n"), /snapshot of this node's users will be sent instead/);
    await redis.restart();
    const watch = await RedisConn.open(redis.url, { name: "w" });
    const log = await logWatch(watch, "w");
    try {
      await bus.heartbeat();
      await bus.flushed();
      await log.until(() => log.events.some((e) => e.event.t === "sync_end"));
      const hellos = log.events.filter((e) => e.node === "a" && e.event.t === "hello");
      assert.equal(hellos.length, 1, "the snapshot holds carol only");
    } finally {
      await log.close();
      watch.close();
    }
  } finally {
    await bus.close();
    conn.close();
  }
});

Deno.test("redis resync: a snapshot interrupted by an outage is written whole once Redis is back, and a new one restarts it", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url, { name: "a" });
  const bus = await RedisBus.open(conn, { node: "a", refreshMs: 60_000 });
  bus.setRoster(function* () {
    for (let i = 0; i < 3 * SYNC_CHUNK; i++) yield card(`u${i}`);
  });
  try {
    await redis.shutdown();
    bus.sync(); // its first chunk is on its way, and is tried again as it is
    bus.sync(); // restarts it: a whole snapshot follows
    await redis.restart();
    await bus.heartbeat();
    await bus.flushed();
    const watch = await RedisConn.open(redis.url, { name: "w" });
    const log = await logWatch(watch, "w");
    try {
      await log.until(() => log.events.some((e) => e.event.t === "sync_end"));
      const events = log.events.map((e) => e.event);
      const marks = events.filter((e) => e.t !== "hello");
      assert.deepEqual(marks.map((e) => e.t), ["sync_begin", "sync_begin", "sync_end"]);
      const [first, second, end] = marks;
      assert.ok(first.t === "sync_begin" && second.t === "sync_begin" && end.t === "sync_end");
      assert.notEqual(first.token, second.token);
      assert.equal(end.token, second.token);
      assert.equal(end.count, 3 * SYNC_CHUNK);
      const after = events.slice(events.indexOf(second) + 1, -1);
      assert.equal(after.filter((e) => e.t === "hello" && e.sync === end.token).length, end.count);
    } finally {
      await log.close();
      watch.close();
    }
  } finally {
    await bus.close();
    conn.close();
  }
});

Deno.test("cluster resync (real nodes): a queue overflow during an outage leaves no ghost: the quit user leaves, their nick is free, the others are right", async () => {
  await withCluster({ nodes: 1, node: { extra: ["--rate", "0"] } }, async (cluster) => {
    const [a] = cluster.nodes;
    const link = new TcpCut(cluster.redis.port);
    try {
      const b = await cluster.addNode({ extra: ["--rate", "0"], redisUrl: link.url });
      const watcher = await loginAt(a.port, "watcher");
      const bob = await loginAt(b.port, "bob");
      const carol = await loginAt(b.port, "carol");
      await joinsOf(watcher, ["bob", "carol"]);
      link.cut();
      await bob.send({ type: "quit" });
      await bob.expectEof();
      bob.close();
      // More events than B's queue holds while Redis is away (ends on /back).
      for (let i = 0; i < PUBLISH_QUEUE_MAX + 300; i++) {
        await command(carol, i % 2 === 0 ? "/away brb" : "/back");
      }
      link.mend();
      // Bob's leave reaches the watcher (by the snapshot), then /who is right.
      while (true) {
        const frame = await watcher.next("bob's leave", 20_000);
        if (frame === null) throw new Error("watcher's connection ended");
        if (frame.type === "leave" && frame.nick === "bob") break;
      }
      const who = await command(watcher, "/who");
      assert.equal(who.type, "who");
      if (who.type === "who") assert.deepEqual([...who.members].sort(), ["carol", "watcher"]);
      const whois = await command(watcher, "/whois carol");
      assert.doesNotMatch(JSON.stringify(whois), /brb/);
      const { client, frame } = await helloAt(a.port, "bob");
      assert.equal(frame?.type, "welcome", JSON.stringify(frame));
      client.close();
      watcher.close();
      carol.close();
    } finally {
      await link.close();
    }
  });
});

Deno.test("cluster resync (real nodes): a node with 300 users answers a new node's node_up with a snapshot: the new node lists every one", async () => {
  await withCluster({ nodes: 1, node: { extra: ["--rate", "0"] } }, async (cluster) => {
    const [a] = cluster.nodes;
    const clients = [];
    try {
      for (let i = 0; i < 300; i++) clients.push(await loginAt(a.port, `u${i}`));
      const b = await cluster.addNode({ extra: ["--rate", "0"] });
      const late = await loginAt(b.port, "late");
      clients.push(late);
      // Logged in after B's node_up: the snapshot has come once /who lists everyone.
      let members: string[] = [];
      for (let round = 0; members.length < 301; round++) {
        assert.ok(round < 200, `B lists ${members.length} of 301`);
        const who = await command(late, "/who");
        members = who.type === "who" ? who.members : [];
        if (members.length < 301) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(new Set(members).size, 301);
    } finally {
      for (const client of clients) client.close();
    }
  });
});
