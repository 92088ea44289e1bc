/**
 * Moderation across two cluster nodes in one process (issue 16): hubs linked by the in-memory
 * cluster (store/memory/cluster.ts), whose record tables publish as the Redis ones do
 * (core/cluster_moderation.ts). A ban, mute, kick, room mode, operator status, invitation or
 * account made on node A takes effect on a user held by node B.
 */

import assert from "node:assert/strict";
import { Hub } from "../core/hub.ts";
import type { User } from "../core/user.ts";
import { runCommand } from "../core/commands/chat.ts";
import type { KeyProof } from "../core/identity.ts";
import type { LoginRequest } from "../core/login.ts";
import { LOBBY, PROTOCOL_VERSION, type ServerFrame } from "../protocol/frames.ts";
import { MemoryCluster } from "../store/memory/cluster.ts";
import { ManualClock, one, only, OPER_SECRET, RecordingSink, types } from "./helpers/core.ts";
import { memoryHub } from "./helpers/memory_cluster.ts";

/** A user logged in on one node, as a test drives them. */
class Member {
  room = LOBBY;
  constructor(readonly hub: Hub, readonly user: User, readonly sink: RecordingSink) {}

  /** Runs a command line and waits for it (a cluster's store answers later). */
  async run(line: string): Promise<void> {
    const outcome = await runCommand(this.hub, this.user, line, this.room);
    if (outcome.room !== undefined) this.room = outcome.room;
  }

  /** Says `text` in `room`. */
  say(text: string, room = this.room): void {
    this.hub.say(this.user, room, text);
  }

  /** The frames since the last take. */
  take(): ServerFrame[] {
    return this.sink.take();
  }
}

/** Two hubs, `a` and `b`, on one in-memory cluster sharing bans, mutes, accounts and claims. */
class TwoNodes {
  readonly cluster = new MemoryCluster();
  readonly clock = new ManualClock();
  readonly a: Hub;
  readonly b: Hub;
  #hosts = 0;

  constructor() {
    this.a = this.#node("a");
    this.b = this.#node("b");
  }

  #node(id: string): Hub {
    return memoryHub(this.cluster.node(id), id, {
      maxUsers: 20,
      now: this.clock.now,
      publish: "all",
    });
  }

  /** Every node has applied every log entry. */
  settle(): Promise<void> {
    return this.cluster.settle();
  }

  /** Tries a login on `hub`; the result and its sink. */
  async tryLogin(hub: Hub, nick: string, request: Partial<LoginRequest> = {}) {
    const sink = new RecordingSink();
    const address = `192.0.2.${++this.#hosts}`;
    const result = await hub.login(sink, { version: PROTOCOL_VERSION, nick, address, ...request });
    return { result, sink };
  }

  /** Logs `nick` in on `hub` (throws if refused), settles, and forgets the welcome. */
  async login(hub: Hub, nick: string, request: Partial<LoginRequest> = {}): Promise<Member> {
    const { result, sink } = await this.tryLogin(hub, nick, request);
    if (!result.ok) throw new Error(`login of ${nick} refused: ${result.error.message}`);
    await this.settle();
    const member = new Member(hub, result.user, sink);
    member.take();
    return member;
  }

  /** Logs `nick` in on `hub` as a server operator. */
  async operator(hub: Hub, nick: string): Promise<Member> {
    const member = await this.login(hub, nick);
    await member.run(`/oper ${OPER_SECRET}`);
    await this.settle();
    member.take();
    return member;
  }

  /** Runs `line` for `member`, then lets every node apply what it published. */
  async run(member: Member, line: string): Promise<void> {
    await member.run(line);
    await this.hubsFlushed();
  }

  /** Commits what was said and lets every node apply the log. */
  async hubsFlushed(): Promise<void> {
    await this.a.flush();
    await this.b.flush();
    await this.settle();
  }

  /** Shuts both hubs down (closing every sink). */
  close(): void {
    this.a.shutdown();
    this.b.shutdown();
  }
}

