/**
 * History replay and resume without sockets: what a join, /history and a resuming login replay,
 * the gap frames that say what was left out (by a count, the replay budget, retention or the
 * address's read budget), and what each read is charged.
 */

import { NDJSON } from "../protocol/ndjson/encode.ts";
import assert from "node:assert/strict";
import {
  CoreHarness,
  FakeReadBudget,
  one,
  only,
  type Peer,
  START_MS,
  types,
} from "./helpers/core.ts";
import { Outgoing } from "../protocol/outgoing.ts";

/** Says each text in `room` and commits them; returns their ids. */
function sayAll(chat: CoreHarness, peer: Peer, texts: string[], room = "#lobby"): number[] {
  for (const text of texts) peer.say(text, room);
  chat.flush();
  return only(peer.take(), "ack").map((a) => a.id);
}

/** Bytes one replayed message takes on the wire (what the replay budget counts). */
function replayedBytes(id: number, text: string, from = "alice"): number {
  return new Outgoing({
    type: "msg",
    id,
    room: "#lobby",
    from,
    text,
    ts: START_MS,
    history: true,
  }).encode(NDJSON).length;
}

Deno.test("core replay: joining a room replays its recent history after the joined frame", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/join #rust");
  sayAll(chat, alice, ["one", "two"], "#rust");
  const bob = chat.login("bob");
  bob.run("/join #rust");
  const frames = bob.take();
  assert.deepEqual(types(frames), ["joined", "msg", "msg"]);
  assert.deepEqual(only(frames, "msg").map((m) => [m.text, m.history]), [["one", true], [
    "two",
    true,
  ]]);
});

Deno.test("core replay: a room with more than the replay count says how many were left out", () => {
  const chat = new CoreHarness({ historyReplay: 2 });
  const alice = chat.login("alice");
  sayAll(chat, alice, ["one", "two", "three"]);
  const bob = chat.login("bob", {}, true);
  const frames = bob.take();
  assert.deepEqual(types(frames), ["welcome", "gap", "msg", "msg"]);
  assert.equal(one(frames, "gap").missed, 1);
  assert.deepEqual(only(frames, "msg").map((m) => m.text), ["two", "three"]);
});

Deno.test("core replay: /history N replays the last N and says where it ends", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  sayAll(chat, alice, ["one", "two", "three"]);
  alice.run("/history 2", "h");
  const frames = alice.take();
  assert.deepEqual(types(frames), ["gap", "msg", "msg", "info"]);
  assert.deepEqual(only(frames, "msg").map((m) => m.text), ["two", "three"]);
  assert.equal(one(frames, "info").text, "* End of history for #lobby (2 messages).");
  assert.equal(one(frames, "info").ref, "h");
});

Deno.test("core replay: /history with a bad count shows the usage", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  for (const line of ["/history 0", "/history 501", "/history many"]) {
    alice.run(line);
    assert.equal(one(alice.take(), "error").code, "bad_command", line);
  }
});

Deno.test("core replay: the replay budget keeps the newest messages and counts the rest in a gap", () => {
  const chat0 = new CoreHarness();
  const probe = chat0.login("alice");
  const [first] = sayAll(chat0, probe, ["x"]);
  // Budget for exactly two replayed messages of this size.
  const budget = 2 * replayedBytes(first + 3, "message 3");
  const chat = new CoreHarness({ replayBudgetBytes: budget });
  const alice = chat.login("alice");
  sayAll(chat, alice, ["message 1", "message 2", "message 3", "message 4"]);
  alice.run("/history 4");
  const frames = alice.take();
  assert.equal(one(frames, "gap").missed, 2);
  assert.deepEqual(only(frames, "msg").map((m) => m.text), ["message 3", "message 4"]);
});

Deno.test("core replay: what the user's queue already holds comes out of the replay budget", () => {
  const chat = new CoreHarness({ replayBudgetBytes: 1000 });
  const alice = chat.login("alice");
  sayAll(chat, alice, ["one", "two"]);
  alice.sink.queuedBytes = 1000;
  alice.run("/history 2");
  const frames = alice.take();
  assert.equal(one(frames, "gap").missed, 2);
  assert.deepEqual(only(frames, "msg"), []);
});

// --- resume ---

Deno.test("core resume: a login after an id replays only what came after it, with no gap", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const [, two] = sayAll(chat, alice, ["one", "two", "three", "four"]);
  const bob = chat.login("bob", { resume: { "#lobby": two } }, true);
  const frames = bob.take();
  assert.deepEqual(types(frames), ["welcome", "msg", "msg"]);
  assert.deepEqual(only(frames, "msg").map((m) => m.text), ["three", "four"]);
});

Deno.test("core resume: it rejoins the rooms named (each once, whatever its case), not the lobby", () => {
  const chat = new CoreHarness();
  const bob = chat.login("bob", { resume: { "#Rust": 0, "#rust": 0, "#go": 0, "bad": 0 } }, true);
  const welcome = one(bob.take(), "welcome");
  assert.deepEqual(welcome.rooms.map((r) => r.room), ["#Rust", "#go"]);
  assert.equal(chat.hub.room("#lobby")?.members.size, 0);
});

