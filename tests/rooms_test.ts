import assert from "node:assert/strict";
import { command, JsonClient, plainLogin, plainUntil, testServer } from "./helpers/wire.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { COMMANDS } from "../core/commands/chat.ts";

type Frame<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

Deno.test("rooms are isolated: a message in #rust reaches only #rust", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  const carol = await JsonClient.login(server, "carol");
  const joined = await command(alice, "/join #rust") as Frame<"joined">;
  assert.deepEqual([joined.type, joined.room, joined.members], ["joined", "#rust", ["alice"]]);
  await command(bob, "/join #Rust"); // case-insensitive: the same room
  const join = await alice.expect("join");
  assert.deepEqual([join.room, join.nick], ["#rust", "bob"]);
  await alice.send({ type: "msg", room: "#rust", text: "rustaceans only" });
  const got = await bob.expect("msg");
  assert.deepEqual([got.room, got.text], ["#rust", "rustaceans only"]);
  // Carol is only in the lobby: the next thing she sees is a lobby message, not the #rust one.
  await bob.send({ type: "msg", room: "#lobby", text: "lobby again" });
  let frame = await carol.next();
  while (frame?.type === "join" || frame?.type === "leave") frame = await carol.next();
  assert.equal((frame as Frame<"msg">).text, "lobby again");
  // Carol cannot speak in a room she is not in.
  await carol.send({ type: "msg", room: "#rust", text: "sneaky", ref: "s" });
  const error = await carol.expect("error");
  assert.deepEqual([error.code, error.ref], ["not_in_room", "s"]);
  for (const c of [alice, bob, carol]) c.close();
  await server.shutdown();
});

Deno.test("direct messages are seen only by their recipient, from NDJSON and netcat alike", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  const eve = await JsonClient.login(server, "eve");
  const nc = await plainLogin(server, "ncuser");
  const ack = await command(alice, "/msg bob the secret is 42") as Frame<"ack">;
  assert.deepEqual([ack.type, ack.to], ["ack", "bob"]);
  const dm = await bob.expect("dm");
  assert.deepEqual([dm.from, dm.to, dm.text, dm.id], ["alice", "bob", "the secret is 42", ack.id]);
  // From netcat to NDJSON, and from NDJSON to netcat.
  await nc.write("/msg alice psst from nc\n");
  const fromNc = await alice.expect("dm");
  assert.deepEqual([fromNc.from, fromNc.text], ["ncuser", "psst from nc"]);
  await command(bob, "/msg ncuser hello nc");
  assert.equal(await plainUntil(nc, /^\[dm\]/), "[dm] <bob> hello nc");
  // Eve saw none of it: her next frame is this public message.
  await bob.send({ type: "msg", text: "public" });
  let frame = await eve.next();
  while (frame?.type === "join") frame = await eve.next();
  assert.deepEqual([frame?.type, (frame as Frame<"msg">).text], ["msg", "public"]);
  assert.equal((await command(alice, "/msg nobody hi") as Frame<"error">).code, "no_such_user");
  for (const c of [alice, bob, eve, nc]) c.close();
  await server.shutdown();
});