/** Carol's key: her account is hers whichever node she logs in on. */
const CAROL_KEY: KeyProof = { source: "sockchat", fingerprint: "SHA256:carolcarolcarol" };

/** Carol, logged in on A with {@linkcode CAROL_KEY} and registered, who claimed #c and set it +m. */
async function carolClaimsC(nodes: TwoNodes): Promise<Member> {
  const carol = await nodes.login(nodes.a, "carol", { key: CAROL_KEY });
  await nodes.run(carol, "/register");
  await nodes.run(carol, "/join #c");
  await nodes.run(carol, "/register #c");
  await nodes.run(carol, "/mode #c +m");
  return carol;
}

/** Alice (op of #x, on A) and bob (on B), both in #x. */
async function roomAcross(nodes: TwoNodes): Promise<{ alice: Member; bob: Member }> {
  const alice = await nodes.login(nodes.a, "alice");
  await nodes.run(alice, "/join #x");
  const bob = await nodes.login(nodes.b, "bob");
  await nodes.run(bob, "/join #x");
  alice.take();
  bob.take();
  return { alice, bob };
}

Deno.test("cluster mod: a ban on A kicks a user on B and refuses their next login on B", async () => {
  const nodes = new TwoNodes();
  const alice = await nodes.operator(nodes.a, "alice");
  const bob = await nodes.login(nodes.b, "bob");
  const dave = await nodes.login(nodes.b, "dave");
  dave.take();
  await nodes.run(alice, "/ban bob 1h spamming");
  const bye = one(bob.take(), "bye");
  assert.deepEqual(bye.reason, "banned");
  assert.deepEqual(bye.message, "You were banned for 1h by alice: spamming");
  assert.deepEqual(bob.sink.closedWith, "banned");
  // B's lobby saw them go as banned; both nodes forgot them.
  const leave = one(dave.take(), "leave");
  assert.deepEqual([leave.nick, leave.reason], ["bob", "banned"]);
  assert.deepEqual(nodes.b.user("bob"), undefined);
  assert.deepEqual(nodes.a.user("bob"), undefined);
  // The ban is B's too: bob is refused there, from any address.
  const again = await nodes.tryLogin(nodes.b, "bob", { address: "198.51.100.7" });
  assert(!again.result.ok);
  assert.deepEqual(again.result.error.code, "banned");
  nodes.close();
});

Deno.test("cluster mod: an address ban on A kicks whoever B holds from that address", async () => {
  const nodes = new TwoNodes();
  const alice = await nodes.operator(nodes.a, "alice");
  const bob = await nodes.login(nodes.b, "bob", { address: "203.0.113.9" });
  await nodes.run(alice, "/ban addr:203.0.113.0/24");
  assert.deepEqual(one(bob.take(), "bye").reason, "banned");
  const again = await nodes.tryLogin(nodes.b, "robert", { address: "203.0.113.77" });
  assert(!again.result.ok);
  assert.deepEqual(again.result.error.code, "banned");
  nodes.close();
});

Deno.test("cluster mod: a mute on A silences the user on B until unmuted on A", async () => {
  const nodes = new TwoNodes();
  const alice = await nodes.operator(nodes.a, "alice");
  const bob = await nodes.login(nodes.b, "bob");
  await nodes.run(alice, "/mute bob");
  const told = only(bob.take(), "info").map((f) => f.text);
  assert.deepEqual(told, [
    "* alice muted you until an operator unmutes you: you can read, but not speak.",
  ]);
  bob.say("can you hear me?");
  await nodes.hubsFlushed();
  assert.deepEqual(types(bob.take()), ["error:muted"]);
  assert.deepEqual(only(alice.take(), "msg").length, 0);
  await nodes.run(alice, "/unmute bob");
  assert.deepEqual(only(bob.take(), "info").map((f) => f.text), [
    "* You were unmuted: you may speak again.",
  ]);
  bob.say("back");
  await nodes.hubsFlushed();
  assert.deepEqual(only(alice.take(), "msg").map((m) => m.text), ["back"]);
  nodes.close();
});

