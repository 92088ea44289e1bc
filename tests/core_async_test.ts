/**
 * The core over a store that answers later, as a network engine will: one round trip per
 * batch, nothing acknowledged or relayed before its commit, events kept in order while the hub
 * waits, and a peer's frames held behind a login that waits for the store.
 */

import assert from "node:assert/strict";
import { MAX_BATCH_TEXT } from "../config/limits.ts";
import { Serial } from "../core/awaitable.ts";
import { Hub } from "../core/hub.ts";
import { BanList } from "../core/moderation.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { DelayedHistory } from "../store/memory/delayed.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { Peer } from "../transport/peer.ts";
import { RecordingSink } from "./helpers/core.ts";
import { MemoryLink, ndjsonOnly, testPeerOptions } from "./helpers/memory_link.ts";
import { eventually } from "./helpers/wire.ts";

function remoteHub(delayMs = 2, memory = new MemoryHistory()) {
  const store = new DelayedHistory(memory, delayMs);
  const hub = new Hub({
    maxUsers: 100,
    maxFrame: 65536,
    serverName: "sockchat-test",
    store,
    replayBudgetBytes: 1 << 18,
    bans: new BanList(memory.moderation, { mutes: memory.moderation }),
  });
  return { hub, store };
}

async function login(hub: Hub, nick: string) {
  const sink = new RecordingSink();
  const result = await hub.login(sink, { version: 1, nick, address: `198.51.100.${nick.length}` });
  assert.ok(result.ok);
  sink.take();
  return { user: result.user, sink };
}

const texts = (frames: ServerFrame[]) => frames.flatMap((f) => (f.type === "msg" ? [f.text] : []));

Deno.test("over a remote store a batch is one round trip, and nothing is acked or relayed before it commits", async () => {
  const { hub, store } = remoteHub();
  const alice = await login(hub, "alice");
  const bob = await login(hub, "bob");
  alice.sink.take(); // bob's join
  const before = store.appends;
  for (let i = 0; i < 10; i++) hub.say(alice.user, "#lobby", `m${i}`, `r${i}`);
  await Promise.resolve(); // the flush has started: the commit is on its way
  assert.deepEqual(texts(bob.sink.take()), [], "nothing relayed before the commit");
  assert.deepEqual(alice.sink.take(), [], "nothing acked before the commit");
  await hub.flush();
  await eventually(() => bob.sink.frames().length > 0, "the relay");
  assert.equal(store.appends - before, 1, "one append for the whole batch");
  assert.deepEqual(texts(bob.sink.take()), Array.from({ length: 10 }, (_, i) => `m${i}`));
  assert.deepEqual(alice.sink.take().map((f) => f.type === "ack" && f.ref), [
    ...Array.from({ length: 10 }, (_, i) => `r${i}`),
  ]);
});

Deno.test("a join that waits for its history read is not overtaken: the joiner gets each message once, in order", async () => {
  const { hub } = remoteHub();
  const alice = await login(hub, "alice");
  await hub.join(alice.user, "#rust");
  const carol = await login(hub, "carol");
  hub.say(alice.user, "#rust", "before");
  const joined = hub.join(carol.user, "#rust"); // waits for "before" to commit, then reads
  hub.say(alice.user, "#rust", "during"); // queued behind the join
  await joined;
  await hub.flush();
  await eventually(() => texts(carol.sink.frames()).includes("during"), "the live message");
  assert.deepEqual(texts(carol.sink.take()), ["before", "during"]);
});

Deno.test("a peer's frames after its hello wait for a login that waits for the store", async () => {
  const { hub } = remoteHub();
  const link = new MemoryLink();
  const peer = new Peer(link, testPeerOptions(hub), ndjsonOnly);
  const running = peer.run();
  // In one read: the hello, then a message straight away, as a pipelining client sends them.
  link.sendLine({ type: "hello", v: 1, nick: "eager" });
  link.sendLine({ type: "msg", text: "right after hello", ref: "m" });
  await eventually(() => link.frames().some((f) => f.type === "ack"), "the ack");
  assert.deepEqual(link.frames().map((f) => f.type), ["welcome", "ack"]);
  link.end();
  await running;
});

Deno.test("Serial runs at once while idle, and in order behind a pending operation", async () => {
  const serial = new Serial();
  assert.equal(serial.run(() => 1), 1, "synchronous when nothing waits");
  const order: string[] = [];
  let release = () => {};
  const first = serial.run(() => new Promise<void>((resolve) => (release = resolve)));
  const second = serial.run(() => order.push("second"));
  const third = serial.run(() => order.push("third"));
  assert.deepEqual(order, [], "held behind the first");
  assert.equal(serial.waiting, 2);
  release();
  await Promise.all([first, second, third]);
  assert.deepEqual(order, ["second", "third"]);
  assert.equal(serial.run(() => "idle again"), "idle again");
});

