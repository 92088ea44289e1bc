/**
 * Issue 12, the netcat items: what a person on `nc host port` reads, over a raw socket to a real
 * server (topic queries, company on /join, closing after /quit and kicks, the password prompt,
 * room tags, timestamps and DM confirmations).
 */

import assert from "node:assert/strict";
import {
  command,
  eventually,
  JsonClient,
  LineSocket,
  plainLogin,
  plainUntil,
  testServer,
} from "./helpers/wire.ts";
import { LINGER_MS } from "../config/limits.ts";
import type { ChatServer } from "../server.ts";
import { andMore, renderPlain } from "../protocol/plain/render.ts";

const secret = (value: string) => ({ matches: (c: string | undefined) => c === value });

/** Reads every line up to EOF, sending nothing. */
async function linesToEof(nc: LineSocket): Promise<string[]> {
  const lines: string[] = [];
  while (true) {
    const line = await nc.readLine("EOF");
    if (line === null) return lines;
    lines.push(line);
  }
}

/**
 * Resolves once the server has let go of every connection. A server that half-closed and waits
 * for the client's EOF keeps it for LINGER_MS; one that closed both directions lets go at once.
 */
async function serverLetsGo(server: ChatServer, what: string): Promise<void> {
  await eventually(() => server.connections.size === 0, what, LINGER_MS / 2);
}