Deno.test("cluster mod: /mode +m on A applies on B; B's unvoiced member is refused", async () => {
  const nodes = new TwoNodes();
  const { alice, bob } = await roomAcross(nodes);
  await nodes.run(alice, "/mode #x +m");
  const mode = one(bob.take(), "mode");
  assert.deepEqual([mode.room, mode.by, mode.changes, mode.args], ["#x", "alice", "+m", []]);
  assert(nodes.b.room("#x")?.modes.m);
  bob.say("hello?", "#x");
  await nodes.hubsFlushed();
  assert.deepEqual(types(bob.take()), ["error:room_moderated"]);
  // Voiced on A, bob speaks on B.
  await nodes.run(alice, "/voice bob #x");
  assert.deepEqual(one(bob.take(), "mode").changes, "+v");
  bob.say("thanks", "#x");
  await nodes.hubsFlushed();
  assert.deepEqual(only(alice.take(), "msg").map((m) => m.text), ["thanks"]);
  nodes.close();
});

Deno.test("cluster mod: /op on A of a user on B makes them op on B, and their modes reach A", async () => {
  const nodes = new TwoNodes();
  const { alice, bob } = await roomAcross(nodes);
  const room = nodes.b.room("#x");
  assert(room !== undefined);
  assert(![...room.ops].some((u) => u.key === "bob"));
  await nodes.run(alice, "/op bob #x");
  const mode = one(bob.take(), "mode");
  assert.deepEqual([mode.by, mode.changes, mode.args], ["alice", "+o", ["bob"]]);
  assert([...room.ops].some((u) => u.key === "bob"));
  alice.take();
  // Now an operator on B: bob's change is applied on A.
  await nodes.run(bob, "/mode #x +t");
  const back = one(alice.take(), "mode");
  assert.deepEqual([back.by, back.changes], ["bob", "+t"]);
  assert(nodes.a.room("#x")?.modes.t);
  nodes.close();
});

Deno.test("cluster mod: a room kick on A puts a user on B out of the room", async () => {
  const nodes = new TwoNodes();
  const { alice, bob } = await roomAcross(nodes);
  const carol = await nodes.login(nodes.b, "carol");
  await nodes.run(carol, "/join #x");
  carol.take();
  await nodes.run(alice, "/kick #x bob flooding");
  const kicked = one(bob.take(), "leave");
  assert.deepEqual(
    [kicked.room, kicked.nick, kicked.reason, kicked.by, kicked.message],
    ["#x", "bob", "kicked_room", "alice", "flooding"],
  );
  const seen = one(carol.take(), "leave");
  assert.deepEqual([seen.nick, seen.reason, seen.by], ["bob", "kicked_room", "alice"]);
  assert(![...(nodes.b.room("#x")?.members ?? [])].some((u) => u.key === "bob"));
  assert(bob.user.online);
  nodes.close();
});

Deno.test("cluster mod: an invitation on A lets a user on B into a +i room", async () => {
  const nodes = new TwoNodes();
  const alice = await nodes.login(nodes.a, "alice");
  await nodes.run(alice, "/join #x");
  await nodes.run(alice, "/mode #x +i");
  const bob = await nodes.login(nodes.b, "bob");
  await nodes.run(bob, "/join #x");
  assert.deepEqual(types(bob.take()), ["error:room_invite_only"]);
  await nodes.run(alice, "/invite bob #x");
  const invite = one(bob.take(), "invite");
  assert.deepEqual([invite.room, invite.by, invite.to], ["#x", "alice", "bob"]);
  await nodes.run(bob, "/join #x");
  assert.deepEqual(one(bob.take(), "joined").room, "#x");
  nodes.close();
});

Deno.test("cluster mod: an account registered on A is enforced on B", async () => {
  const nodes = new TwoNodes();
  const key: KeyProof = { source: "sockchat", fingerprint: "SHA256:carolcarolcarol" };
  const carol = await nodes.login(nodes.a, "carol", { key });
  await nodes.run(carol, "/register");
  assert(carol.user.verified);
  carol.user.sink.close("quit");
  nodes.a.logout(carol.user, "quit");
  await nodes.hubsFlushed();
  // A guest may not take the registered nick on B; its key may.
  const guest = await nodes.tryLogin(nodes.b, "carol");
  assert(!guest.result.ok);
  assert.deepEqual(guest.result.error.code, "nick_registered");
  const owner = await nodes.login(nodes.b, "carol", { key });
  assert(owner.user.verified);
  nodes.close();
});

