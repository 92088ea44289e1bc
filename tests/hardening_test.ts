import assert from "node:assert/strict";
import { command, hello, JsonClient, LineSocket, testServer } from "./helpers/wire.ts";
import type { ServerFrame } from "../protocol/frames.ts";

type Frame<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

const secret = (value: string) => ({ matches: (c: string | undefined) => c === value });

Deno.test("slow-loris: a connection that never finishes its handshake is closed", async () => {
  const server = testServer({ handshakeTimeoutMs: 300 });
  const loris = await LineSocket.connect(server);
  await loris.write('{"type":"hel'); // and then nothing
  const started = performance.now();
  let last = "";
  for (let line = await loris.readLine(); line !== null; line = await loris.readLine()) last = line;
  assert.match(last, /"code":"handshake_timeout"/);
  assert.ok(performance.now() - started < 4000);
  const user = await JsonClient.login(server, "patient"); // others are unaffected
  user.close();
  loris.close();
  await server.shutdown();
});

Deno.test("idle NDJSON clients are pinged; those that answer stay, the silent are dropped", async () => {
  const server = testServer({ idleTimeoutMs: 1000 });
  const answers = await JsonClient.login(server, "answers");
  const silent = await JsonClient.login(server, "silent");
  await answers.expect("join");
  const ping = await answers.expect("ping");
  await answers.send({ type: "pong", token: ping.token });
  const leave = await answers.expect("leave");
  assert.deepEqual([leave.nick, leave.reason], ["silent", "timeout"]);
  assert.ok(server.hub.user("answers"), "the one that answered is still here");
  answers.close();
  silent.close();
  await server.shutdown();
});

Deno.test("flooding gets rate_limited, a sustained flood is disconnected, others unaffected", async () => {
  const server = testServer({
    flood: { messageBurst: 5, messagesPerSecond: 1, disconnectStreak: 50 },
  });
  const victim = await JsonClient.login(server, "victim");
  const flooder = await JsonClient.login(server, "flooder");
  await victim.expect("join");
  let batch = "";
  for (let i = 0; i < 100; i++) batch += JSON.stringify({ type: "msg", text: `spam ${i}` }) + "\n";
  await flooder.write(batch);
  const codes: string[] = [];
  for (let f = await flooder.next(); f !== null; f = await flooder.next()) {
    if (f.type === "error") codes.push(f.code);
  }
  assert.equal(codes[0], "rate_limited");
  assert.equal(codes.at(-1), "rate_limited");
  assert.ok(codes.length <= 3, `one warning, one goodbye, not one per frame: ${codes}`);
  let spam = 0;
  let leave: Frame<"leave"> | undefined;
  while (leave === undefined) {
    const f = await victim.next();
    if (f?.type === "msg") spam++;
    if (f?.type === "leave") leave = f;
  }
  assert.equal(spam, 4, "only the burst got through (the hello took the fifth token)");
  assert.equal(leave.reason, "flood");
  victim.close();
  flooder.close();
  await server.shutdown();
});

Deno.test("a typed paste of a maximum-size message is not punished by flood control", async () => {
  const server = testServer({ maxFrame: 64 * 1024 });
  const a = await JsonClient.login(server, "a");
  const b = await JsonClient.login(server, "b");
  await a.expect("join");
  const paste = Array.from({ length: 600 }, (_, i) => `pasted line ${i} `.padEnd(100, ".")).join(
    "\n",
  );
  await b.send({ type: "msg", text: paste, ref: "p" });
  assert.equal((await b.expect("ack")).ref, "p");
  assert.equal((await a.expect("msg")).text, paste);
  for (let i = 0; i < 10; i++) await b.send({ type: "msg", text: `typing ${i}`, ref: `t${i}` });
  for (let i = 0; i < 10; i++) assert.equal((await b.expect("ack")).ref, `t${i}`);
  a.close();
  b.close();
  await server.shutdown();
});

Deno.test("a wrong or missing password is refused clearly and the connection closed", async () => {
  const server = testServer({ password: secret("open sesame") });
  const none = await hello(server.addr.port, { nick: "a" });
  const e1 = await none.expect("error");
  assert.deepEqual([e1.code, e1.fatal], ["bad_password", true]);
  await none.expectEof();
  const wrong = await hello(server.addr.port, { nick: "b", password: "guess" });
  assert.deepEqual([(await wrong.expect("error")).code], ["bad_password"]);
  await wrong.expectEof();
  const right = await hello(server.addr.port, { nick: "c", password: "open sesame" });
  assert.equal((await right.expect("welcome")).nick, "c");
  // Plain-text users are asked for it first.
  const plain = await LineSocket.connect(server);
  await plain.write("x");
  await plain.readUntilText("Server password: ");
  await plain.write("\nnope\nd\n");
  await plain.readUntilText("Nickname: ");
  assert.match(await plain.readLine() ?? "", /^! bad_password/);
  for (const c of [none, wrong, right, plain]) c.close();
  await server.shutdown();
});

