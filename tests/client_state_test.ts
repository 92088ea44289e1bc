import assert from "node:assert/strict";
import { joinMode } from "../client.ts";
import { parseJoinArgs } from "../cli/join_args.ts";
import { UsageError } from "../cli/usage.ts";
import {
  backoffDelay,
  RECONNECT_BASE_MS,
  RECONNECT_MAX_MS,
  shouldReconnect,
  shouldRetryLogin,
} from "../client/reconnect.ts";
import { RoomState } from "../client/room_state.ts";
import { canSuspend } from "../client/job_control.ts";
import { atMost, pause } from "../client/timing.ts";

function welcomed(rooms: string[] = ["#lobby"]): RoomState {
  const state = new RoomState("alice");
  state.apply({
    type: "welcome",
    v: 1,
    nick: "Alice",
    server: "t",
    rooms: rooms.map((room) => ({ room, topic: "", members: ["Alice", "bob"], count: 2 })),
    limits: { maxFrame: 1, maxUsers: 1 },
  });
  return state;
}

Deno.test("room state: our own /join makes the room current; /leave falls back to the lobby", () => {
  const state = welcomed();
  assert.equal(state.nick, "Alice", "the server's spelling wins");
  assert.equal(state.room, "#lobby");
  state.apply({ type: "joined", room: "#rust", topic: "", members: ["Alice"], count: 1, ref: "4" });
  assert.equal(state.room, "#rust");
  // A joined frame that answers nothing of ours (a server-side rejoin) does not move us.
  state.apply({ type: "joined", room: "#go", topic: "", members: ["Alice"], count: 1 });
  assert.equal(state.room, "#rust");
  assert.ok(state.isCurrent("#RUST"));
  state.apply({ type: "parted", room: "#rust", ref: "5" });
  assert.equal(state.room, "#lobby");
  assert.deepEqual(state.rooms.map((r) => r.name), ["#lobby", "#go"]);
});

Deno.test("room state: resume carries the last id seen per room, from messages and acks", () => {
  const state = welcomed(["#lobby", "#rust"]);
  assert.deepEqual(state.resume(), { "#lobby": 0, "#rust": 0 });
  const msg = (room: string, id: number, history = false) => ({
    type: "msg" as const,
    id,
    room,
    from: "bob",
    text: "x",
    ts: 0,
    history,
  });
  state.apply(msg("#lobby", 7, true));
  state.apply(msg("#lobby", 9));
  state.apply({ type: "ack", id: 12, room: "#rust", ts: 0, ref: "1" });
  state.apply({ type: "ack", id: 13, room: "#rust", ts: 0, ref: "2", to: "bob" });
  assert.deepEqual(state.resume(), { "#lobby": 9, "#rust": 12 });
  // /history replays older messages: the mark does not go back.
  state.apply(msg("#lobby", 3, true));
  assert.equal(state.lastSeen("#lobby"), 9);
  // A live message with a lower id means the server's ids restarted: follow it.
  state.apply(msg("#lobby", 2));
  assert.equal(state.lastSeen("#lobby"), 2);
});

Deno.test("room state: members and nick changes feed completion", () => {
  const state = welcomed();
  state.apply({ type: "join", room: "#lobby", nick: "carol", ts: 0 });
  state.apply({ type: "msg", id: 1, room: "#lobby", from: "dave", text: "hi", ts: 0 });
  assert.deepEqual(state.nicks(), ["bob", "carol", "dave"]);
  state.apply({ type: "leave", room: "#lobby", nick: "carol", reason: "quit", ts: 0 });
  state.apply({ type: "nick", old: "bob", new: "robert", ts: 0 });
  state.apply({ type: "nick", old: "alice", new: "alicia", ts: 0, ref: "3" });
  assert.equal(state.nick, "alicia");
  assert.deepEqual(state.nicks(), ["robert", "dave"], "present first, then recent speakers");
  state.apply({ type: "rooms", rooms: [{ room: "#zig", members: 1, topic: "" }] });
  assert.deepEqual(state.roomNames(), ["#lobby", "#zig"]);
});

Deno.test("reconnect: backoff doubles from 0.5 s to a 10 s cap, with bounded jitter", () => {
  const mid = () => 0.5;
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, mid)), [
    500,
    1000,
    2000,
    4000,
    8000,
    10000,
    10000,
  ]);
  assert.equal(backoffDelay(1, () => 0), RECONNECT_BASE_MS * 0.8);
  assert.equal(backoffDelay(1, () => 1), RECONNECT_BASE_MS * 1.2);
  assert.equal(backoffDelay(20, () => 1), RECONNECT_MAX_MS);
});

Deno.test("reconnect: only endings that may pass are retried", () => {
  assert.ok(shouldReconnect({ kind: "lost" }));
  assert.ok(shouldReconnect({ kind: "bye", reason: "shutdown" }));
  assert.ok(shouldReconnect({ kind: "error", code: "ping_timeout" }));
  assert.ok(!shouldReconnect({ kind: "bye", reason: "quit" }));
  assert.ok(!shouldReconnect({ kind: "bye", reason: "banned" }));
  for (const code of ["nick_taken", "server_full", "bad_password", "banned"] as const) {
    assert.ok(!shouldReconnect({ kind: "error", code }), code);
  }
  assert.ok(shouldRetryLogin(undefined), "network trouble");
  assert.ok(shouldRetryLogin("nick_taken"), "our own ghost may still hold the nick");
  assert.ok(!shouldRetryLogin("banned"));
  assert.ok(!shouldRetryLogin("bad_password"));
});