Deno.test("cluster mod: an account released on A unmarks its holder on B", async () => {
  const nodes = new TwoNodes();
  const key: KeyProof = { source: "sockchat", fingerprint: "SHA256:carolcarolcarol" };
  const carol = await nodes.login(nodes.b, "carol", { key });
  await nodes.run(carol, "/register");
  const alice = await nodes.operator(nodes.a, "alice");
  carol.take();
  await nodes.run(alice, "/unregister carol");
  assert(!carol.user.verified);
  const told = only(carol.take(), "info").map((f) => f.text);
  assert.deepEqual(told, ["* carol is no longer registered: anyone may use it now."]);
  assert.deepEqual(nodes.b.account("carol"), undefined);
  nodes.close();
});

Deno.test("cluster mod: a server operator's /kick on A disconnects a user on B", async () => {
  const nodes = new TwoNodes();
  const alice = await nodes.operator(nodes.a, "alice");
  const bob = await nodes.login(nodes.b, "bob");
  const dave = await nodes.login(nodes.b, "dave");
  dave.take();
  await nodes.run(alice, "/kick bob enough");
  const bye = one(bob.take(), "bye");
  assert.deepEqual([bye.reason, bye.message], ["kicked", "You were kicked by alice: enough"]);
  assert.deepEqual(bob.sink.closedWith, "kicked");
  assert.deepEqual(one(dave.take(), "leave").reason, "kicked");
  assert.deepEqual(nodes.a.user("bob"), undefined);
  assert.deepEqual(nodes.b.user("bob"), undefined);
  nodes.close();
});

Deno.test("cluster mod: /kill on A ends a session on B", async () => {
  const nodes = new TwoNodes();
  const alice = await nodes.operator(nodes.a, "alice");
  const bob = await nodes.login(nodes.b, "bob");
  await nodes.run(alice, "/kill bob go away");
  const bye = one(bob.take(), "bye");
  assert.deepEqual([bye.reason, bye.message], ["kicked", "You were kicked by alice: go away"]);
  assert.equal(nodes.b.user("bob"), undefined);
  nodes.close();
});

Deno.test("cluster mod: a room claimed on A keeps its state on B, and ops its owner there", async () => {
  const nodes = new TwoNodes();
  const carol = await carolClaimsC(nodes);
  assert.equal(nodes.b.claimed("#c")?.owner, "carol");
  assert.equal(nodes.b.claimed("#c")?.modes.m, true);
  // Carol leaves (the room is forgotten everywhere), then comes back on B: the claim made on A
  // restores the room there and makes her its operator, and A sees her so.
  nodes.a.logout(carol.user, "quit");
  await nodes.hubsFlushed();
  assert.equal(nodes.b.room("#c"), undefined);
  const again = await nodes.login(nodes.b, "carol", { key: CAROL_KEY });
  await nodes.run(again, "/join #c");
  const roomB = nodes.b.room("#c");
  assert.ok(roomB?.modes.m);
  assert.ok(roomB !== undefined && [...roomB.ops].some((u) => u.key === "carol"));
  const roomA = nodes.a.room("#c");
  assert.ok(roomA?.modes.m);
  assert.ok(roomA !== undefined && [...roomA.ops].some((u) => u.key === "carol"));
  nodes.close();
});

