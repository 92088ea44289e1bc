/**
 * Claimed rooms (issue 15): `/register #room` needs a verified room operator; a claimed room
 * keeps its topic, modes, bans and operators while empty and across a restart (a SQLite file,
 * reopened); `/unregister #room` by its owner or a server operator; unregistering an account
 * drops its claims and its place on other claims.
 */

import assert from "node:assert/strict";
import { nickKey } from "../core/nick.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { MAX_CLAIMS_PER_ACCOUNT } from "../config/limits.ts";
import { CoreHarness, one, only } from "./helpers/core.ts";
import { Chat, Member } from "./helpers/claims_chat.ts";

Deno.test("room claims: /register #room needs a verified account that operates the room", async () => {
  const chat = new Chat(new MemoryHistory(), "#rust");
  const guest = await chat.login("guest");
  await guest.run("/join #guests");
  assert.deepEqual(Member.codes(await guest.run("/register #guests")), ["not_registered"]);
  const alice = await chat.verified("alice");
  const bob = await chat.verified("bob");
  await alice.run("/join #rust");
  await bob.run("/join #rust");
  assert.deepEqual(Member.codes(await bob.run("/register #rust")), ["not_room_operator"]);
  assert.deepEqual(Member.codes(await bob.run("/register #elsewhere")), ["not_in_room"]);
  const claimed = await alice.run("/register #rust");
  assert.match(one(claimed, "info").text, /#rust is yours now/);
  assert.equal(chat.store.claims.load()[0].owner, nickKey("alice"), "the account, folded");
  assert.deepEqual(Member.codes(await alice.run("/register #rust")), ["room_claimed"]);
  // A server operator who is verified may claim a room they do not operate.
  const oper = await chat.verified("oper");
  await oper.run("/oper opensesame");
  await oper.run("/join #rust");
  assert.deepEqual(Member.codes(await oper.run("/register #rust")), ["room_claimed"]);
});

Deno.test("room claims: an account claims at most MAX_CLAIMS_PER_ACCOUNT rooms", async () => {
  const chat = new Chat(new MemoryHistory(), "#rust");
  const alice = await chat.verified("alice");
  for (let i = 0; i < MAX_CLAIMS_PER_ACCOUNT; i++) {
    await alice.run(`/join #r${i}`);
    assert.deepEqual(Member.codes(await alice.run(`/register #r${i}`)), []);
  }
  await alice.run("/join #one-more");
  assert.deepEqual(Member.codes(await alice.run("/register #one-more")), ["bad_command"]);
});

Deno.test("room claims: a claimed room keeps topic, modes, bans and operators while empty", async () => {
  const chat = new Chat(new MemoryHistory(), "#rust");
  const alice = await chat.verified("alice");
  const bob = await chat.verified("bob");
  const carol = await chat.login("carol");
  await alice.run("/join #rust");
  await bob.run("/join #rust");
  await alice.run("/register #rust");
  await alice.run("/topic borrow checking");
  await alice.run("/mode +tk sesame");
  await alice.run("/mode +b mallory");
  await alice.run("/op bob");
  await alice.run("/leave #rust");
  await bob.run("/leave #rust");
  assert.equal(chat.hub.room("#rust"), undefined, "the empty room is forgotten from memory");
  // carol comes first: she is not op (the room is claimed), needs the key, sees the topic.
  assert.deepEqual(Member.codes(await carol.run("/join #rust")), ["room_bad_key"]);
  const joined = one(await carol.run("/join #rust sesame"), "joined");
  assert.deepEqual([joined.topic, joined.modes, joined.ops], [
    "borrow checking",
    "+ntk",
    undefined,
  ]);
  assert.deepEqual(Member.codes(await carol.run("/topic mine")), ["not_room_operator"]);
  // bob is op again by account, and alice as its owner; the ban held.
  assert.deepEqual(one(await bob.run("/join #rust sesame"), "joined").ops, ["bob"]);
  await alice.run("/join #rust sesame");
  assert.match(one(await alice.run("/mode +b"), "info").text, /mallory!\*@\*/);
});

Deno.test("room claims: a claimed room keeps topic, modes, bans and operators across a restart (SQLite)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/chat.db`;
  try {
    const first = new SqliteHistory({ path, retention: 1000, upkeepIntervalMs: 0 });
    {
      const chat = new Chat(first, "#rust");
      const alice = await chat.verified("alice");
      const bob = await chat.verified("bob");
      const dave = await chat.verified("dave");
      await alice.run("/join #rust");
      await bob.run("/join #rust");
      await dave.run("/join #rust");
      await alice.run("/register #rust");
      await alice.run("/topic kept across restarts");
      await alice.run("/mode +tml 50");
      await alice.run("/mode +b 203.0.113.0/24");
      await alice.run("/op bob");
      await alice.run("/voice dave");
      chat.hub.shutdown();
    }
    first.close();
    const second = new SqliteHistory({ path, retention: 1000, upkeepIntervalMs: 0 });
    try {
      const chat = new Chat(second, "#rust");
      const carol = await chat.login("carol");
      const joined = one(await carol.run("/join #rust"), "joined");
      assert.deepEqual(
        [joined.topic, joined.modes, joined.ops],
        ["kept across restarts", "+ntml", undefined],
      );
      assert.match(one(await carol.run("/mode"), "info").text, /\+ntml 50 \(claimed\)/);
      const bob = await chat.login("bob");
      assert.ok(bob.user.verified, "bob's key account came back too");
      assert.deepEqual(one(await bob.run("/join #rust"), "joined").ops, ["bob"]);
      const dave = await chat.login("dave");
      assert.deepEqual(one(await dave.run("/join #rust"), "joined").voiced, ["dave"]);
      assert.match(one(await bob.run("/mode +b"), "info").text, /203\.0\.113\.0\/24/);
      chat.hub.shutdown();
    } finally {
      second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("room claims: /unregister #room by its owner or a server operator; then the room forgets when empty", async () => {
  const chat = new Chat(new MemoryHistory(), "#rust");
  const alice = await chat.verified("alice");
  const bob = await chat.verified("bob");
  await alice.run("/join #rust");
  await bob.run("/join #rust");
  await alice.run("/register #rust");
  await alice.run("/op bob");
  assert.deepEqual(Member.codes(await bob.run("/unregister #rust")), ["not_room_operator"]);
  assert.deepEqual(Member.codes(await bob.run("/unregister #nothing")), ["room_not_claimed"]);
  assert.match(one(await alice.run("/unregister #rust"), "info").text, /no longer claimed/);
  assert.deepEqual(chat.store.claims.load(), []);
  await alice.run("/mode +m");
  await alice.run("/leave #rust");
  await bob.run("/leave #rust");
  const joined = one(await bob.run("/join #rust"), "joined");
  assert.deepEqual([joined.modes, joined.ops], [undefined, ["bob"]]);
  // A server operator may release anyone's claim.
  await bob.run("/register #rust");
  const oper = await chat.login("oper");
  await oper.run("/oper opensesame");
  assert.match(one(await oper.run("/unregister #rust"), "info").text, /no longer claimed/);
});

Deno.test("room claims: unregistering an account drops its claims and its place on others'", async () => {
  const chat = new Chat(new MemoryHistory(), "#rust");
  const alice = await chat.verified("alice");
  const bob = await chat.verified("bob");
  await alice.run("/join #rust");
  await bob.run("/join #rust");
  await alice.run("/register #rust");
  await alice.run("/op bob");
  await bob.run("/join #go");
  await bob.run("/register #go");
  await bob.run("/op alice", "#go");
  assert.deepEqual(chat.store.claims.load().find((c) => c.room === "#go")?.ops, [nickKey("bob")]);
  await alice.run("/join #go");
  await bob.run("/op alice", "#go");
  assert.deepEqual(chat.store.claims.load().find((c) => c.room === "#go")?.ops, [
    nickKey("bob"),
    nickKey("alice"),
  ]);
  await alice.run("/unregister");
  const left = chat.store.claims.load();
  assert.deepEqual(left.map((c) => c.room), ["#go"], "alice's #rust is released");
  assert.deepEqual(left[0].ops, [nickKey("bob")], "alice is off bob's #go");
});

Deno.test("room claims: the harness hub keeps claims in memory by default (no store given)", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/join #rust");
  alice.run("/register #rust");
  assert.deepEqual(only(alice.take(), "error").map((e) => e.code), ["not_registered"]);
});

Deno.test("room claims: a SQLite row edited by hand brings in no key, limit, ban or list the core would refuse", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/chat.db`;
  try {
    const store = new SqliteHistory({ path, retention: 1000, upkeepIntervalMs: 0 });
    store.claims.save({
      roomKey: "#rust",
      room: "#rust",
      owner: "alice",
      modes: {
        t: true,
        m: false,
        i: false,
        key: "has space",
        limit: 0,
        bans: [
          { mask: "Bob", by: "x", at: 1 },
          { mask: "bob!*@*", by: "x", at: 1 },
        ],
      },
      ops: ["alice", "", 5 as unknown as string],
      voices: [],
      created: 1,
    });
    const [record] = store.claims.load();
    assert.deepEqual(record.modes, {
      t: true,
      m: false,
      i: false,
      key: null,
      limit: null,
      bans: [{ mask: "bob!*@*", by: "x", at: 1 }],
    });
    assert.deepEqual(record.ops, ["alice"]);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