Deno.test("over a remote store, a user who leaves hears nothing more, and the room hears their last words before the leave", async () => {
  const { hub } = remoteHub();
  const alice = await login(hub, "alice");
  const bob = await login(hub, "bob");
  alice.sink.take();
  hub.say(bob.user, "#lobby", "last words");
  await Promise.resolve(); // the commit is on its way
  hub.logout(bob.user, "quit");
  assert.equal(hub.user("bob"), undefined, "the nick is free at once");
  await hub.flush();
  await eventually(() => alice.sink.frames().some((f) => f.type === "leave"), "the leave");
  assert.deepEqual(
    alice.sink.take().map((f) => f.type === "msg" ? f.text : f.type),
    ["last words", "leave"],
    "the message first, then the leave",
  );
});

Deno.test("over a remote store, an event that waited for the store does nothing for a user who left meanwhile", async () => {
  const { hub } = remoteHub();
  const alice = await login(hub, "alice");
  const bob = await login(hub, "bob");
  hub.say(alice.user, "#lobby", "holds the queue");
  await Promise.resolve();
  const renamed = hub.rename(bob.user, "robert"); // waits for the commit
  const joined = hub.join(bob.user, "#rust");
  hub.logout(bob.user, "dropped");
  assert.equal(await renamed, false);
  assert.equal(await joined, null);
  assert.equal(hub.user("robert"), undefined, "no ghost registered under the new nick");
  assert.equal(hub.user("bob"), undefined);
  assert.equal(hub.userCount, 1);
  assert.equal(hub.room("#rust"), undefined, "the room was never made for them");
});

Deno.test("over a remote store, a new room's first member is told its saved topic", async () => {
  const memory = new MemoryHistory();
  memory.setTopic("#rust", "kept topic");
  const { hub } = remoteHub(2, memory);
  const alice = await login(hub, "alice");
  await hub.join(alice.user, "#rust");
  const joined = alice.sink.take().find((f) => f.type === "joined");
  assert.equal(joined?.type === "joined" && joined.topic, "kept topic");
  // A login that resumes the room is welcomed with it too. (Alice stays: an unclaimed room
  // that empties forgets its topic, issue 15.)
  const bob = new RecordingSink();
  const result = await hub.login(bob, { version: 1, nick: "bob", resume: { "#rust": 0 } });
  assert.ok(result.ok);
  const welcome = bob.take().find((f) => f.type === "welcome");
  assert.equal(welcome?.type === "welcome" && welcome.rooms[0].topic, "kept topic");
});

Deno.test("a connection that ends while its login waits for the store leaves no user behind", async () => {
  const { hub } = remoteHub(200);
  const link = new MemoryLink();
  const peer = new Peer(link, testPeerOptions(hub), ndjsonOnly);
  const running = peer.run();
  link.sendLine({ type: "hello", v: 1, nick: "brief" });
  await eventually(() => hub.user("brief") !== undefined, "the login to start");
  assert.equal(link.frames().length, 0, "the welcome waits for the store");
  peer.finish("dropped", false); // before the history read answers
  await running;
  await eventually(() => hub.userCount === 0, "the login to end in a logout");
  assert.equal(hub.user("brief"), undefined);
});

Deno.test("a batch holds at most MAX_BATCH_TEXT of text; the rest is the next batch, in order", async () => {
  const { hub, store } = remoteHub();
  const alice = await login(hub, "alice");
  const bob = await login(hub, "bob");
  bob.sink.take();
  const quarter = "q".repeat(MAX_BATCH_TEXT / 4);
  // Exactly the limit: one append.
  let before = store.appends;
  for (let i = 0; i < 4; i++) hub.say(alice.user, "#lobby", quarter);
  await hub.flush();
  assert.equal(store.appends - before, 1, "exactly MAX_BATCH_TEXT is one batch");
  // One character more: two appends, the messages still relayed in the order said.
  before = store.appends;
  for (let i = 0; i < 4; i++) hub.say(alice.user, "#lobby", quarter);
  hub.say(alice.user, "#lobby", "z");
  await hub.flush();
  await eventually(() => texts(bob.sink.frames()).includes("z"), "the second batch");
  assert.equal(store.appends - before, 2, "past the limit, the rest waits for the next batch");
  assert.deepEqual(texts(bob.sink.take()).map((t) => t[0]), [..."qqqqqqqqz"]);
});

Deno.test("an event waits for every message said before it, however many batches they take", async () => {
  const { hub } = remoteHub();
  const alice = await login(hub, "alice");
  const bob = await login(hub, "bob");
  bob.sink.take();
  const quarter = "q".repeat(MAX_BATCH_TEXT / 4);
  for (let i = 0; i < 4; i++) hub.say(alice.user, "#lobby", quarter);
  hub.say(alice.user, "#lobby", "z"); // the second batch
  await hub.rename(alice.user, "alicia");
  await hub.flush();
  assert.deepEqual(
    bob.sink.take().map((f) => (f.type === "msg" ? f.text[0] : f.type)),
    ["q", "q", "q", "q", "z", "nick"],
    "the rename after both batches",
  );
});
