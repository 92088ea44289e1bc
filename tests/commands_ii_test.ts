/**
 * Issue 12, "What ssh-chat and devzat users would miss", the chat core's part, without sockets:
 * /away and /back (in /who, /whois and to whoever sends a DM), /reply and /r, /users paged and
 * filtered, /motd at login and on demand, /uptime and /version. See tests/helpers/core.ts.
 */

import assert from "node:assert/strict";
import { CoreHarness, one, RecordingSink, settled, START_MS, types } from "./helpers/core.ts";
import { AWAY_MAX_LENGTH, USERS_PAGE_SIZE } from "../config/limits.ts";
import { Hub } from "../core/hub.ts";
import { BanList } from "../core/moderation.ts";
import { runCommand } from "../core/commands/chat.ts";
import { PROTOCOL_VERSION } from "../protocol/frames.ts";
import { MemoryHistory } from "../store/memory/history.ts";

// --- /away and /back ---

Deno.test("commands ii: a DM to an away user tells the sender once per away spell", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  chat.clear(alice, bob);
  bob.run("/away  at \u202Elunch\n ", "a");
  assert.equal(one(bob.take(), "info").text, "* You are away: at lunch (/back when you return)");
  // Those sharing a room hear it as an `away` frame (IRC away-notify; NDJSON does not send it).
  assert.deepEqual(one(alice.take(), "away").message, "at lunch");
  alice.run("/msg bob hi", "m1");
  const first = alice.take();
  assert.deepEqual(types(first), ["ack", "info"]);
  assert.deepEqual([one(first, "info").text, one(first, "info").ref], [
    "* bob is away: at lunch",
    undefined,
  ], "a notice; the ack is the command's one answer");
  alice.run("/msg bob still there?");
  assert.deepEqual(types(alice.take()), ["ack"], "told once, not on every message");
  assert.deepEqual(types(bob.take()), ["dm", "dm"], "the messages still arrive");
  // A new /away is a new spell: the sender hears the new message.
  bob.run("/away");
  bob.take();
  assert.equal(one(alice.take(), "away").message, "");
  alice.run("/msg bob and now?");
  assert.equal(one(alice.take(), "info").text, "* bob is away.");
  bob.run("/back");
  assert.equal(one(bob.take(), "info").text, "* Welcome back.");
  assert.equal(one(alice.take(), "away").message, null);
  alice.run("/msg bob back?");
  assert.deepEqual(types(alice.take()), ["ack"]);
  bob.run("/back");
  assert.equal(one(bob.take(), "info").text, "* You were not away.");
  assert.deepEqual(types(alice.take()), [], "no news when nothing changed");
});

Deno.test("commands ii: speaking does not end an away spell; only /back does", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  bob.run("/away gone");
  bob.say("one last thing");
  chat.flush();
  alice.take();
  alice.run("/msg bob hey");
  assert.equal(one(alice.take(), "info").text, "* bob is away: gone");
});

Deno.test("commands ii: an away message may have AWAY_MAX_LENGTH characters, not one more", () => {
  const chat = new CoreHarness();
  const bob = chat.login("bob");
  const longest = "é".repeat(AWAY_MAX_LENGTH);
  bob.run(`/away ${longest}x`);
  assert.deepEqual(
    [one(bob.take(), "error").message, bob.user.away],
    [`An away message may have at most ${AWAY_MAX_LENGTH} characters.`, null],
  );
  bob.run(`/away ${longest}`);
  assert.equal(bob.user.away, longest, "counted in characters, not bytes");
});

Deno.test("commands ii: /who names the away members; /whois says why", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  chat.login("carol");
  chat.clear(alice);
  alice.run("/who");
  assert.deepEqual(types(alice.take()), ["who"], "no away line when nobody is away");
  bob.run("/away lunch");
  bob.run("/join #rust");
  chat.clock.advance(3 * 60_000 + 5_000);
  alice.take(); // bob's away frame
  alice.run("/who", "w");
  const who = alice.take();
  assert.deepEqual(types(who), ["who", "info"]);
  assert.deepEqual([one(who, "info").text, one(who, "info").ref], [
    "* Away in #lobby: bob (/whois NICK for why)",
    undefined,
  ], "a notice; the who frame is the command's one answer");
  alice.run("/whois BOB");
  assert.equal(
    one(alice.take(), "info").text,
    "* bob: here for 3 minutes, 5 seconds (idle 3 minutes, 5 seconds); in #lobby, #rust\n" +
      "* bob is not registered\n* bob is away: lunch",
  );
  alice.run("/whois carol");
  assert.equal(
    one(alice.take(), "info").text,
    "* carol: here for 3 minutes, 5 seconds (idle 3 minutes, 5 seconds); in #lobby\n" +
      "* carol is not registered",
  );
  alice.run("/whois nobody");
  assert.equal(one(alice.take(), "error").code, "no_such_user");
  alice.run("/whois");
  assert.equal(one(alice.take(), "error").message, "Usage: /whois NICK");
});

