/**
 * Room state across cluster nodes in one process (issue 16, review findings 1 and 2): a room a
 * node made without knowing it (`fresh`) never overrides the state the others have, two nodes
 * that made one room at once agree on its operator, and a node started after a room's modes
 * were set learns them before its users can walk past them. Hubs linked by the in-memory
 * cluster (store/memory/cluster.ts), then nodes over a real Redis (tests/helpers/cluster.ts),
 * one behind a link the test cuts.
 */

import assert from "node:assert/strict";
import { Hub } from "../core/hub.ts";
import type { User } from "../core/user.ts";
import type { RoomState } from "../core/cluster.ts";
import { runCommand } from "../core/commands/chat.ts";
import { newModes } from "../core/room_modes.ts";
import { nickKey } from "../core/nick.ts";
import { LOBBY, type ServerFrame } from "../protocol/frames.ts";
import { MemoryCluster } from "../store/memory/cluster.ts";
import { ManualClock, RecordingSink } from "./helpers/core.ts";
import { memoryHub, memoryLogin } from "./helpers/memory_cluster.ts";
import { command, type JsonClient, WAIT_MS } from "./helpers/wire.ts";
import { loginAt, TcpCut, withCluster } from "./helpers/cluster.ts";

/** A user logged in on one node, as a test drives them. */
class Member {
  room = LOBBY;
  constructor(readonly hub: Hub, readonly user: User, readonly sink: RecordingSink) {}

  /** Runs a command line and waits for it. */
  async run(line: string): Promise<void> {
    const outcome = await runCommand(this.hub, this.user, line, this.room);
    if (outcome.room !== undefined) this.room = outcome.room;
  }

  /** The frames since the last take. */
  take(): ServerFrame[] {
    return this.sink.take();
  }
}

/** Hubs on one in-memory cluster, made on demand (a node made later starts later). */
class Nodes {
  readonly cluster = new MemoryCluster();
  readonly clock = new ManualClock();
  readonly hubs = new Map<string, Hub>();
  #hosts = 0;

  /** Starts node `id` (it reads the log from now on, as a node that starts does). */
  async start(id: string): Promise<Hub> {
    const hub = memoryHub(this.cluster.node(id), id, {
      maxUsers: 20,
      now: this.clock.now,
      publish: "all",
    });
    this.hubs.set(id, hub);
    await this.settle();
    return hub;
  }

  /** Every node has applied every log entry. */
  async settle(): Promise<void> {
    for (const hub of this.hubs.values()) await hub.flush();
    await this.cluster.settle();
  }

  /** Logs `nick` in on `hub` and settles. */
  async login(hub: Hub, nick: string): Promise<Member> {
    const { user, sink } = await memoryLogin(hub, nick, ++this.#hosts);
    await this.settle();
    const member = new Member(hub, user, sink);
    member.take();
    return member;
  }

  /** Runs `line` for `member`, then lets every node apply what it published. */
  async run(member: Member, line: string): Promise<ServerFrame[]> {
    await member.run(line);
    await this.settle();
    return member.take();
  }

  /** Shuts every hub down. */
  close(): void {
    for (const hub of this.hubs.values()) hub.shutdown();
  }
}

/** The room `name` as `hub` holds it: its +i, key and bans, and its operators (sorted). */
function roomOn(hub: Hub, name: string): { modes: string; ops: string[] } {
  const room = [...hub.rooms].find((r) => r.name === name);
  assert.ok(room !== undefined, `${name} exists on ${hub.serverName}`);
  const { modes } = room;
  return {
    modes: `${modes.i ? "i" : ""}${modes.key ?? ""}${modes.bans.map((b) => b.mask).join(",")}`,
    ops: [...room.ops].map((u) => u.nick).sort(),
  };
}

/** The frames of `type` among `frames`. */
function ofType<T extends ServerFrame["type"]>(
  frames: ServerFrame[],
  type: T,
): Extract<ServerFrame, { type: T }>[] {
  return frames.filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type);
}