Deno.test("core resume: across messages dropped by retention, a gap says some were missed", () => {
  const chat = new CoreHarness({ retention: 2 });
  const alice = chat.login("alice");
  const [one_] = sayAll(chat, alice, ["one", "two", "three", "four"]);
  const bob = chat.login("bob", { resume: { "#lobby": one_ } }, true);
  const frames = bob.take();
  assert.deepEqual(types(frames), ["welcome", "gap", "msg", "msg"]);
  assert.ok(one(frames, "gap").missed >= 1);
  assert.deepEqual(only(frames, "msg").map((m) => m.text), ["three", "four"]);
});

Deno.test("core resume: every room resumed shares one replay budget", () => {
  const size = replayedBytes(1, "abc");
  const chat = new CoreHarness({ replayBudgetBytes: 3 * size + 10 });
  const alice = chat.login("alice");
  alice.run("/join #a");
  alice.run("/join #b");
  sayAll(chat, alice, ["a-1", "a-2"], "#a");
  sayAll(chat, alice, ["b-1", "b-2"], "#b");
  const bob = chat.login("bob", { resume: { "#a": 0, "#b": 0 } }, true);
  const frames = bob.take();
  assert.equal(only(frames, "msg").length, 3);
  assert.deepEqual(only(frames, "gap").map((g) => [g.room, g.missed]), [["#b", 1]]);
});

// --- the per-address read budget ---

Deno.test("core reads: each read is charged to the address, at what the store read", () => {
  const reads = new FakeReadBudget();
  const chat = new CoreHarness({ historyReads: reads });
  const alice = chat.login("alice", { address: "198.51.100.1" });
  sayAll(chat, alice, ["one", "two"]);
  reads.charges.length = 0;
  alice.run("/history 2");
  const expected = chat.store.recent("#lobby", 2).bytes;
  assert.deepEqual(reads.charges, [{ address: "198.51.100.1", bytes: expected }]);
});

Deno.test("core reads: an address whose budget is spent gets rate_limited, not history", () => {
  const reads = new FakeReadBudget();
  const chat = new CoreHarness({ historyReads: reads });
  const alice = chat.login("alice", { address: "198.51.100.1" });
  sayAll(chat, alice, ["one"]);
  reads.allowance.set("198.51.100.1", 0);
  alice.run("/history 5", "h");
  assert.deepEqual(alice.take().map((f) => f.type === "error" ? [f.code, f.ref] : f.type), [[
    "rate_limited",
    "h",
  ]]);
});

Deno.test("core reads: a small allowance reads only that much, and the rest is a gap", () => {
  const reads = new FakeReadBudget();
  const chat = new CoreHarness({ historyReads: reads });
  const alice = chat.login("alice", { address: "198.51.100.1" });
  const [, , three] = sayAll(chat, alice, ["one", "two", "three"]);
  // Enough for the newest message both as read from the store and as sent.
  const oneRow = Math.max(chat.store.recent("#lobby", 1).bytes, replayedBytes(three, "three"));
  reads.allowance.set("198.51.100.1", oneRow);
  alice.run("/history 3");
  const frames = alice.take();
  assert.deepEqual(only(frames, "msg").map((m) => m.text), ["three"]);
  assert.equal(one(frames, "gap").missed, 2);
});

Deno.test({
  // Core bug: the hub passes one number, min(replay budget, read allowance), both to the store
  // as `maxBytes` (counted in stored-row bytes) and to replay() as its budget (counted in NDJSON
  // bytes, about 40 more per message). When the read allowance binds, rows are read and charged
  // to the address and then cut from the replay: here the address pays for "three" and gets a
  // gap instead. Un-ignore once both sides count the same bytes.
  name: "core reads: a message the address is charged for reading is replayed",
  fn() {
    const reads = new FakeReadBudget();
    const chat = new CoreHarness({ historyReads: reads });
    const alice = chat.login("alice", { address: "198.51.100.1" });
    sayAll(chat, alice, ["one", "two", "three"]);
    reads.allowance.set("198.51.100.1", chat.store.recent("#lobby", 1).bytes);
    alice.run("/history 3");
    assert.deepEqual(only(alice.take(), "msg").map((m) => m.text), ["three"]);
  },
});

Deno.test("core reads: a resume loop from one address is charged, then replays nothing", () => {
  const reads = new FakeReadBudget();
  const chat = new CoreHarness({ historyReads: reads });
  const alice = chat.login("alice");
  const address = "198.51.100.9";
  const [one_, two] = sayAll(chat, alice, ["one", "two"]);
  reads.allowance.set(address, replayedBytes(one_, "one") + replayedBytes(two, "two"));
  const first = chat.login("r1", { address, resume: { "#lobby": 0 } }, true);
  assert.equal(only(first.take(), "msg").length, 2);
  const second = chat.login("r2", { address, resume: { "#lobby": 0 } }, true);
  const frames = second.take();
  assert.deepEqual(only(frames, "msg"), []);
  assert.equal(one(frames, "gap").missed, 2);
});