Deno.test("timing: pause ends early on abort, atMost gives up; neither leaves a timer", async () => {
  const controller = new AbortController();
  const waiting = pause(60_000, controller.signal);
  controller.abort();
  assert.equal(await waiting, false);
  assert.equal(await pause(1, new AbortController().signal), true);
  await atMost(new Promise(() => {}), 1);
  await atMost(Promise.resolve(), 60_000);
});

Deno.test("join flags: defaults, NO_COLOR, and the mode chosen from the terminals", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const plain = parseJoinArgs(["-n", "a"], env({}));
  assert.deepEqual(
    [plain.json, plain.color, plain.bell, plain.timestamps, plain.reconnect],
    [false, true, true, undefined, undefined],
  );
  assert.equal(parseJoinArgs(["-n", "a"], env({ NO_COLOR: "1" })).color, false);
  assert.equal(parseJoinArgs(["-n", "a"], env({ NO_COLOR: "" })).color, true);
  const all = parseJoinArgs(
    ["-n", "a", "--no-color", "--no-bell", "--timestamps", "long", "--json", "--reconnect"],
    env({}),
  );
  assert.deepEqual(
    [all.json, all.color, all.bell, all.timestamps, all.reconnect],
    [true, false, false, "long", true],
  );
  assert.equal(parseJoinArgs(["-n", "a", "--no-reconnect"], env({})).reconnect, false);
  assert.throws(() => parseJoinArgs(["-n", "a", "--timestamps", "iso"], env({})), UsageError);
  assert.throws(
    () => parseJoinArgs(["-n", "a", "--reconnect", "--no-reconnect"], env({})),
    UsageError,
  );

  assert.deepEqual(joinMode(plain, true, true), {
    interactive: true,
    color: true,
    timestamps: "short",
    reconnect: true,
  });
  assert.deepEqual(joinMode(plain, false, false), {
    interactive: false,
    color: false,
    timestamps: "none",
    reconnect: false,
  });
  // A terminal on stdin but a pipe on stdout: no line editor, no escapes.
  assert.equal(joinMode(plain, true, false).interactive, false);
  assert.equal(joinMode(plain, true, false).color, false);
  assert.equal(joinMode(all, true, true).interactive, false, "--json is for programs");
});

Deno.test("room state: a room's count comes from the server and follows joins and leaves", () => {
  const state = new RoomState("alice");
  const page = ["a", "b", "alice"];
  state.apply({ type: "joined", room: "#big", topic: "", members: page, count: 5000, ref: "1" });
  const big = () => state.rooms.find((r) => r.name === "#big");
  assert.equal(big()?.count, 5000);
  assert.equal(big()?.members.size, 3);
  state.apply({ type: "join", room: "#big", nick: "zed", ts: 0 });
  state.apply({ type: "join", room: "#big", nick: "ZED", ts: 0 }); // the same nick: not counted
  assert.equal(big()?.count, 5001);
  // Someone beyond the page leaves: the count falls, the page stays.
  state.apply({ type: "leave", room: "#big", nick: "unlisted", reason: "quit", ts: 0 });
  assert.equal(big()?.count, 5000);
  assert.equal(big()?.members.size, 4);
  state.apply({ type: "who", room: "#big", members: ["a", "alice"] });
  assert.equal(big()?.count, 2);
});

Deno.test("room state: Tab offers present users, then live speakers; replay and quits add none", () => {
  const state = welcomed();
  // /join's replay brings back people who left long ago: they are not worth completing.
  state.apply({
    type: "msg",
    id: 1,
    room: "#lobby",
    from: "ghost",
    text: "old",
    ts: 0,
    history: true,
  });
  state.apply({ type: "msg", id: 2, room: "#lobby", from: "zed", text: "live", ts: 0 });
  state.apply({ type: "dm", id: 9, from: "carl", to: "Alice", text: "psst", ts: 0 });
  assert.deepEqual(state.present(), ["bob"]);
  assert.deepEqual(state.recentSpeakers(), ["carl", "zed"], "most recent first");
  assert.deepEqual(state.nicks(), ["bob", "carl", "zed"]);
  // Leaving the server (not just a room) forgets a speaker; a part does not.
  state.apply({ type: "leave", room: "#lobby", nick: "zed", reason: "part", ts: 0 });
  assert.deepEqual(state.recentSpeakers(), ["carl", "zed"]);
  state.apply({ type: "leave", room: "#lobby", nick: "zed", reason: "quit", ts: 0 });
  assert.deepEqual(state.recentSpeakers(), ["carl"]);
  // A speaker who is present is offered once, among the present.
  state.apply({ type: "msg", id: 3, room: "#lobby", from: "bob", text: "hi", ts: 0 });
  assert.deepEqual(state.nicks(), ["bob", "carl"]);
});

Deno.test("job control: Ctrl-Z suspends only when no task runner (deno task, npm) is known to be the job", () => {
  assert.equal(canSuspend(() => undefined), true);
  const deno = { npm_config_user_agent: "deno/2.9.6 npm/? deno/2.9.6 linux x86_64" };
  assert.equal(canSuspend((name) => (deno as Record<string, string>)[name]), false);
  assert.equal(canSuspend((name) => (name === "npm_lifecycle_event" ? "join" : undefined)), false);
});