Deno.test("room state: a node started after +k, +i and +b were set learns them; its user is refused", async () => {
  const nodes = new Nodes();
  try {
    const a = await nodes.start("a");
    const alice = await nodes.login(a, "alice");
    await nodes.run(alice, "/join #x");
    await nodes.run(alice, "/mode #x +ikb secret mallory");
    const c = await nodes.start("c");
    assert.deepEqual(roomOn(c, "#x"), { modes: "isecretmallory!*@*", ops: ["alice"] });
    const bob = await nodes.login(c, "bob");
    const refused = await nodes.run(bob, "/join #x");
    assert.deepEqual(ofType(refused, "error").map((e) => e.code), ["room_invite_only"]);
    // And the node that knew it all along keeps it.
    assert.deepEqual(roomOn(a, "#x"), { modes: "isecretmallory!*@*", ops: ["alice"] });
  } finally {
    nodes.close();
  }
});

Deno.test("room state: a node started later learns who is op, a user opped by /op too", async () => {
  const nodes = new Nodes();
  try {
    const a = await nodes.start("a");
    // dave's hello comes first to a node made later: the first-member rule would op him there.
    const dave = await nodes.login(a, "dave");
    const alice = await nodes.login(a, "alice");
    const carol = await nodes.login(a, "carol");
    await nodes.run(alice, "/join #x");
    await nodes.run(dave, "/join #x");
    await nodes.run(carol, "/join #x");
    await nodes.run(alice, "/op carol");
    assert.deepEqual(roomOn(a, "#x").ops, ["alice", "carol"]);
    const c = await nodes.start("c");
    assert.deepEqual(roomOn(c, "#x").ops, ["alice", "carol"]);
  } finally {
    nodes.close();
  }
});

Deno.test("room state: a fresh room's state from a node that had not heard of the room changes nothing", async () => {
  const nodes = new Nodes();
  try {
    const a = await nodes.start("a");
    const alice = await nodes.login(a, "alice");
    await nodes.run(alice, "/join #y");
    await nodes.run(alice, "/mode #y +ik secret");
    // What a node cut off from the log publishes when carol makes #y there: its default.
    const state: RoomState = { modes: newModes(), ops: [nickKey("carol")], voices: [], created: 1 };
    await a.applyRemote({
      node: "c",
      event: { t: "room", room: "#y", state, by: "carol", fresh: true },
    });
    assert.deepEqual(roomOn(a, "#y"), { modes: "isecret", ops: ["alice"] });
    assert.deepEqual(ofType(alice.take(), "mode"), []);
  } finally {
    nodes.close();
  }
});

Deno.test("room state: a state heard before the room's members keeps out every joiner it refuses", async () => {
  const nodes = new Nodes();
  try {
    const c = await nodes.start("c");
    const bob = await nodes.login(c, "bob");
    // A's answer to C's node_up came before the hello of #p's members (sent in chunks).
    const modes = { ...newModes(), i: true };
    const state: RoomState = { modes, ops: [nickKey("alice")], voices: [], created: 1 };
    await c.applyRemote({ node: "a", event: { t: "room", room: "#p", state, by: "alice" } });
    for (const attempt of ["first", "second"]) {
      const refused = await nodes.run(bob, "/join #p");
      assert.deepEqual(ofType(refused, "error").map((e) => e.code), ["room_invite_only"], attempt);
    }
  } finally {
    nodes.close();
  }
});

Deno.test("room state: a node back after it was declared lost gives the others its rooms' modes again", async () => {
  const nodes = new Nodes();
  try {
    const a = await nodes.start("a");
    const b = await nodes.start("b");
    const alice = await nodes.login(a, "alice");
    await nodes.run(alice, "/join #x");
    await nodes.run(alice, "/mode #x +ik secret");
    assert.deepEqual(roomOn(b, "#x"), { modes: "isecret", ops: ["alice"] });
    // B declared A lost (A stalled past its lease): #x, only A's users in it, is gone on B.
    await b.applyRemote({ node: "a", event: { t: "node_lost", node: "a" } });
    assert.equal([...b.rooms].some((r) => r.name === "#x"), false);
    await a.rejoinCluster();
    await nodes.settle();
    assert.deepEqual(roomOn(b, "#x"), { modes: "isecret", ops: ["alice"] });
  } finally {
    nodes.close();
  }
});