Deno.test("netcat /topic asks what the topic is; setting it names the setter", async () => {
  const server = testServer();
  const nc = await plainLogin(server, "carol");
  await nc.write("/join #rust\n");
  await plainUntil(nc, /#rust/);
  await nc.write("/topic\n");
  assert.equal(await nc.readLine(), "* #rust has no topic.");
  await nc.write("/topic borrow checking\n");
  assert.equal(await nc.readLine(), "* carol set the topic of #rust: borrow checking");
  await nc.write("/topic\n");
  assert.equal(await nc.readLine(), "* Topic of #rust: borrow checking");
  nc.close();
  await server.shutdown();
});

Deno.test("netcat /join never lists you as your own company", async () => {
  const server = testServer();
  const carol = await plainLogin(server, "carol");
  await carol.write("/join #rust\n");
  assert.equal(await plainUntil(carol, /#rust/), "* You are in #rust, alone.");
  const dave = await plainLogin(server, "dave");
  await dave.write("/join #rust\n");
  assert.equal(await plainUntil(dave, /^\* You are/), "* You are in #rust with @carol.");
  for (const c of [carol, dave]) c.close();
  await server.shutdown();
});

Deno.test("netcat /quit: the goodbye, then EOF, and the server lets go without the client's EOF", async () => {
  const server = testServer();
  const nc = await plainLogin(server, "carol");
  await nc.write("/quit off to lunch\n");
  assert.deepEqual(await linesToEof(nc), ["* Goodbye!"]);
  await serverLetsGo(server, "the server to close a quit netcat connection");
  nc.close();
  await server.shutdown();
});

Deno.test("netcat kicked: the reason, then EOF, and the server lets go without the client's EOF", async () => {
  const server = testServer({ operSecret: secret("sekrit") });
  const op = await JsonClient.login(server, "op");
  assert.equal((await command(op, "/oper sekrit")).type, "info");
  const nc = await plainLogin(server, "troll");
  await op.expect("join");
  await command(op, "/kick troll enough");
  const lines = await linesToEof(nc);
  assert.match(lines.at(-1) ?? "", /^! bye: .*kicked/i, JSON.stringify(lines));
  op.close();
  await serverLetsGo(server, "the server to close a kicked netcat connection");
  nc.close();
  await server.shutdown();
});

Deno.test("netcat on a server with a password: the greeting asks for the password first", async () => {
  const server = testServer({ password: secret("open sesame") });
  // Silent at first, as a person reading is: the late greeting must ask the right question.
  const late = await LineSocket.connect(server);
  const greeting = await late.readLine("the greeting");
  assert.match(greeting ?? "", /password/i);
  assert.doesNotMatch(greeting ?? "", /type a nickname/i);
  await late.write("open sesame\n");
  await late.readUntilText("Nickname: ");
  await late.write("carol\n");
  assert.equal(await late.readLine(), "* Welcome to sockchat, carol!");
  // Quick to type: the prompt itself says what it wants.
  const quick = await LineSocket.connect(server);
  await quick.write("x");
  const asked = await quick.readUntilText("Server password: ");
  assert.match(asked, /password/i);
  assert.doesNotMatch(asked, /type a nickname/i);
  for (const c of [late, quick]) c.close();
  await server.shutdown();
});

Deno.test("netcat in several rooms: other rooms' lines are tagged, the current room's never", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  await command(alice, "/join #rust");
  const nc = await plainLogin(server, "carol");
  await alice.send({ type: "msg", room: "#rust", text: "only in rust" });
  // In one room (the lobby): nothing is tagged, and #rust is not heard.
  await alice.send({ type: "msg", room: "#lobby", text: "one room" });
  assert.equal(await plainUntil(nc, /one room/), "<alice> one room");
  await nc.write("/join #rust\n");
  await plainUntil(nc, /^\* You are in #rust/);
  // #rust is current now: its lines are untagged, the lobby's tagged.
  await alice.send({ type: "msg", room: "#rust", text: "current" });
  assert.equal(await plainUntil(nc, /current/), "<alice> current");
  await alice.send({ type: "msg", room: "#lobby", text: "elsewhere" });
  assert.equal(await plainUntil(nc, /elsewhere/), "[#lobby] <alice> elsewhere");
  // Back to one room (#rust only): no tags at all.
  await nc.write("/leave #lobby\n");
  await plainUntil(nc, /^\* You left #lobby/);
  await alice.send({ type: "msg", room: "#rust", text: "alone again" });
  assert.equal(await plainUntil(nc, /alone again/), "<alice> alone again");
  for (const c of [alice, nc]) c.close();
  await server.shutdown();
});

Deno.test("netcat /timestamps on stamps every line with the time (UTC); off stops it", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const nc = await plainLogin(server, "carol");
  await alice.expect("join");
  await nc.write("/timestamps on\n");
  assert.match(await plainUntil(nc, /Timestamps/), /^\[\d\d:\d\d\] \* Timestamps are on/);
  await nc.write("/join #rust\n");
  await plainUntil(nc, /^\[\d\d:\d\d\] \* You are in #rust/);
  const before = new Date().toISOString().slice(11, 16);
  await alice.send({ type: "msg", text: "two\nlines" });
  const after = new Date().toISOString().slice(11, 16);
  // A block keeps its shape under the stamp and the tag.
  const first = await plainUntil(nc, /<alice>/);
  assert.match(first, /^\[(\d\d:\d\d)\] \[#lobby\] <alice> two$/);
  assert.ok([before, after].includes(first.slice(1, 6)), first);
  assert.equal(await nc.readLine(), `${" ".repeat(first.indexOf("two"))}lines`);
  await nc.write("/timestamps off\n");
  assert.equal(await plainUntil(nc, /Timestamps/), "* Timestamps are off.");
  await alice.send({ type: "msg", text: "plain" });
  assert.equal(await plainUntil(nc, /plain/), "[#lobby] <alice> plain");
  await nc.write("/timestamps sometimes\n");
  assert.match(await plainUntil(nc, /timestamps/i), /^! bad_command: Usage: \/timestamps/);
  for (const c of [alice, nc]) c.close();
  await server.shutdown();
});

Deno.test("netcat /msg is confirmed to its sender", async () => {
  const server = testServer();
  const bob = await JsonClient.login(server, "bob");
  const nc = await plainLogin(server, "carol");
  await nc.write("/msg bob hi there\n");
  assert.equal((await bob.expect("dm")).text, "hi there");
  assert.equal(await plainUntil(nc, /bob/), "-> bob: hi there");
  // A refused one is not confirmed: the error is the answer.
  await nc.write("/msg nobody hello\n");
  assert.match(await plainUntil(nc, /nobody/i), /^! no_such_user/);
  for (const c of [bob, nc]) c.close();
  await server.shutdown();
});

Deno.test("netcat: a leave shows the reason given with /quit; one unlisted member is one other", () => {
  assert.equal(
    renderPlain({
      type: "leave",
      room: "#x",
      nick: "bob",
      reason: "quit",
      message: "bye all",
      ts: 0,
    }),
    "* bob left #x (quit: bye all)",
  );
  assert.equal(andMore([], 1), "1 other");
  assert.equal(andMore([], 2), "2 others");
  assert.equal(andMore(["ann"], 1), "ann and 1 more");
});

Deno.test("netcat: after leaving the current room, commands go to a room you are still in", async () => {
  const server = testServer();
  const nc = await plainLogin(server, "nina");
  try {
    await nc.write("/join #rust\n");
    await plainUntil(nc, /You are in #rust/);
    await nc.write("/leave\n");
    await plainUntil(nc, /left #rust|You left #rust|parted/i);
    // Straight to a command (nothing said first, which would have moved on the current room).
    await nc.write("/topic\n");
    const answer = await plainUntil(nc, /#lobby has no topic|Topic of #lobby|not in #rust/);
    assert.doesNotMatch(answer, /not in #rust/);
  } finally {
    nc.close();
    await server.shutdown();
  }
});
