/**
 * Presence and nicks across cluster nodes, in one process: two or three hubs linked by the
 * in-memory cluster (store/memory/cluster.ts), whose shared log brings each node's published
 * changes to the others as Redis's would. Covers mirrors in /who, /whois and /rooms, join and
 * leave notices across nodes, nick claims (simultaneous logins, renames, logouts), a lost node's
 * users leaving with `node_lost`, `--max-users` counting local users only, an unreachable
 * cluster, room kicks and topics across nodes, and a node re-joining after its lease was lost.
 */

import assert from "node:assert/strict";
import { Hub, type LoginResult, type User } from "../core/hub.ts";
import { runCommand } from "../core/commands/chat.ts";
import type { KeyProof } from "../core/identity.ts";
import { nickKey } from "../core/nick.ts";
import { LOBBY, PROTOCOL_VERSION } from "../protocol/frames.ts";
import { MemoryCluster, type MemoryNode } from "../store/memory/cluster.ts";
import { ManualClock, only, Peer, RecordingSink } from "./helpers/core.ts";
import { memoryHub } from "./helpers/memory_cluster.ts";

/** Hubs linked by one in-memory cluster, on one manual clock. */
class ClusterChat {
  readonly cluster = new MemoryCluster();
  readonly clock = new ManualClock();
  readonly nodes = new Map<string, MemoryNode>();
  readonly hubs = new Map<string, Hub>();
  readonly #maxUsers: number;
  #hosts = 0;

  constructor(ids: string[], maxUsers = 100) {
    this.#maxUsers = maxUsers;
    for (const id of ids) this.add(id);
  }

  /** Starts node `id` (it reads the log from now on, as a node started late does). */
  add(id: string): Hub {
    const node = this.cluster.node(id);
    const hub = memoryHub(node, id, {
      maxUsers: this.#maxUsers,
      now: this.clock.now,
      publish: "accounts",
    });
    this.nodes.set(id, node);
    this.hubs.set(id, hub);
    return hub;
  }

  hub(id: string): Hub {
    const hub = this.hubs.get(id);
    if (hub === undefined) throw new Error(`no node ${id}`);
    return hub;
  }

  /** What a login of `nick` on node `id` answers (its sink is `sink`). */
  attempt(
    id: string,
    nick: string,
    sink = new RecordingSink(),
    key?: KeyProof,
  ): Promise<LoginResult> {
    const address = `192.0.2.${++this.#hosts}`;
    return Promise.resolve(
      this.hub(id).login(sink, { version: PROTOCOL_VERSION, nick, address, key }),
    );
  }

  /** Logs `nick` in on node `id` and waits until every node has heard of it. */
  async login(id: string, nick: string, key?: KeyProof): Promise<Peer> {
    const sink = new RecordingSink();
    const result = await this.attempt(id, nick, sink, key);
    if (!result.ok) throw new Error(`login of ${nick} refused: ${result.error.message}`);
    await this.settle();
    sink.take();
    return new Peer(this.hub(id), result.user, sink);
  }

  /** Runs a command line for `peer` on its node, waits for it and for the cluster. */
  async run(peer: Peer, line: string, ref?: string): Promise<void> {
    const outcome = await runCommand(this.#hubOf(peer), peer.user, line, peer.room, ref);
    if (outcome.room !== undefined) peer.room = outcome.room;
    await this.settle();
  }

  #hubOf(peer: Peer): Hub {
    for (const hub of this.hubs.values()) {
      if (hub.user(peer.user.nick) === peer.user) return hub;
    }
    throw new Error(`${peer.user.nick} is on no node`);
  }

  settle(): Promise<void> {
    return this.cluster.settle();
  }

  async close(): Promise<void> {
    await this.settle();
    for (const hub of this.hubs.values()) hub.shutdown();
    await this.settle();
  }
}

/** The nicks of the users a hub holds that another node owns. */
function mirrors(hub: Hub): string[] {
  return [...hub.users].filter((u: User) => u.node !== undefined).map((u) => u.nick).sort();
}

/** The `leave` frames among `frames`, as "room nick reason". */
function leaves(frames: ReturnType<Peer["take"]>): string[] {
  return only(frames, "leave").map((f) => `${f.room} ${f.nick} ${f.reason}`);
}

/** The `join` frames among `frames`, as "room nick". */
function joins(frames: ReturnType<Peer["take"]>): string[] {
  return only(frames, "join").map((f) => `${f.room} ${f.nick}`);
}

