/**
 * Issue 12, the chat core's part, without sockets: /ignore applies to history (/history, /join),
 * self-DMs and no-op renames, refusals that say what to type, counts in the singular, the
 * /quit reason in the room's leave notice, and mute notices. See tests/helpers/core.ts.
 */

import assert from "node:assert/strict";
import { CoreHarness, one, only, type Peer, types } from "./helpers/core.ts";
import { MAX_HISTORY_REQUEST } from "../config/store_limits.ts";
import { PRESENCE_BURST, PRESENCE_WINDOW_MS } from "../config/limits.ts";

/** Says each text as `peer`, in `room`, and commits them. */
function sayAll(chat: CoreHarness, peer: Peer, texts: string[], room = "#lobby"): void {
  for (const text of texts) peer.say(text, room);
  chat.flush();
}

// --- defect 2: /ignore applies to history ---

Deno.test("core issue 12: /history leaves out the messages of people you ignore, and says so", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  const carol = chat.login("carol");
  sayAll(chat, bob, ["b1"]);
  sayAll(chat, carol, ["c1"]);
  sayAll(chat, bob, ["b2"]);
  alice.run("/ignore bob");
  chat.clear(alice, bob, carol);
  alice.run("/history 10", "h");
  const frames = alice.take();
  assert.deepEqual(types(frames), ["msg", "info"], "no gap: hiding is not a cut");
  assert.deepEqual(only(frames, "msg").map((m) => m.text), ["c1"]);
  assert.equal(
    one(frames, "info").text,
    "* End of history for #lobby (1 message; 2 messages from people you ignore hidden).",
  );
});

Deno.test("core issue 12: /join replays no messages of people you ignore", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  const carol = chat.login("carol");
  bob.run("/join #rust");
  carol.run("/join #rust");
  sayAll(chat, bob, ["from bob"], "#rust");
  sayAll(chat, carol, ["from carol"], "#rust");
  alice.run("/ignore bob");
  alice.take();
  alice.run("/join #rust");
  const frames = alice.take();
  assert.deepEqual(types(frames), ["joined", "msg"]);
  assert.equal(one(frames, "msg").from, "carol");
});

Deno.test("core issue 12: history hides an ignored nick nobody holds, and a followed person's new nick", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const troll = chat.login("troll");
  const bob = chat.login("bob");
  sayAll(chat, troll, ["spam"]);
  troll.quit();
  alice.run("/ignore troll"); // nobody holds it now
  alice.run("/ignore bob"); // online: followed through renames
  bob.run("/nick bobby");
  sayAll(chat, bob, ["as bobby"]);
  sayAll(chat, alice, ["mine"]);
  alice.take();
  alice.run("/history 10");
  assert.deepEqual(only(alice.take(), "msg").map((m) => m.text), ["mine"]);
});

Deno.test("core issue 12: hidden history costs none of the queue's replay budget", () => {
  // 430 bytes: the store reads all three messages (64 + text + nick + room bytes each), but
  // as frames on the wire, bob's two and carol's do not fit together.
  const chat = new CoreHarness({ replayBudgetBytes: 430 });
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  const carol = chat.login("carol");
  sayAll(chat, carol, ["s"]);
  sayAll(chat, bob, ["x".repeat(100), "y".repeat(100)]);
  alice.run("/ignore bob");
  alice.take();
  alice.run("/history 10");
  const frames = alice.take();
  assert.deepEqual(types(frames), ["msg", "info"], "no gap: carol's message was not cut");
  assert.equal(one(frames, "msg").text, "s");
});

Deno.test("core issue 12: a hidden message counts towards /history N, as the room's last N", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  const carol = chat.login("carol");
  sayAll(chat, carol, ["c1", "c2"]);
  sayAll(chat, bob, ["b1"]);
  alice.run("/ignore bob");
  alice.take();
  alice.run("/history 2");
  const frames = alice.take();
  assert.deepEqual(only(frames, "msg").map((m) => m.text), ["c2"]);
  assert.equal(one(frames, "gap").missed, 1, "c1 is older than the last 2");
});

// --- defect 9: self-DMs and no-op renames ---

Deno.test("core issue 12: a direct message to yourself is refused once, whatever its case", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  for (const nick of ["alice", "ALICE"]) {
    alice.run(`/msg ${nick} hi`, "d");
    const frames = alice.take();
    assert.deepEqual(types(frames), ["error:bad_command"], nick);
    assert.equal(one(frames, "error").message, "That is you: /msg sends to someone else.");
    assert.equal(one(frames, "error").ref, "d");
  }
});

Deno.test("core issue 12: /nick with the nick you have tells nobody else; a change of case does", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  chat.clear(alice, bob);
  alice.run("/nick alice", "n");
  assert.deepEqual(bob.take(), []);
  assert.deepEqual(alice.take(), [{ type: "info", text: "* You are already alice.", ref: "n" }]);
  alice.run("/nick Alice", "c");
  assert.deepEqual(one(bob.take(), "nick"), {
    type: "nick",
    old: "alice",
    new: "Alice",
    ts: chat.clock.now(),
  });
  assert.equal(one(alice.take(), "nick").ref, "c");
});

// --- defect 12: refusals that say what to type ---