Deno.test("room state: a room made on two nodes at once ends with one operator on both", async () => {
  const nodes = new Nodes();
  try {
    const a = await nodes.start("a");
    const c = await nodes.start("c");
    const alice = await nodes.login(a, "alice");
    const carol = await nodes.login(c, "carol");
    // Both joins run before either node reads the other's from the log.
    await Promise.all([alice.run("/join #r"), carol.run("/join #r")]);
    await nodes.settle();
    const onA = roomOn(a, "#r").ops;
    assert.equal(onA.length, 1);
    assert.deepEqual(roomOn(c, "#r").ops, onA);
  } finally {
    nodes.close();
  }
});

Deno.test("room state: a new room's first member is its op, on one node and seen so from another", async () => {
  const nodes = new Nodes();
  try {
    const a = await nodes.start("a");
    const b = await nodes.start("b");
    const alice = await nodes.login(a, "alice");
    const bob = await nodes.login(b, "bob");
    const joined = ofType(await nodes.run(alice, "/join #new"), "joined");
    assert.deepEqual(joined.map((j) => j.ops), [["alice"]]);
    const bobJoined = ofType(await nodes.run(bob, "/join #new"), "joined");
    assert.deepEqual(bobJoined.map((j) => j.ops), [["alice"]]);
    assert.deepEqual(roomOn(a, "#new").ops, ["alice"]);
    assert.deepEqual(roomOn(b, "#new").ops, ["alice"]);
    // Her first change is the room's, on both nodes.
    await nodes.run(alice, "/mode #new +k pass");
    assert.deepEqual(roomOn(b, "#new"), { modes: "pass", ops: ["alice"] });
    const refused = await nodes.run(bob, "/mode #new -k");
    assert.deepEqual(ofType(refused, "error").map((e) => e.code), ["not_room_operator"]);
  } finally {
    nodes.close();
  }
});

/**
 * Runs `line` for `client` until `done` says its answer is the one awaited (another node's
 * state reaches this one a moment later): that answer, or the last one after WAIT_MS.
 */
