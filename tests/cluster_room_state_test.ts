/**
 * Room state across cluster nodes in one process (issue 16, review findings 1 and 2): a room a
 * node made without knowing it (`fresh`) never overrides the state the others have, two nodes
 * that made one room at once agree on its operator, and a node started after a room's modes
 * were set learns them before its users can walk past them. Hubs linked by the in-memory
 * cluster (store/memory/cluster.ts); the Redis end-to-end cases are in
 * tests/cluster_room_state_redis_test.ts.
 */

import assert from "node:assert/strict";
import { Hub } from "../core/hub.ts";
import type { User } from "../core/user.ts";
import { BanList } from "../core/moderation.ts";
import {
  publishingAccounts,
  publishingClaims,
  publishingModeration,
} from "../core/cluster_moderation.ts";
import type { RoomState } from "../core/cluster.ts";
import { runCommand } from "../core/commands/chat.ts";
import { newModes } from "../core/room_modes.ts";
import { nickKey } from "../core/nick.ts";
import { LOBBY, PROTOCOL_VERSION, type ServerFrame } from "../protocol/frames.ts";
import { MemoryCluster } from "../store/memory/cluster.ts";
import { ManualClock, OPER_SECRET, RecordingSink, secret } from "./helpers/core.ts";

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
    const node = this.cluster.node(id);
    const moderation = publishingModeration(node.bus, node.store.moderation);
    const hub = new Hub({
      maxUsers: 20,
      maxFrame: 65536,
      serverName: `sockchat-${id}`,
      store: node.store,
      replayBudgetBytes: 1 << 18,
      now: this.clock.now,
      bans: new BanList(moderation, { mutes: moderation }),
      accounts: publishingAccounts(node.bus, node.store.accounts),
      claims: publishingClaims(node.bus, node.store.claims),
      operSecret: secret(OPER_SECRET),
      cluster: node.bus,
    });
    node.attach(hub);
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
    const sink = new RecordingSink();
    const address = `192.0.2.${++this.#hosts}`;
    const result = await hub.login(sink, { version: PROTOCOL_VERSION, nick, address });
    if (!result.ok) throw new Error(`login of ${nick} refused: ${result.error.message}`);
    await this.settle();
    const member = new Member(hub, result.user, sink);
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