// --- /reply and /r ---

Deno.test("commands ii: /reply and /r answer the last DM's sender, through a rename", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  const carol = chat.login("carol");
  bob.run("/reply hello?", "r0");
  const none = one(bob.take(), "error");
  assert.deepEqual([none.code, none.message, none.ref], [
    "bad_command",
    "Nobody has sent you a direct message yet: /msg NICK text starts a conversation.",
    "r0",
  ]);
  alice.run("/msg bob hi");
  carol.run("/msg bob psst");
  bob.run("/reply hi carol");
  assert.equal(one(carol.take(), "dm").text, "hi carol", "the last sender, not the first");
  alice.run("/msg bob again");
  alice.run("/nick alicia");
  bob.take();
  bob.run("/r got it");
  const dm = one(alice.take(), "dm");
  assert.deepEqual([dm.to, dm.text], ["alicia", "got it"]);
  bob.run("/r");
  assert.equal(one(bob.take(), "error").message, "Usage: /reply text");
});

Deno.test("commands ii: /reply to a sender who left says so, even if another took the nick", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  alice.run("/msg bob hi");
  alice.quit();
  bob.take();
  bob.run("/reply bye", "r");
  const gone = one(bob.take(), "error");
  assert.deepEqual([gone.code, gone.message], [
    "no_such_user",
    "alice has left since their message; /msg alice text reaches whoever has that nick now.",
  ]);
  const impostor = chat.login("alice");
  bob.run("/r secret");
  assert.equal(one(bob.take(), "error").code, "no_such_user");
  assert.deepEqual(types(impostor.take()), [], "never sent to a new holder of the nick");
});

Deno.test("commands ii: a DM from someone you ignore is not remembered for /reply", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const troll = chat.login("troll");
  const bob = chat.login("bob");
  chat.clear(troll);
  alice.run("/msg bob hi");
  bob.run("/ignore troll");
  troll.run("/msg bob boo");
  bob.take();
  bob.run("/r hi alice");
  assert.equal(one(alice.take(), "dm").text, "hi alice");
  assert.deepEqual(types(troll.take()), ["ack"]);
});

// --- /users ---

Deno.test("commands ii: /users lists everyone sorted, counted, one page at most", () => {
  const chat = new CoreHarness({ maxUsers: 1000 });
  const me = chat.login("Zed");
  chat.login("amy");
  chat.login("Bob");
  me.run("/users", "u");
  const small = one(me.take(), "info");
  assert.deepEqual([small.text, small.ref], ["* 3 users on the server: amy, Bob, Zed", "u"]);
  // Exactly one page: no paging.
  for (let i = 3; i < USERS_PAGE_SIZE; i++) chat.login(`u${String(i).padStart(3, "0")}`);
  me.run("/users");
  const full = one(me.take(), "info").text;
  assert.match(full, new RegExp(`^\\* ${USERS_PAGE_SIZE} users on the server: amy, Bob, u003,`));
  assert.ok(!full.includes("more"), full);
  me.run("/users 2");
  assert.equal(
    one(me.take(), "error").message,
    `There is only 1 page of users (${USERS_PAGE_SIZE} users): /users 1.`,
  );
  // One more than a page: two pages, the second with one nick.
  chat.login("yan");
  me.run("/users");
  const first = one(me.take(), "info").text.split("\n");
  assert.equal(first.length, 2);
  assert.equal(first[0].split(", ").length, USERS_PAGE_SIZE);
  assert.match(first[0], /^\* 101 users on the server \(page 1 of 2\): amy, Bob,/);
  assert.equal(first[1], "* ...and 1 more: /users 2 for the next page.");
  me.run("/users 2");
  assert.equal(one(me.take(), "info").text, "* 101 users on the server (page 2 of 2): Zed");
  me.run("/users 0");
  assert.equal(one(me.take(), "error").message, "Pages start at 1: /users 1.");
  me.run("/users 3");
  assert.equal(
    one(me.take(), "error").message,
    "There are only 2 pages of users (101 users): /users 2.",
  );
  me.run("/users 1 2");
  assert.equal(one(me.take(), "error").message, "Usage: /users [PAGE|PREFIX]");
});

