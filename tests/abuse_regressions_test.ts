/**
 * Holes a hostile review found, each pinned by a test: resume floods, duplicate rooms, unbounded
 * ignore lists, mutes and bans that could be sidestepped, unsanitised operator reasons, password
 * guessing, an over-long /rooms, and a CRLF split at the frame limit.
 */

import assert from "node:assert/strict";
import { MAX_AUTH_FAILURES, MAX_IGNORES, MAX_ROOMS_LISTED } from "../config/limits.ts";
import { FrameDecoder } from "../protocol/frame_decoder.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { command, eventually, hello, JsonClient, LineSocket, testServer } from "./helpers/wire.ts";

const code = (frame: ServerFrame) => (frame.type === "error" ? frame.code : frame.type);

Deno.test("resuming many busy rooms shares one replay budget: gaps, not a disconnect or a ghost", async () => {
  const server = testServer({ flood: null, maxQueueBytes: 256 * 1024 });
  const writer = await JsonClient.login(server, "writer");
  const resume: Record<string, number> = {};
  for (let r = 0; r < 10; r++) {
    await command(writer, `/join #busy${r}`);
    let batch = "";
    for (let i = 0; i < 100; i++) {
      batch += JSON.stringify({ type: "msg", room: `#busy${r}`, text: "x".repeat(2000) }) + "\n";
    }
    await writer.write(batch);
    for (let i = 0; i < 100; i++) await writer.expect("ack");
    resume[`#busy${r}`] = 0;
  }
  const back = await hello(server.addr.port, { nick: "back", resume });
  const welcome = await back.expect("welcome");
  assert.equal(welcome.rooms.length, 10);
  let gaps = 0;
  let replayed = 0;
  // Everything before the answer to this command is the replay.
  await back.send({ type: "cmd", line: "/who", room: "#busy9", ref: "end" });
  for (let f = await back.next(); f !== null && !(f.type === "who"); f = await back.next()) {
    if (f.type === "gap") gaps++;
    if (f.type === "msg" && f.history) replayed++;
  }
  assert.ok(gaps > 0, "the budget cut the replay and said so");
  assert.ok(replayed > 0 && replayed < 1000);
  assert.equal(server.hub.userCount, 2);
  back.close();
  await writer.expect("leave");
  assert.equal(server.hub.userCount, 1, "no ghost is left behind");
  writer.close();
  await server.shutdown();
});

Deno.test("a resume naming one room twice (in different case) joins it once", async () => {
  const server = testServer();
  const a = await hello(server.addr.port, { nick: "a", resume: { "#x": 0, "#X": 0 } });
  const welcome = await a.expect("welcome");
  assert.deepEqual(welcome.rooms.map((r) => r.room), ["#x"]);
  assert.equal(server.hub.room("#x")?.members.size, 1);
  a.close();
  await server.shutdown();
});

Deno.test("ignore lists take only nicks, and only so many", async () => {
  const server = testServer({ flood: null });
  const a = await JsonClient.login(server, "a");
  assert.equal(code(await command(a, `/ignore ${"z".repeat(60_000)}`)), "bad_command");
  for (let i = 0; i < MAX_IGNORES; i++) await command(a, `/ignore n${i}`);
  assert.equal(code(await command(a, "/ignore onemore")), "bad_command");
  a.close();
  await server.shutdown();
});

Deno.test("a mute outlives a reconnect and covers /topic; /nick cannot take a banned nick", async () => {
  const server = testServer({ operSecret: { matches: (c) => c === "s" } });
  const op = await JsonClient.login(server, "op");
  await command(op, "/oper s");
  let loud = await JsonClient.login(server, "loud");
  await command(op, "/mute loud 10m");
  assert.equal(code(await command(loud, "/topic shouting")), "muted");
  loud.close();
  // (A muted user leaves in silence: wait for the server, not for a leave frame.)
  await eventually(() => server.hub.userCount === 1, "loud to leave");
  loud = await JsonClient.login(server, "loud");
  assert.equal(code(await command(loud, "/me is back")), "muted", "reconnecting did not lift it");
  await command(op, "/unmute loud");
  assert.equal(code(await command(loud, "/me is back")), "ack");
  await command(op, "/ban villain 1h");
  assert.equal(code(await command(loud, "/nick Villain")), "banned");
  op.close();
  loud.close();
  await server.shutdown();
});