Deno.test("cluster presence: /who and /whois on B list a user of A, with their rooms and away", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const bob = await chat.login("b", "bob");
  await chat.run(alice, "/join #rust");
  await chat.run(alice, "/away at lunch");
  bob.take();
  await chat.run(bob, "/who #lobby", "w");
  const who = only(bob.take(), "who")[0];
  assert.deepEqual([...who.members].sort(), ["alice", "bob"]);
  await chat.run(bob, "/whois alice", "i");
  const text = only(bob.take(), "info").map((f) => f.text).join("\n");
  assert.match(text, /alice: here for/);
  assert.match(text, /in #lobby, #rust/);
  assert.match(text, /at lunch/);
  // And the other way round: A mirrors B's users as well.
  await chat.run(alice, "/who #lobby", "w");
  assert.deepEqual([...only(alice.take(), "who")[0].members].sort(), ["alice", "bob"]);
  assert.deepEqual(mirrors(chat.hub("a")), ["bob"]);
  assert.deepEqual(mirrors(chat.hub("b")), ["alice"]);
  await chat.close();
});

Deno.test("cluster presence: /rooms counts the members of every node", async () => {
  const chat = new ClusterChat(["a", "b", "c"]);
  const alice = await chat.login("a", "alice");
  const bob = await chat.login("b", "bob");
  await chat.login("c", "carol");
  await chat.run(alice, "/join #rust");
  await chat.run(bob, "/join #rust");
  bob.take();
  await chat.run(bob, "/rooms", "r");
  const listed = only(bob.take(), "rooms")[0].rooms;
  const count = (name: string) => listed.find((r) => r.room === name)?.members;
  assert.equal(count(LOBBY), 3);
  assert.equal(count("#rust"), 2);
  await chat.close();
});

Deno.test("cluster presence: B's members hear A's user join, part and quit, with their words", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const bob = await chat.login("b", "bob");
  await chat.run(bob, "/join #rust");
  bob.take();
  const alice = await chat.login("a", "alice");
  assert.deepEqual(joins(bob.take()), [`${LOBBY} alice`]);
  await chat.run(alice, "/join #rust");
  assert.deepEqual(joins(bob.take()), ["#rust alice"]);
  await chat.run(alice, "/leave #rust see you");
  const parted = only(bob.take(), "leave");
  assert.deepEqual(parted.map((f) => [f.room, f.nick, f.reason, f.message]), [
    ["#rust", "alice", "part", "see you"],
  ]);
  chat.hub("a").logout(alice.user, "quit", "bye all");
  await chat.settle();
  const quit = only(bob.take(), "leave");
  assert.deepEqual(quit.map((f) => [f.room, f.nick, f.reason, f.message]), [
    [LOBBY, "alice", "quit", "bye all"],
  ]);
  assert.equal(chat.hub("b").user("alice"), undefined);
  await chat.close();
});

Deno.test("cluster presence: one nick logged in on A and B at once: exactly one login wins", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const [onA, onB] = await Promise.all([chat.attempt("a", "alice"), chat.attempt("b", "ALICE")]);
  await chat.settle();
  const won = [onA, onB].filter((r) => r.ok);
  const lost = [onA, onB].flatMap((r) => r.ok ? [] : [r.error]);
  assert.equal(won.length, 1);
  assert.equal(lost.length, 1);
  assert.equal(lost[0].code, "nick_taken");
  assert.equal(lost[0].fatal, true);
  assert.match(lost[0].message, /in use on another server/);
  // Both nodes agree on who holds it; a later login on either is refused (by the mirror).
  for (const id of ["a", "b"]) assert.ok(chat.hub(id).user("alice") !== undefined);
  for (const id of ["a", "b"]) {
    const again = await chat.attempt(id, "Alice");
    assert.equal(again.ok, false);
    if (!again.ok) assert.equal(again.error.code, "nick_taken");
  }
  await chat.close();
});

Deno.test("cluster presence: a rename frees the old nick cluster-wide and takes the new one", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const bob = await chat.login("b", "bob");
  assert.equal(await chat.hub("a").rename(alice.user, "alicia", "n"), true);
  await chat.settle();
  const told = only(bob.take(), "nick");
  assert.deepEqual(told.map((f) => [f.old, f.new]), [["alice", "alicia"]]);
  assert.equal(chat.cluster.nickHolder(nickKey("alice")), undefined);
  assert.equal(chat.cluster.nickHolder(nickKey("alicia")), "a");
  const taken = await chat.attempt("b", "alicia");
  assert.equal(taken.ok, false);
  // The old nick is free on every node now.
  await chat.login("b", "alice");
  // And a rename on B to a nick A holds is refused, with a sentence.
  assert.equal(await chat.hub("b").rename(bob.user, "alicia", "n2"), false);
  const refused = only(bob.take(), "error");
  assert.deepEqual(refused.map((f) => [f.code, f.ref]), [["nick_taken", "n2"]]);
  await chat.close();
});