Deno.test("every command works from an NDJSON client", async (t) => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  await alice.expect("join");

  await t.step("/help is generated from the command table", async () => {
    const info = await command(alice, "/help") as Frame<"info">;
    for (const spec of COMMANDS) assert.ok(info.text.includes(spec.usage), spec.usage);
  });
  await t.step("/join and /who and /rooms", async () => {
    assert.equal((await command(alice, "/join #Dev")).type, "joined");
    const who = await command(alice, "/who", "#Dev") as Frame<"who">;
    assert.deepEqual([who.room, who.members], ["#Dev", ["alice"]]);
    const rooms = await command(alice, "/rooms") as Frame<"rooms">;
    assert.deepEqual(
      rooms.rooms.map((r) => [r.room, r.members]).sort(),
      [["#Dev", 1], ["#lobby", 2]],
    );
  });
  await t.step("/topic sets and shows, and the room hears it", async () => {
    await command(bob, "/join #dev");
    await alice.expect("join");
    const set = await command(alice, "/topic Deno things", "#dev") as Frame<"topic">;
    assert.deepEqual([set.type, set.topic, set.by], ["topic", "Deno things", "alice"]);
    assert.equal((await bob.expect("topic")).topic, "Deno things");
    const shown = await command(bob, "/topic", "#dev") as Frame<"topic">;
    assert.equal(shown.topic, "Deno things");
    const rooms = await command(bob, "/rooms") as Frame<"rooms">;
    assert.equal(rooms.rooms.find((r) => r.room === "#Dev")?.topic, "Deno things");
  });
  await t.step("/me is an action, acknowledged like a message", async () => {
    const ack = await command(alice, "/me waves", "#dev");
    assert.equal(ack.type, "ack");
    const msg = await bob.expect("msg");
    assert.deepEqual([msg.text, msg.action, msg.room], ["waves", true, "#Dev"]);
  });
  await t.step("/nick renames and tells the rooms", async () => {
    const mine = await command(alice, "/nick alicia") as Frame<"nick">;
    assert.deepEqual([mine.old, mine.new], ["alice", "alicia"]);
    const seen = await bob.expect("nick");
    assert.deepEqual([seen.old, seen.new], ["alice", "alicia"]);
    assert.equal((await command(alice, "/nick BOB") as Frame<"error">).code, "nick_taken");
    assert.equal((await command(alice, "/nick Alicia")).type, "nick", "own nick in another case");
  });
  await t.step("/history replays the room", async () => {
    await bob.send({ type: "msg", room: "#dev", text: "one" });
    await bob.send({ type: "msg", room: "#dev", text: "two" });
    await alice.expect("msg");
    await alice.expect("msg");
    await alice.send({ type: "cmd", line: "/history 2", room: "#dev", ref: "h" });
    const first = await alice.expect("msg");
    const second = await alice.expect("msg");
    assert.deepEqual([first.text, first.history, second.text], ["one", true, "two"]);
    const end = await alice.expect("info");
    assert.equal(end.ref, "h");
  });
  await t.step("/leave parts the room and tells it", async () => {
    const parted = await command(alice, "/leave", "#dev") as Frame<"parted">;
    assert.deepEqual([parted.type, parted.room], ["parted", "#Dev"]);
    const leave = await bob.expect("leave");
    assert.deepEqual([leave.nick, leave.reason], ["Alicia", "part"]);
  });
  await t.step("unknown commands and bad arguments get usage, never broadcast", async () => {
    const unknown = await command(alice, "/dance wildly") as Frame<"error">;
    assert.equal(unknown.code, "unknown_command");
    assert.match(unknown.message, /Try \/help/);
    const bad = await command(alice, "/join") as Frame<"error">;
    assert.deepEqual([bad.code, bad.message], ["bad_command", "Usage: /join #room [KEY]"]);
    // A bare word is a room (the # is assumed), so only a bad name is refused.
    const badRoom = await command(alice, "/join no!good") as Frame<"error">;
    assert.equal(badRoom.code, "room_invalid");
    assert.equal((await command(alice, "/history lots") as Frame<"error">).code, "bad_command");
    assert.equal((await command(alice, "/msg bob") as Frame<"error">).code, "bad_command");
  });
  await t.step("/quit leaves", async () => {
    await alice.send({ type: "cmd", line: "/quit", room: "#lobby" });
    await alice.expectEof();
    const leave = await bob.expect("leave");
    assert.deepEqual([leave.nick, leave.reason], ["Alicia", "quit"]);
  });
  alice.close();
  bob.close();
  await server.shutdown();
});

Deno.test("every command works from a plain-text client", async () => {
  const server = testServer();
  const watcher = await JsonClient.login(server, "watcher");
  const nc = await plainLogin(server, "nc");
  await watcher.expect("join");

  await nc.write("/help\n");
  for (const spec of COMMANDS) {
    assert.match(
      await plainUntil(nc, /^\* {3}\//),
      new RegExp(`^\\*   ${spec.usage.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
    );
  }
  await nc.write("/join #ops\n");
  assert.match(await plainUntil(nc, /^\* You are in/), /#ops/);
  await command(watcher, "/join #ops");
  await nc.write("now in ops\n"); // lines go to the current room
  const msg = await watcher.expect("msg");
  assert.deepEqual([msg.room, msg.text], ["#ops", "now in ops"]);
  await nc.write("/me nods\n");
  assert.deepEqual([(await watcher.expect("msg")).action], [true]);
  await nc.write("/topic ops stuff\n");
  assert.equal(await plainUntil(nc, /set the topic/), "* nc set the topic of #ops: ops stuff");
  await nc.write("/who\n");
  assert.match(await plainUntil(nc, /^\* In #ops:/), /nc/);
  await nc.write("/rooms\n");
  assert.match(await plainUntil(nc, /#ops \(2\)/), /ops stuff/);
  await nc.write("/history 5\n");
  assert.match(await plainUntil(nc, /^\(history\)/), /now in ops/);
  await nc.write("/nick netcat\n");
  assert.equal(await plainUntil(nc, /known as/), "* nc is now known as netcat");
  await nc.write("/bogus\n");
  assert.match(await plainUntil(nc, /^! /), /^! unknown_command: Unknown command \/bogus/);
  await nc.write("/msg\n");
  assert.equal(await plainUntil(nc, /^! /), "! bad_command: Usage: /msg NICK text");
  await nc.write("//slash at the start\n");
  assert.equal((await watcher.expect("msg")).text, "/slash at the start");
  await nc.write("/leave\n");
  assert.equal(await plainUntil(nc, /You left/), "* You left #ops.");
  await nc.write("/quit\n");
  await nc.expectEof();
  watcher.close();
  nc.close();
  await server.shutdown();
});