Deno.test("operator reasons are sanitised before the target's terminal sees them", async () => {
  const server = testServer({ operSecret: { matches: (c) => c === "s" } });
  const op = await JsonClient.login(server, "op");
  await command(op, "/oper s");
  const nc = await LineSocket.connect(server);
  await nc.write("target\n");
  await nc.readUntilText("/quit leaves.\r\n");
  await command(op, "/kick target \x1b[2J\x1b]0;pwned\x07 go");
  let line = await nc.readLine();
  while (line !== null && !line.startsWith("! bye")) line = await nc.readLine();
  assert.equal(line, "! bye: You were kicked by op: go");
  op.close();
  nc.close();
  await server.shutdown();
});

Deno.test("an address that keeps guessing the password is locked out", async () => {
  const server = testServer({ password: { matches: (c) => c === "right" } });
  for (let i = 0; i < MAX_AUTH_FAILURES; i++) {
    const guess = await hello(server.addr.port, { nick: `g${i}`, password: `wrong${i}` });
    assert.equal((await guess.expect("error")).message, "Wrong password.");
    guess.close();
  }
  const right = await hello(server.addr.port, { nick: "r", password: "right" });
  const locked = await right.expect("error");
  assert.equal(locked.code, "bad_password");
  assert.match(locked.message, /Too many wrong passwords from your address; try again in \d+ s/);
  right.close();
  await server.shutdown();
});

Deno.test("/rooms lists the busiest rooms and says how many more there are", async () => {
  const server = testServer({ flood: null, maxConnsPerIp: 100 });
  const users = await Promise.all(
    Array.from({ length: 5 }, (_, i) => JsonClient.login(server, `u${i}`)),
  );
  for (const [u, user] of users.entries()) {
    for (let r = 0; r < 49; r++) await command(user, `/join #u${u}r${r}`);
  }
  const rooms = await command(users[0], "/rooms");
  assert.equal(rooms.type, "rooms");
  if (rooms.type === "rooms") {
    assert.equal(rooms.rooms.length, MAX_ROOMS_LISTED);
    assert.equal(rooms.more, 5 * 49 + 1 - MAX_ROOMS_LISTED);
    assert.equal(rooms.rooms[0].room, "#lobby", "the busiest first");
  }
  for (const u of users) u.close();
  await server.shutdown();
});

Deno.test("a frame of exactly the limit, with its CRLF split across reads, is accepted", () => {
  const d = new FrameDecoder({ maxFrame: 4 });
  const enc = new TextEncoder();
  assert.deepEqual(d.push(enc.encode("abcd\r")), []);
  const out = d.push(enc.encode("\n"));
  assert.equal(out.length, 1);
  assert.equal(out[0].kind, "frame");
});

Deno.test("a client whose queue overflows during its own login leaves no ghost behind", async () => {
  // A tiny queue (60 bytes, bursts to 240): the members' welcomes fit, but the late client's,
  // which lists everyone and its own 32-character nick, does not.
  const server = testServer({ maxQueueBytes: 60, flood: null, maxConnsPerIp: 100 });
  const members: JsonClient[] = [];
  for (let i = 0; i < 10; i++) members.push(await JsonClient.login(server, `m${i}`));
  const lateNick = "l".repeat(32);
  const late = await hello(server.addr.port, { nick: lateNick });
  await late.expectEof();
  // The login may still be waiting for the store when the connection ends: the user is logged
  // out as soon as it finishes.
  await eventually(() => server.hub.user(lateNick) === undefined, "the nick to be free again");
  assert.equal(server.hub.userCount, 10);
  for (const c of [...members, late]) c.close();
  await server.shutdown();
});