Deno.test("cluster presence: a node lost: its users leave B's rooms with node_lost and their nicks free up", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const bob = await chat.login("b", "bob");
  await chat.run(alice, "/join #rust");
  await chat.run(bob, "/join #rust");
  bob.take();
  chat.cluster.kill("a");
  await chat.settle();
  assert.deepEqual(leaves(bob.take()).sort(), [
    "#lobby alice node_lost",
    "#rust alice node_lost",
  ]);
  assert.equal(chat.hub("b").user("alice"), undefined);
  assert.deepEqual(mirrors(chat.hub("b")), []);
  await chat.login("b", "alice");
  await chat.close();
});

Deno.test("cluster presence: --max-users counts this node's users, not other nodes' mirrors", async () => {
  const chat = new ClusterChat(["a", "b"], 1);
  await chat.login("a", "alice");
  await chat.login("b", "bob");
  assert.equal(chat.hub("b").userCount, 2);
  // What the door counts against --max-pending-logins (connections not yet logged in).
  assert.equal(chat.hub("b").localUserCount, 1);
  const full = await chat.attempt("b", "carol");
  assert.equal(full.ok, false);
  if (!full.ok) assert.equal(full.error.code, "server_full");
  await chat.close();
});

Deno.test("cluster presence: a logout frees the nick for another node", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  alice.quit();
  await chat.settle();
  assert.equal(chat.cluster.nickHolder(nickKey("alice")), undefined);
  await chat.login("b", "alice");
  assert.equal(chat.cluster.nickHolder(nickKey("alice")), "b");
  await chat.close();
});

Deno.test("cluster presence: a nick that cannot be claimed (cluster unreachable) is not given", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const bob = await chat.login("b", "bob");
  chat.cluster.fail("connection refused");
  const login = await chat.attempt("a", "alice");
  assert.equal(login.ok, false);
  if (!login.ok) {
    assert.equal(login.error.code, "store_failed");
    assert.match(login.error.message, /could not be checked/);
  }
  assert.equal(await chat.hub("b").rename(bob.user, "robert", "n"), false);
  const refused = only(bob.take(), "error");
  assert.deepEqual(refused.map((f) => [f.code, f.ref]), [["store_failed", "n"]]);
  assert.equal(bob.user.nick, "bob");
  chat.cluster.fail(null);
  await chat.close();
});

Deno.test("cluster presence: a room kick on A puts B's user out of the room on B", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const bob = await chat.login("b", "bob");
  await chat.run(alice, "/join #rust"); // first in: alice is its operator
  await chat.run(bob, "/join #rust");
  bob.take();
  await chat.run(alice, "/kick #rust bob behave");
  const kicked = only(bob.take(), "leave");
  assert.deepEqual(kicked.map((f) => [f.room, f.nick, f.reason, f.by, f.message]), [
    ["#rust", "bob", "kicked_room", "alice", "behave"],
  ]);
  const rust = chat.hub("b").room("#rust");
  assert.ok(rust === undefined || !rust.members.has(bob.user));
  assert.ok(![...bob.user.rooms].some((r) => r.name === "#rust"));
  await chat.close();
});

Deno.test("cluster presence: a topic set on A is shown to B's members", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const bob = await chat.login("b", "bob");
  await chat.run(alice, "/join #rust");
  await chat.run(bob, "/join #rust");
  bob.take();
  await chat.run(alice, "/topic all things rust");
  const topics = only(bob.take(), "topic");
  assert.deepEqual(topics.map((f) => [f.room, f.topic, f.by]), [[
    "#rust",
    "all things rust",
    "alice",
  ]]);
  assert.equal(chat.hub("b").room("#rust")?.topic, "all things rust");
  await chat.close();
});

Deno.test("cluster presence: a node re-joining after its lease was lost re-claims its nicks and closes who lost theirs", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const carol = await chat.login("a", "carol");
  // B declared A lost while A went on (a pause longer than the lease): its leases are gone.
  await chat.hub("b").applyRemote({ node: "a", event: { t: "node_lost", node: "a" } });
  chat.cluster.release("a", nickKey("alice"));
  chat.cluster.release("a", nickKey("carol"));
  assert.deepEqual(mirrors(chat.hub("b")), []);
  // Another node claimed alice meanwhile (its hello not yet here).
  assert.equal(chat.cluster.claim("c", nickKey("alice")), true);
  await chat.hub("a").rejoinCluster();
  await chat.settle();
  const bye = only(alice.take(), "bye");
  assert.deepEqual(bye.map((f) => f.reason), ["replaced"]);
  assert.match(bye[0].message ?? "", /given to someone on another server/);
  assert.equal(alice.sink.closedWith, "replaced");
  assert.equal(alice.user.online, false);
  // carol kept hers, and B mirrors her again.
  assert.equal(chat.cluster.nickHolder(nickKey("carol")), "a");
  assert.equal(chat.hub("b").user("carol")?.node, "a");
  assert.equal(carol.user.online, true);
  await chat.close();
});