Deno.test("cluster mod: an address ban respelled on A stays in force on B", async () => {
  const nodes = new TwoNodes();
  // Saved as an older version spelled it; A's /ban rewrites it (save new, delete old spelling).
  const old = {
    kind: "address" as const,
    target: "2001:db8:0:0::/64",
    until: 0,
    reason: "",
    by: "x",
  };
  nodes.a.moderation.bans.applyRemote({ ban: old });
  nodes.b.moderation.bans.applyRemote({ ban: old });
  const alice = await nodes.operator(nodes.a, "alice");
  await nodes.run(alice, "/ban addr:2001:db8::/64");
  const now = nodes.clock.now();
  assert.ok(nodes.a.moderation.bans.find(null, "2001:db8::1", now) !== undefined);
  assert.ok(nodes.b.moderation.bans.find(null, "2001:db8::1", now) !== undefined);
  nodes.close();
});

Deno.test("cluster mod: a claimed room first re-made on B for a guest keeps its modes on A", async () => {
  const nodes = new TwoNodes();
  const carol = await carolClaimsC(nodes);
  nodes.a.logout(carol.user, "quit");
  await nodes.hubsFlushed();
  // Dave (a guest, op of nothing) brings the room back on B; A makes it for his mirror.
  const dave = await nodes.login(nodes.b, "dave");
  await nodes.run(dave, "/join #c");
  assert.ok(nodes.a.room("#c")?.modes.m);
  // So a guest joining on A is as unvoiced there as on B.
  const erin = await nodes.login(nodes.a, "erin");
  await nodes.run(erin, "/join #c");
  erin.take();
  erin.say("hi", "#c");
  await nodes.hubsFlushed();
  assert.deepEqual(types(erin.take()), ["error:room_moderated"]);
  nodes.close();
});

Deno.test("cluster mod: a key and a room ban set on A reach B as A's members saw them", async () => {
  const nodes = new TwoNodes();
  const { alice, bob } = await roomAcross(nodes);
  await nodes.run(alice, "/mode #x +k secret");
  await nodes.run(alice, "/mode #x +b Evil");
  const seenA = only(alice.take(), "mode").map((m) => [m.changes, m.args]);
  const seenB = only(bob.take(), "mode").map((m) => [m.changes, m.args]);
  assert.deepEqual(seenB, seenA);
  assert.deepEqual(seenB, [["+k", ["secret"]], ["+b", ["Evil!*@*"]]]);
  const carol = await nodes.login(nodes.b, "carol");
  await nodes.run(carol, "/join #x");
  assert.deepEqual(types(carol.take()), ["error:room_bad_key"]);
  const evil = await nodes.login(nodes.b, "evil");
  await nodes.run(evil, "/join #x secret");
  assert.deepEqual(types(evil.take()), ["error:room_banned"]);
  // Several changes at once are one line on B too (in mode-letter order: B diffs the state).
  await nodes.run(alice, "/mode #x -bk Evil");
  assert.deepEqual(only(bob.take(), "mode").map((m) => [m.changes, m.args]), [
    ["-kb", ["*", "Evil!*@*"]],
  ]);
  await nodes.run(carol, "/join #x");
  assert.equal(one(carol.take(), "joined").room, "#x");
  nodes.close();
});

Deno.test("cluster mod: applying another node's moderation publishes nothing", async () => {
  const nodes = new TwoNodes();
  const { alice, bob } = await roomAcross(nodes);
  await nodes.run(alice, `/oper ${OPER_SECRET}`);
  const key: KeyProof = { source: "sockchat", fingerprint: "SHA256:alicealicealice" };
  const erin = await nodes.login(nodes.a, "erin", { key });
  const from = nodes.cluster.log.length;
  await nodes.run(alice, "/mode #x +mt");
  await nodes.run(alice, "/op bob #x");
  await nodes.run(alice, "/mute bob 10m");
  await nodes.run(alice, "/unmute bob");
  await nodes.run(alice, "/ban nick:mallory 1h");
  await nodes.run(erin, "/register");
  await nodes.run(alice, "/mode #x +i");
  await nodes.run(alice, "/invite erin #x");
  const published = nodes.cluster.log.slice(from).filter((e) => e.kind === "e");
  assert.ok(published.length >= 8);
  assert.deepEqual(published.filter((e) => e.node !== "a"), []);
  assert.ok(nodes.b.room("#x")?.modes.i);
  bob.take();
  nodes.close();
});