Deno.test("operators kick, mute, ban (nick and address, with duration) and unban; bans outlive a restart", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/bans.db`;
  try {
    let server = testServer({ db, operSecret: secret("sekrit") });
    const op = await JsonClient.login(server, "op");
    const watcher = await JsonClient.login(server, "watcher");
    const troll = await JsonClient.login(server, "troll");
    await watcher.expect("join");
    assert.equal((await command(troll, "/kill op") as Frame<"error">).code, "not_operator");
    assert.equal((await command(op, "/oper wrong") as Frame<"error">).code, "not_operator");
    assert.equal(
      (await command(op, "/oper sekrit") as Frame<"info">).text,
      "* You are now an operator.",
    );

    assert.equal((await command(op, "/mute troll 1m")).type, "info");
    const muted = await command(troll, "/me grumbles") as Frame<"error">;
    assert.equal(muted.code, "muted");
    await command(op, "/unmute troll");
    assert.equal((await command(troll, "/me is back")).type, "ack");
    assert.equal((await watcher.expect("msg")).text, "is back");

    await command(op, "/kick troll be nice");
    const bye = await troll.expect("bye");
    assert.deepEqual([bye.reason, bye.message], ["kicked", "You were kicked by op: be nice"]);
    await troll.expectEof();
    assert.equal((await watcher.expect("leave")).reason, "kicked");

    const troll2 = await JsonClient.login(server, "troll");
    await watcher.expect("join");
    const banned = await command(op, "/ban troll 1h spamming") as Frame<"info">;
    assert.match(banned.text, /Banned nick troll for 1h/);
    assert.equal((await troll2.expect("bye")).reason, "banned");
    assert.equal((await watcher.expect("leave")).reason, "banned");
    const again = await hello(server.addr.port, { nick: "TROLL" });
    const refused = await again.expect("error");
    assert.equal(refused.code, "banned");
    assert.match(refused.message, /banned for 1h: spamming/);
    again.close();
    watcher.close();
    op.close();
    troll.close();
    troll2.close();
    await server.shutdown();

    // After a restart on the same database the ban still holds; an address ban refuses at the door.
    server = testServer({ db, operSecret: secret("sekrit") });
    const stillBanned = await hello(server.addr.port, { nick: "troll" });
    assert.equal((await stillBanned.expect("error")).code, "banned");
    stillBanned.close();
    const op2 = await JsonClient.login(server, "op");
    await command(op2, "/oper sekrit");
    const list = await command(op2, "/bans") as Frame<"info">;
    assert.match(list.text, /nick troll for 1h by op: spamming/);
    await command(op2, "/unban troll");
    const back = await JsonClient.login(server, "troll");
    await command(op2, "/ban 127.0.0.1 10m");
    assert.equal((await back.expect("bye")).reason, "banned");
    const door = await LineSocket.connect(server);
    assert.match(await door.readLine() ?? "", /"code":"banned"/);
    await door.expectEof();
    for (const c of [op2, back, door]) c.close();
    await server.shutdown();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("/ignore hides a nick's room and direct messages from you only", async () => {
  const server = testServer();
  const a = await JsonClient.login(server, "a");
  const b = await JsonClient.login(server, "b");
  const pest = await JsonClient.login(server, "pest");
  await a.expect("join");
  await a.expect("join");
  await b.expect("join");
  await command(a, "/ignore PEST");
  await pest.send({ type: "msg", text: "noise", ref: "n" });
  await pest.expect("ack");
  await pest.send({ type: "cmd", line: "/msg a psst", room: "#lobby", ref: "d" });
  await pest.expect("ack");
  assert.equal((await b.expect("msg")).text, "noise", "b still sees pest");
  await b.send({ type: "msg", text: "signal" });
  const first = await a.next();
  assert.deepEqual(
    [first?.type, (first as Frame<"msg">).text],
    ["msg", "signal"],
    "a never saw pest",
  );
  for (const c of [a, b, pest]) c.close();
  await server.shutdown();
});

Deno.test("too many connections from one address are refused at the door", async () => {
  const server = testServer({ maxConnsPerIp: 3 });
  const held = await Promise.all([1, 2, 3].map((i) => JsonClient.login(server, `u${i}`)));
  const extra = await LineSocket.connect(server);
  assert.match(await extra.readLine() ?? "", /"code":"too_many_connections"/);
  await extra.expectEof();
  held[0].close();
  await held[1].expect("leave");
  const fits = await JsonClient.login(server, "u4"); // a slot came free
  for (const c of [...held, extra, fits]) c.close();
  await server.shutdown();
});

Deno.test("ANSI and control-character injection is neutralised before anyone sees it", async () => {
  const server = testServer();
  const a = await JsonClient.login(server, "a");
  const nc = await LineSocket.connect(server);
  await nc.write("nc\n");
  await nc.readUntilText("/quit leaves.\r\n");
  await a.expect("join");
  const evil =
    "\x1b[2J\x1b[31mred\x1b]0;pwned\x07 \u202eevil\u202c bell\x07 \x9b31m nul\x00 tab\tend\nline2";
  await a.send({ type: "msg", text: evil });
  await a.send({ type: "cmd", line: `/topic \x1b[5mblink\x1b[0m`, room: "#lobby" });
  const line = await nc.readLine();
  assert.ok(line !== null);
  // deno-lint-ignore no-control-regex -- looking for control characters is the point
  assert.doesNotMatch(line, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/, JSON.stringify(line));
  assert.equal(line, "<a> red evil bell  nul tab end");
  assert.equal(await nc.readLine(), "    line2");
  const topic = await nc.readLine();
  assert.equal(topic, "* a set the topic of #lobby: blink");
  const nickTricks = await hello(server.addr.port, { nick: "a\u200b" });
  assert.equal((await nickTricks.expect("error")).code, "nick_invalid");
  await nickTricks.send({ type: "hello", v: 1, nick: "\u0430" }); // Cyrillic а poses as "a"
  assert.equal((await nickTricks.expect("error")).code, "nick_taken");
  await nickTricks.send({ type: "hello", v: 1, nick: "Ａ" }); // fullwidth A
  assert.equal((await nickTricks.expect("error")).code, "nick_taken");
  for (const c of [a, nc, nickTricks]) c.close();
  await server.shutdown();
});

Deno.test("logins in progress are capped server-wide, whatever their addresses", async () => {
  const server = testServer({ maxPendingLogins: 3, maxConnsPerIp: 100 });
  const lurkers = await Promise.all([1, 2, 3].map(() => LineSocket.connect(server)));
  await lurkers[0].write("{"); // make sure the server has accepted them all
  const member = await LineSocket.connect(server);
  assert.match(await member.readLine() ?? "", /"code":"too_many_connections"/);
  lurkers[0].close();
  await lurkers[1].write("{}\n");
  await lurkers[1].readLine(); // one round trip: the closed one is gone by now
  const late = await JsonClient.login(server, "late"); // a slot came free
  for (const c of [...lurkers, member, late]) c.close();
  await server.shutdown();
});

Deno.test("a paste into netcat arrives as one message and is not rate limited", async () => {
  const server = testServer();
  const reader = await JsonClient.login(server, "reader");
  const nc = await LineSocket.connect(server);
  await nc.write("paster\n");
  await nc.readUntilText("/quit leaves.\r\n");
  await reader.expect("join");
  const lines = Array.from({ length: 100 }, (_, i) => `pasted line ${i}`);
  await nc.write(lines.join("\n") + "\n");
  const msg = await reader.expect("msg");
  assert.equal(msg.text, lines.join("\n"));
  await nc.write("typed afterwards\n");
  assert.equal((await reader.expect("msg")).text, "typed afterwards");
  reader.close();
  nc.close();
  await server.shutdown();
});

Deno.test("a netcat paste longer than one frame is split into messages within the limit", async () => {
  const server = testServer({ maxFrame: 1024, flood: null });
  const reader = await JsonClient.login(server, "reader");
  const nc = await LineSocket.connect(server);
  await nc.write("paster\n");
  await nc.readUntilText("/quit leaves.\r\n");
  await reader.expect("join");
  const lines = Array.from({ length: 200 }, (_, i) => `pasted line number ${i}`);
  await nc.write(lines.join("\n") + "\n");
  const got: string[] = [];
  while (got.length < lines.length) {
    const msg = await reader.expect("msg");
    assert.ok(new TextEncoder().encode(msg.text).length <= 1024);
    got.push(...msg.text.split("\n"));
  }
  assert.deepEqual(got, lines, "nothing lost, nothing reordered");
  reader.close();
  nc.close();
  await server.shutdown();
});