Deno.test("cluster presence: a re-join closes the users whose nicks the engine says other nodes hold", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const carol = await chat.login("a", "carol");
  await chat.hub("a").rejoinCluster([nickKey("alice")]);
  await chat.settle();
  assert.equal(alice.sink.closedWith, "replaced");
  assert.equal(carol.user.online, true);
  assert.equal(chat.hub("b").user("alice"), undefined);
  assert.equal(chat.hub("b").user("carol")?.node, "a");
  await chat.close();
});

Deno.test("cluster presence: another node's hello for a nick a user here holds (our claim lapsed) closes ours and mirrors theirs", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const dave = await chat.login("a", "dave");
  // A was cut off longer than the lease: B forgot its users and alice's lease went.
  await chat.hub("b").applyRemote({ node: "a", event: { t: "node_lost", node: "a" } });
  chat.cluster.release("a", nickKey("alice"));
  const other = await chat.login("b", "alice");
  const bye = only(alice.take(), "bye");
  assert.deepEqual(bye.map((f) => f.reason), ["replaced"]);
  assert.equal(alice.sink.closedWith, "replaced");
  assert.equal(chat.hub("a").user("alice")?.node, "b");
  assert.deepEqual(leaves(dave.take()), [`${LOBBY} alice replaced`]);
  // B's alice is not disturbed by the bye A published for its own.
  assert.equal(chat.hub("b").user("alice"), other.user);
  assert.equal(other.user.online, true);
  assert.equal(chat.cluster.nickHolder(nickKey("alice")), "b");
  await chat.close();
});

Deno.test("cluster presence: card changes reach the mirrors once per event; applying them publishes nothing", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const bob = await chat.login("b", "bob");
  const before = chat.cluster.log.length;
  // What the IRC front end does after a login, and an /oper: one card, once.
  alice.user.ident = "al";
  alice.user.operator = true;
  await chat.settle();
  const published = chat.cluster.log.slice(before).flatMap((e) => e.kind === "e" ? [e] : []);
  assert.deepEqual(published.map((e) => [e.node, e.event.t]), [["a", "user"]]);
  const mirror = chat.hub("b").user("alice");
  assert.equal(mirror?.ident, "al");
  assert.equal(mirror?.operator, true);
  // B applied hello, user, join and part of A's without publishing any of them.
  await chat.run(alice, "/join #rust");
  await chat.run(alice, "/leave #rust");
  const fromB = chat.cluster.log.flatMap((e) => e.kind === "e" && e.node === "b" ? [e] : []);
  assert.deepEqual(fromB.map((e) => e.event.t), ["node_up", "hello"]);
  assert.equal(bob.user.node, undefined);
  await chat.close();
});

Deno.test("cluster presence: a registered nick held on A is not taken over from B: nick_taken, saying where", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const key: KeyProof = { source: "sockchat", fingerprint: "SHA256:carolcarolcarol" };
  const carol = await chat.login("a", "carol", key);
  await chat.run(carol, "/register");
  assert.equal(carol.user.verified, true);
  const again = await chat.attempt("b", "carol", new RecordingSink(), key);
  assert.equal(again.ok, false);
  if (!again.ok) {
    assert.equal(again.error.code, "nick_taken");
    assert.match(again.error.message, /only on that server/);
  }
  assert.equal(carol.user.online, true);
  assert.equal(chat.hub("b").user("carol")?.node, "a");
  await chat.close();
});

Deno.test("cluster presence: a node started later learns the users already on the others (node_up)", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  await chat.login("b", "bob");
  await chat.run(alice, "/join #rust");
  chat.add("c");
  await chat.settle();
  assert.deepEqual(mirrors(chat.hub("c")), ["alice", "bob"]);
  const carol = await chat.login("c", "carol");
  await chat.run(carol, "/who #lobby", "w");
  assert.deepEqual([...only(carol.take(), "who")[0].members].sort(), ["alice", "bob", "carol"]);
  assert.equal(chat.hub("c").room("#rust")?.members.size, 1);
  // A node restarted under the same id: the users others still mirror for it are gone.
  await chat.hub("b").applyRemote({ node: "c", event: { t: "node_up", node: "c" } });
  assert.equal(chat.hub("b").user("carol"), undefined);
  await chat.close();
});

Deno.test("cluster presence: /whois on B of a user of A who just spoke shows no idle time", async () => {
  const chat = new ClusterChat(["a", "b"]);
  const alice = await chat.login("a", "alice");
  const bob = await chat.login("b", "bob");
  chat.clock.advance(10 * 60_000);
  alice.say("still here");
  await chat.hub("a").flush();
  await chat.settle();
  bob.take();
  await chat.run(bob, "/whois alice", "i");
  const text = only(bob.take(), "info").map((f) => f.text).join("\n");
  assert.match(text, /alice: here for 10 minutes; in #lobby/);
  await chat.close();
});