Deno.test("commands ii: /users PREFIX lists the nicks that start with it, case folded", () => {
  const chat = new CoreHarness({ maxUsers: 1000 });
  const me = chat.login("me");
  chat.login("Alice");
  chat.login("alan");
  chat.login("bob");
  me.run("/users AL");
  assert.equal(one(me.take(), "info").text, "* 2 users whose nick starts with AL: alan, Alice");
  me.run("/users zz");
  assert.equal(one(me.take(), "info").text, "* Nobody's nick starts with zz.");
  for (let i = 0; i < USERS_PAGE_SIZE + 2; i++) chat.login(`x${i}`);
  me.run("/users x");
  const lines = one(me.take(), "info").text.split("\n");
  assert.equal(lines[0].split(", ").length, USERS_PAGE_SIZE);
  assert.equal(lines[1], "* ...and 2 more: type more of the nick.");
});

// --- /motd, /uptime, /version ---

/** A hub like the harness's, with a message of the day. */
function hubWithMotd(motd: string): Hub {
  const store = new MemoryHistory();
  return new Hub({
    maxUsers: 10,
    maxFrame: 65536,
    serverName: "sockchat/9.9.9",
    store,
    replayBudgetBytes: 1 << 18,
    bans: new BanList(store.moderation),
    now: () => START_MS,
    motd,
  });
}

Deno.test("commands ii: the message of the day follows the welcome, and /motd repeats it", () => {
  const hub = hubWithMotd("Be kind.\nNo spam.\n\n");
  const sink = new RecordingSink();
  const result = settled(hub.login(sink, { version: PROTOCOL_VERSION, nick: "alice" }));
  if (!result.ok) throw new Error(result.error.message);
  const frames = sink.take();
  assert.deepEqual(types(frames).slice(0, 2), ["welcome", "info"]);
  assert.equal(frames[1].type === "info" && frames[1].text, "Be kind.\nNo spam.");
  settled(runCommand(hub, result.user, "/motd", "#lobby", "m"));
  const again = one(sink.take(), "info");
  assert.deepEqual([again.text, again.ref], ["Be kind.\nNo spam.", "m"]);
});

Deno.test("commands ii: without a message of the day, login shows none and /motd says so", () => {
  const chat = new CoreHarness();
  const { sink } = chat.tryLogin("alice");
  assert.ok(!types(sink.take()).includes("info"));
  const alice = chat.login("bob");
  alice.run("/motd");
  assert.equal(one(alice.take(), "info").text, "* No message of the day.");
  alice.run("/motd now");
  assert.equal(one(alice.take(), "error").message, "Usage: /motd");
});

Deno.test("commands ii: /uptime counts from the hub's start; /version names the server", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/uptime");
  assert.equal(one(alice.take(), "info").text, "* Up for 0 seconds (since 2023-11-14 22:13 UTC).");
  chat.clock.advance(2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000);
  alice.run("/uptime", "u");
  const up = one(alice.take(), "info");
  assert.deepEqual([up.text, up.ref], [
    "* Up for 2 days, 3 hours (since 2023-11-14 22:13 UTC).",
    "u",
  ]);
  alice.run("/version");
  assert.equal(one(alice.take(), "info").text, "* This server runs sockchat-test.");
});

Deno.test("commands ii: /help lists the new commands and /r", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/help");
  const help = one(alice.take(), "info").text;
  for (
    const usage of ["/away [message]", "/back", "/whois NICK", "/reply text", "/users", "/motd"]
  ) {
    assert.ok(help.includes(usage), usage);
  }
  assert.ok(help.includes("/uptime") && help.includes("/version") && help.includes("/r text"));
});