async function until(
  client: JsonClient,
  line: string,
  room: string,
  done: (frame: ServerFrame) => boolean,
): Promise<ServerFrame> {
  const deadline = Date.now() + WAIT_MS;
  while (true) {
    const frame = await command(client, line, room);
    if (done(frame) || Date.now() > deadline) return frame;
    // Slower than the default flood guard (5 frames a second).
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** The text of an `info` frame, else its type and code. */
function textOf(frame: ServerFrame): string {
  if (frame.type === "info") return frame.text;
  return frame.type === "error" ? `error ${frame.code}` : frame.type;
}

/** True if `frame` is a `/rooms` answer listing `room`. */
function knows(frame: ServerFrame, room: string): boolean {
  return frame.type === "rooms" && frame.rooms.some((r) => r.room === room);
}

/** The next frame of `client` that `wanted` accepts (fails after WAIT_MS). */
async function awaitFrame(
  client: JsonClient,
  what: string,
  wanted: (frame: ServerFrame) => boolean,
): Promise<ServerFrame> {
  while (true) {
    const frame = await client.next(what);
    if (frame === null) throw new Error(`EOF waiting for ${what}`);
    if (wanted(frame)) return frame;
  }
}

Deno.test("room state over Redis: a node started after +k and +i were set keeps its user out (finding 2)", async () => {
  await withCluster({ nodes: 1 }, async (cluster) => {
    const [a] = cluster.nodes;
    const alice = await loginAt(a.port, "alice");
    const clients = [alice];
    try {
      assert.equal((await command(alice, "/join #x")).type, "joined");
      assert.equal((await command(alice, "/mode #x +k secret", "#x")).type, "mode");
      assert.equal((await command(alice, "/mode #x +i", "#x")).type, "mode");
      const c = await cluster.addNode();
      const bob = await loginAt(c.port, "bob");
      clients.push(bob);
      // C makes #x from alice's hello; its modes come with A's answer to C's node_up, in the
      // same round.
      await until(bob, "/rooms", LOBBY, (f) => knows(f, "#x"));
      const refused = await command(bob, "/join #x secret");
      assert.equal(textOf(refused), "error room_invite_only");
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("room state over Redis: a claimed room learned by a node started later has the operators its members had", async () => {
  await withCluster({ nodes: 1 }, async (cluster) => {
    const [a] = cluster.nodes;
    const alice = await loginAt(a.port, "alice");
    const dave = await loginAt(a.port, "dave");
    const clients = [alice, dave];
    try {
      assert.match(JSON.stringify(await command(alice, "/register correct-horse")), /registered/);
      assert.equal((await command(alice, "/join #c")).type, "joined");
      assert.match(textOf(await command(alice, "/register #c", "#c")), /yours now/);
      assert.equal((await command(dave, "/join #c")).type, "joined");
      // A guest opped by the owner: the claim keeps accounts only, the room's state has him.
      assert.equal((await command(alice, "/op dave", "#c")).type, "mode");
      assert.equal((await command(alice, "/mode #c +kb key mallory", "#c")).type, "mode");
      const c = await cluster.addNode();
      const bob = await loginAt(c.port, "bob");
      clients.push(bob);
      const joined = await until(bob, "/join #c key", "#c", (f) => {
        if (f.type !== "joined") return false;
        if (f.ops?.includes("dave")) return true;
        // Too early: out again, and once more.
        void bob.send({ type: "cmd", line: "/part #c", room: "#c" });
        return false;
      });
      assert.equal(joined.type, "joined");
      assert.deepEqual(joined.type === "joined" && [...(joined.ops ?? [])].sort(), [
        "alice",
        "dave",
      ]);
      const shown = await command(bob, "/mode #c +b", "#c");
      assert.match(textOf(shown), /mallory/, "C knows the room's bans");
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("room state over Redis: a room made on a node cut off from Redis does not wipe the real one's modes and ops when it comes back (finding 1)", async () => {
  await withCluster({ nodes: 1 }, async (cluster) => {
    const [a] = cluster.nodes;
    const link = new TcpCut(cluster.redis.port);
    const clients: JsonClient[] = [];
    try {
      const c = await cluster.addNode({ redisUrl: link.url });
      const alice = await loginAt(a.port, "alice");
      const carol = await loginAt(c.port, "carol");
      clients.push(alice, carol);
      link.cut();
      assert.equal((await command(alice, "/join #y")).type, "joined");
      assert.equal((await command(alice, "/mode #y +ik secret", "#y")).type, "mode");
      const made = await command(carol, "/join #y");
      assert.deepEqual(made.type === "joined" && made.ops, ["carol"], "C made #y itself");
      link.mend();
      // Everything C published before this topic (its join, its room's default) reaches A
      // before the topic does: the log keeps each node's order.
      const topic = await until(
        carol,
        "/topic #y back again",
        "#y",
        (f) => f.type === "topic",
      );
      assert.equal(topic.type, "topic");
      await awaitFrame(alice, "carol's topic on A", (f) => f.type === "topic" && f.by === "carol");
      assert.match(textOf(await command(alice, "/mode #y", "#y")), /\+nik secret/);
      const mallory = await loginAt(a.port, "mallory");
      clients.push(mallory);
      assert.equal(textOf(await command(mallory, "/join #y")), "error room_invite_only");
      // And C took A's state: carol, op only because she came first there, is not any more.
      const modes = await until(carol, "/mode #y", "#y", (f) => textOf(f).includes("+nik"));
      assert.match(textOf(modes), /\+nik secret/);
      const denied = await command(carol, "/mode #y -k", "#y");
      assert.equal(textOf(denied), "error not_room_operator");
    } finally {
      for (const client of clients) client.close();
      await link.close();
    }
  });
});

Deno.test("room state over Redis: a new room's first member is its op, and seen so from another node", async () => {
  await withCluster({ nodes: 2 }, async ({ nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    try {
      const made = await command(alice, "/join #new");
      assert.deepEqual(made.type === "joined" && made.ops, ["alice"]);
      // Once B has heard of the room (a join there before would make it there too).
      await until(bob, "/rooms", LOBBY, (f) => knows(f, "#new"));
      const joined = await command(bob, "/join #new");
      assert.deepEqual(joined.type === "joined" && joined.ops, ["alice"]);
      assert.equal(textOf(await command(bob, "/mode #new +m", "#new")), "error not_room_operator");
    } finally {
      alice.close();
      bob.close();
    }
  });
});