Deno.test("core issue 12: /history past the maximum says the maximum; 0 says the minimum", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/history 9999", "h");
  const tooMany = one(alice.take(), "error");
  assert.equal(tooMany.code, "bad_command");
  assert.equal(
    tooMany.message,
    `/history replays at most ${MAX_HISTORY_REQUEST} messages: /history ${MAX_HISTORY_REQUEST}.`,
  );
  assert.equal(tooMany.ref, "h");
  alice.run("/history 0");
  assert.equal(
    one(alice.take(), "error").message,
    "Ask for at least 1 message, as in /history 20.",
  );
  // A negative number is told the minimum too; a word is told what N is.
  alice.run("/history -5");
  assert.equal(
    one(alice.take(), "error").message,
    "Ask for at least 1 message, as in /history 20.",
  );
  alice.run("/history abc");
  assert.equal(
    one(alice.take(), "error").message,
    `N is a number of messages, from 1 to ${MAX_HISTORY_REQUEST}: /history 20.`,
  );
});

Deno.test("core issue 12: room commands assume the # that was left out", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  assert.equal(alice.run("/join rust").room, "#rust");
  assert.equal(one(alice.take(), "joined").room, "#rust");
  alice.run("/who rust");
  assert.equal(one(alice.take(), "who").room, "#rust");
  alice.run("/leave rust");
  assert.equal(one(alice.take(), "parted").room, "#rust");
  // A name that is wrong after the # is still refused in words.
  alice.run("/join bad!name");
  assert.equal(one(alice.take(), "error").code, "room_invalid");
});

Deno.test("core issue 12: counts are worded in the singular for one", () => {
  const chat = new CoreHarness({ maxUsers: 1 });
  const alice = chat.login("alice");
  assert.equal(chat.refusal("bob").message, "The server is full (1 user). Try again later.");
  sayAll(chat, alice, ["only"]);
  alice.run("/history");
  assert.equal(one(alice.take(), "info").text, "* End of history for #lobby (1 message).");
});

// --- silent events: /quit reason, mutes ---

Deno.test("core issue 12: /quit REASON reaches the room's leave notice, not those ignoring the quitter", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  const carol = chat.login("carol");
  carol.run("/ignore alice");
  chat.clear(alice, bob, carol);
  assert.deepEqual(alice.run("/quit off to\nbed "), { quit: true });
  assert.equal(alice.user.online, false);
  const leave = one(bob.take(), "leave");
  assert.deepEqual(leave, {
    type: "leave",
    room: "#lobby",
    nick: "alice",
    reason: "quit",
    ts: chat.clock.now(),
    message: "off to bed",
  });
  const bare = one(carol.take(), "leave");
  assert.equal(bare.message, undefined);
  assert.equal(bare.reason, "quit");
  // The transport's own logout, when the connection closes, finds alice gone.
  alice.quit();
  assert.deepEqual(bob.take(), []);
});

Deno.test("core issue 12: /quit without a reason sends no message field; a muted user's is not told", () => {
  const chat = new CoreHarness();
  const op = chat.operator("op");
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  chat.clear(op, alice, bob);
  alice.run("/quit");
  assert.equal("message" in one(bob.take(), "leave"), false);
  op.run("/mute bob");
  op.take();
  bob.run("/quit still talking");
  assert.deepEqual(op.take(), []);
});

Deno.test("core issue 12: a quit reason held by presence coalescing is told when the window ends", () => {
  const chat = new CoreHarness();
  const watcher = chat.login("watcher");
  const quitter = chat.login("quitter");
  // Spend the lobby's burst of presence lines.
  for (let i = 0; i < PRESENCE_BURST; i++) chat.login(`guest${i}`);
  watcher.take();
  quitter.run("/quit bye all");
  assert.deepEqual(watcher.take(), [], "held");
  chat.advance(PRESENCE_WINDOW_MS);
  chat.tick();
  assert.equal(one(watcher.take(), "leave").message, "bye all");
});

Deno.test("core issue 12: a muted user is told at once, and again when unmuted", () => {
  const chat = new CoreHarness();
  const op = chat.operator("op");
  const bob = chat.login("bob");
  bob.take();
  op.run("/mute bob 10m");
  assert.deepEqual(bob.take(), [{
    type: "info",
    text: "* op muted you for 10m: you can read, but not speak.",
  }]);
  op.run("/unmute bob");
  assert.deepEqual(bob.take(), [{
    type: "info",
    text: "* op unmuted you: you may speak again.",
  }]);
  op.run("/mute bob");
  assert.equal(
    one(bob.take(), "info").text,
    "* op muted you until an operator unmutes you: you can read, but not speak.",
  );
});

Deno.test("core issue 12: a mute by address tells everyone it silences, and the unmute them too", () => {
  const chat = new CoreHarness();
  const op = chat.operator("op");
  const bob = chat.login("bob", { address: "203.0.113.7" });
  const bob2 = chat.login("bob2", { address: "203.0.113.7" });
  const carol = chat.login("carol");
  chat.clear(bob, bob2, carol);
  op.run("/mute bob");
  assert.equal(types(bob.take()).join(), "info");
  assert.equal(types(bob2.take()).join(), "info");
  assert.deepEqual(carol.take(), []);
  op.run("/unmute bob");
  assert.equal(types(bob.take()).join(), "info");
  assert.equal(types(bob2.take()).join(), "info");
});

Deno.test("core issue 12: /ignore of yourself is refused, so your own history stays visible", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  sayAll(chat, alice, ["mine"]);
  alice.run("/ignore ALICE", "i");
  const refused = one(alice.take(), "error");
  assert.deepEqual([refused.code, refused.message, refused.ref], [
    "bad_command",
    "That is you: /ignore hides someone else.",
    "i",
  ]);
  alice.run("/history 5");
  assert.deepEqual(only(alice.take(), "msg").map((m) => m.text), ["mine"]);
});
