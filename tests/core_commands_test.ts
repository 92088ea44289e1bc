/**
 * The command table without sockets: dispatch, usage on wrong arguments, /help generated from
 * the table, and what each everyday command asks of the transport.
 */

import assert from "node:assert/strict";
import { CoreHarness, one, only, types } from "./helpers/core.ts";
import { COMMANDS } from "../core/commands/chat.ts";
import { MAX_IGNORES } from "../config/limits.ts";

Deno.test("core commands: /help lists every command in the table, with its usage", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/help", "h");
  const help = one(alice.take(), "info");
  assert.equal(help.ref, "h");
  for (const spec of COMMANDS) assert.ok(help.text.includes(spec.usage), spec.usage);
});

Deno.test("core commands: an unknown command says so and points to /help", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/frobnicate now", "u");
  const error = one(alice.take(), "error");
  assert.deepEqual([error.code, error.message, error.ref], [
    "unknown_command",
    "Unknown command /frobnicate. Try /help.",
    "u",
  ]);
});

Deno.test("core commands: wrong arguments get the usage line", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  for (const [line, usage] of [["/join", "/join #room [KEY]"], ["/msg bob", "/msg NICK text"]]) {
    alice.run(line);
    assert.equal(one(alice.take(), "error").message, `Usage: ${usage}`);
  }
});

Deno.test("core commands: names are case-insensitive", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/WHO");
  assert.deepEqual(types(alice.take()), ["who"]);
});

Deno.test("core commands: /join makes the room current; /leave leaves the current room", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/join #rust");
  assert.equal(alice.room, "#rust");
  alice.take();
  alice.run("/leave");
  assert.equal(one(alice.take(), "parted").room, "#rust");
  assert.ok(alice.user.rooms.has(chat.hub.room("#lobby")!));
});

Deno.test("core commands: /quit asks the transport to close", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  assert.deepEqual(alice.run("/quit"), { quit: true });
});

Deno.test("core commands: /me sends an action to the current room", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  alice.run("/me waves");
  chat.flush();
  const msg = one(bob.take(), "msg");
  assert.deepEqual([msg.text, msg.action], ["waves", true]);
  assert.equal(chat.store.recent("#lobby", 1).messages[0].action, true);
});

Deno.test("core commands: /ignore with no nick lists whom you ignore", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  alice.run("/ignore");
  assert.equal(one(alice.take(), "info").text, "* You ignore nobody.");
  alice.run("/ignore somebody");
  alice.run("/ignore");
  assert.equal(only(alice.take(), "info").at(-1)?.text, "* You ignore: somebody");
});

Deno.test(`core commands: at most ${MAX_IGNORES} nicks may be ignored`, () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  for (let i = 0; i < MAX_IGNORES; i++) alice.run(`/ignore n${i}`);
  alice.take();
  alice.run("/ignore one-more");
  assert.match(one(alice.take(), "error").message, /at most 100 nicks/);
});

Deno.test("core commands: operator commands refuse everyone else", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  chat.login("bob");
  for (const line of ["/kill bob", "/ban bob", "/unban bob", "/bans", "/mute bob", "/unmute bob"]) {
    alice.run(line);
    assert.equal(one(alice.take(), "error").code, "not_operator", line);
  }
});
