import assert from "node:assert/strict";
import { JsonClient, LineSocket, testServer, within } from "./helpers/wire.ts";
import type { ServerFrame } from "../protocol/frames.ts";

const encoder = new TextEncoder();

Deno.test("three clients converse and nobody gets their own message echoed", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  assert.equal((await alice.expect("join")).nick, "bob");
  const carol = await JsonClient.login(server, "carol");
  assert.equal((await alice.expect("join")).nick, "carol");
  assert.equal((await bob.expect("join")).nick, "carol");

  await alice.send({ type: "msg", text: "hi from alice", ref: "a1" });
  const ack = await alice.expect("ack");
  assert.equal(ack.ref, "a1");
  for (const peer of [bob, carol]) {
    const msg = await peer.expect("msg");
    assert.equal(msg.from, "alice");
    assert.equal(msg.text, "hi from alice");
    assert.equal(msg.id, ack.id);
    assert.equal(msg.room, "#lobby");
    assert.equal(typeof msg.ts, "number");
  }
  await bob.send({ type: "msg", text: "hi back" });
  const bobAck = await bob.expect("ack");
  assert.ok(bobAck.id > ack.id, "ids increase");
  // Alice's next frame is bob's message, not an echo of her own.
  const next = await alice.next();
  assert.equal(next?.type, "msg");
  assert.equal((next as Extract<ServerFrame, { type: "msg" }>).from, "bob");
  assert.equal((await carol.expect("msg")).text, "hi back");

  for (const c of [alice, bob, carol]) c.close();
  await server.shutdown();
});

Deno.test("welcome lists who is present", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  await bob.send({ type: "hello", v: 1, nick: "bob" });
  const welcome = await bob.expect("welcome");
  assert.equal(welcome.v, 1);
  assert.equal(welcome.nick, "bob");
  assert.deepEqual(welcome.rooms[0].members.sort(), ["alice", "bob"]);
  alice.close();
  bob.close();
  await server.shutdown();
});

Deno.test("a 60 KB multi-line message arrives intact", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  await alice.expect("join");
  const text = Array.from({ length: 620 }, (_, i) => `line ${i} ` + "x".repeat(90)).join("\n");
  assert.ok(text.length > 60_000);
  await alice.send({ type: "msg", text });
  const msg = await bob.expect("msg");
  assert.equal(msg.text, text);
  alice.close();
  bob.close();
  await server.shutdown();
});

Deno.test("a frame written one byte at a time is reassembled", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  await alice.expect("join");
  const bytes = encoder.encode(
    JSON.stringify({ type: "msg", text: "slowly, byte by byte" }) + "\n",
  );
  for (let i = 0; i < bytes.length; i++) await alice.write(bytes.subarray(i, i + 1));
  assert.equal((await bob.expect("msg")).text, "slowly, byte by byte");
  alice.close();
  bob.close();
  await server.shutdown();
});

Deno.test("unicode and emoji survive being split inside a character", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  await alice.expect("join");
  const text = "héllo 🌍 世界 👩‍👩‍👧 ✓";
  const bytes = encoder.encode(JSON.stringify({ type: "msg", text }) + "\n");
  // Split at every point inside the emoji: write in 3-byte pieces that straddle characters.
  for (let i = 0; i < bytes.length; i += 3) await alice.write(bytes.subarray(i, i + 3));
  assert.equal((await bob.expect("msg")).text, text);
  alice.close();
  bob.close();
  await server.shutdown();
});

Deno.test("an oversize frame is refused and closed while another client keeps chatting", async () => {
  const server = testServer({ maxFrame: 1024 });
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  const mallory = await JsonClient.login(server, "mallory");
  await alice.expect("join");
  await alice.expect("join");
  // No newline: the server must refuse as soon as the cap is passed, not wait for one.
  await mallory.write(`{"type":"msg","text":"${"A".repeat(4000)}`);
  const error = await mallory.expect("error");
  assert.equal(error.code, "frame_too_large");
  assert.equal(error.fatal, true);
  await mallory.expectEof();
  const leave = await alice.expect("leave");
  assert.equal(leave.nick, "mallory");
  assert.equal(leave.reason, "protocol_error");
  await bob.send({ type: "msg", text: "still here" });
  assert.equal((await alice.expect("msg")).text, "still here");
  for (const c of [alice, bob, mallory]) c.close();
  await server.shutdown();
});

Deno.test("binary garbage and bad frames get errors and others are unaffected", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  await alice.expect("join");
  await bob.write(new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x80, 0x0a])); // "{" + invalid UTF-8
  assert.equal((await bob.expect("error")).code, "bad_utf8");
  await bob.write("{not json\n");
  assert.equal((await bob.expect("error")).code, "bad_json");
  await bob.send({ type: "dance" });
  assert.equal((await bob.expect("error")).code, "unknown_type");
  await bob.send({ type: "msg" });
  assert.equal((await bob.expect("error")).code, "bad_frame");
  await bob.send([1, 2, 3]);
  assert.equal((await bob.expect("error")).code, "bad_frame");
  // Bob is still in and still heard.
  await bob.send({ type: "msg", text: "after the noise", ref: "b" });
  assert.equal((await bob.expect("ack")).ref, "b");
  assert.equal((await alice.expect("msg")).text, "after the noise");
  alice.close();
  bob.close();
  await server.shutdown();
});

Deno.test("a connection that keeps sending bad frames is closed", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  await alice.expect("join");
  await bob.write("nope\n".repeat(0) + "{bad\n".repeat(20));
  let last: ServerFrame | null = null;
  for (let frame = await bob.next(); frame !== null; frame = await bob.next()) last = frame;
  assert.equal(last?.type, "error");
  assert.equal((last as Extract<ServerFrame, { type: "error" }>).code, "too_many_errors");
  assert.equal((await alice.expect("leave")).reason, "protocol_error");
  alice.close();
  bob.close();
  await server.shutdown();
});

Deno.test("a taken nick is refused, case-insensitively, and the client may retry", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "Alice");
  const imposter = new JsonClient(
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  );
  await imposter.send({ type: "hello", v: 1, nick: "aLICE" });
  const error = await imposter.expect("error");
  assert.equal(error.code, "nick_taken");
  assert.notEqual(error.fatal, true);
  await imposter.send({ type: "hello", v: 1, nick: "has space" });
  assert.equal((await imposter.expect("error")).code, "nick_invalid");
  await imposter.send({ type: "hello", v: 1, nick: "x".repeat(33) });
  assert.equal((await imposter.expect("error")).code, "nick_invalid");
  await imposter.send({ type: "hello", v: 1, nick: "bell\u0007" });
  assert.equal((await imposter.expect("error")).code, "nick_invalid");
  await imposter.send({ type: "hello", v: 1, nick: "alice2" });
  assert.equal((await imposter.expect("welcome")).nick, "alice2");
  alice.close();
  imposter.close();
  await server.shutdown();
});

Deno.test("a message before hello is refused, and a wrong version is fatal", async () => {
  const server = testServer();
  const early = await LineSocket.connect(server).then((s) => new JsonClient(s.conn));
  await early.send({ type: "msg", text: "hi" });
  assert.equal((await early.expect("error")).code, "not_joined");
  await early.send({ type: "hello", v: 99, nick: "future" });
  const error = await early.expect("error");
  assert.equal(error.code, "unsupported_version");
  assert.equal(error.fatal, true);
  await early.expectEof();
  early.close();
  await server.shutdown();
});

Deno.test("a full server refuses with server_full and leaves its users untouched", async () => {
  const server = testServer({ maxUsers: 2 });
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  await alice.expect("join");
  const carol = new JsonClient(
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  );
  await carol.send({ type: "hello", v: 1, nick: "carol" });
  const error = await carol.expect("error");
  assert.equal(error.code, "server_full");
  assert.equal(error.fatal, true);
  await carol.expectEof();
  await bob.send({ type: "msg", text: "we are fine" });
  assert.equal((await alice.expect("msg")).text, "we are fine");
  assert.equal(server.hub.userCount, 2);
  for (const c of [alice, bob, carol]) c.close();
  await server.shutdown();
});

Deno.test("every kind of disconnect gives the room a leave event", async (t) => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");

  await t.step("quit frame", async () => {
    const bob = await JsonClient.login(server, "bob");
    await alice.expect("join");
    await bob.send({ type: "quit" });
    const leave = await alice.expect("leave");
    assert.deepEqual([leave.nick, leave.reason], ["bob", "quit"]);
    await bob.expectEof();
    bob.close();
  });

  await t.step("EOF", async () => {
    const bob = await JsonClient.login(server, "bob");
    await alice.expect("join");
    bob.conn.closeWrite();
    const leave = await alice.expect("leave");
    assert.deepEqual([leave.nick, leave.reason], ["bob", "dropped"]);
    bob.close();
  });

  await t.step("abrupt close in the middle of a frame", async () => {
    const bob = await JsonClient.login(server, "bob");
    await alice.expect("join");
    await bob.write('{"type":"msg","text":"half a fra');
    bob.close();
    const leave = await alice.expect("leave");
    assert.deepEqual([leave.nick, leave.reason], ["bob", "dropped"]);
  });

  await t.step("the nick is free again afterwards", async () => {
    const bob = await JsonClient.login(server, "bob");
    await alice.expect("join");
    bob.close();
    await alice.expect("leave");
  });

  alice.close();
  await server.shutdown();
});

Deno.test("a plain-text client on a raw socket chats with an NDJSON client", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const plain = await LineSocket.connect(server);
  await plain.write("bob\r\n"); // the first byte is not "{", so this is a plain client
  await plain.readUntilText("Nickname: ");
  const welcome = await plain.readLine();
  assert.match(welcome ?? "", /Welcome to sockchat, bob!/);
  assert.match(await plain.readLine() ?? "", /In #lobby: alice/);
  assert.equal((await alice.expect("join")).nick, "bob");

  await plain.write("hello from netcat\r\n"); // CRLF
  const msg = await alice.expect("msg");
  assert.deepEqual([msg.from, msg.text], ["bob", "hello from netcat"]);
  await plain.write("two \\\nlines\n"); // bare LF, continued
  assert.equal((await alice.expect("msg")).text, "two \nlines");

  await alice.send({ type: "msg", text: "hi bob\nsecond line" });
  let line = await plain.readLine();
  while (line !== null && !line.startsWith("<alice>")) line = await plain.readLine();
  assert.equal(line, "<alice> hi bob");
  assert.equal(await plain.readLine(), "        second line");

  await plain.write("/quit\n");
  await plain.expectEof();
  const leave = await alice.expect("leave");
  assert.deepEqual([leave.nick, leave.reason], ["bob", "quit"]);
  alice.close();
  plain.close();
  await server.shutdown();
});

Deno.test("a silent plain-text client is greeted and asked for a nickname", async () => {
  const server = testServer();
  const plain = await LineSocket.connect(server);
  assert.match(await plain.readLine() ?? "", /Welcome to sockchat\. Type a nickname/);
  await plain.readUntilText("Nickname: ");
  const first = await JsonClient.login(server, "other");
  await plain.write("other\n");
  assert.match(await plain.readLine() ?? "", /^! nick_taken: /);
  await plain.readUntilText("Nickname: ");
  await plain.write("x".repeat(70000) + "\n");
  assert.match(await plain.readLine() ?? "", /^! frame_too_large: /);
  await plain.expectEof();
  first.close();
  plain.close();
  await server.shutdown();
});

Deno.test("a client that never reads is dropped too_slow while another receives 10,000 messages in order", async () => {
  const server = testServer({
    maxQueueBytes: 256 * 1024,
    flood: null,
    logger: (await import("../log/logger.ts")).createLogger({ level: "info" }),
  });
  const sender = await JsonClient.login(server, "sender");
  const reader = await JsonClient.login(server, "reader");
  const sloth = new JsonClient(
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  );
  await sloth.send({ type: "hello", v: 1, nick: "sloth" });
  // sloth never reads from here on.
  await sender.expect("join");
  await sender.expect("join");
  await reader.expect("join");
  const total = 10_000;
  const pad = "p".repeat(1000);
  const received = (async () => {
    let expected = 0;
    let sawSlothLeave = false;
    while (expected < total) {
      const frame = await reader.next("messages", 30_000);
      if (frame === null) throw new Error("reader lost its connection");
      if (frame.type === "leave" && frame.nick === "sloth") {
        assert.equal(frame.reason, "too_slow");
        sawSlothLeave = true;
      }
      if (frame.type !== "msg") continue;
      assert.equal(frame.text, `${expected} ${pad}`, "in order, none missing");
      expected++;
    }
    return sawSlothLeave;
  })();
  // The sender keeps a window of messages in flight (as a real client would), so the test's
  // own reader, which shares this process with the server, can keep up; the sloth cannot.
  const WINDOW = 500;
  let acked = 0;
  for (let start = 0; start < total; start += WINDOW) {
    let batch = "";
    for (let i = start; i < Math.min(total, start + WINDOW); i++) {
      batch += JSON.stringify({ type: "msg", text: `${i} ${pad}` }) + "\n";
    }
    await sender.write(batch);
    while (acked < Math.min(total, start + WINDOW)) {
      await sender.expect("ack", 30_000);
      acked++;
    }
  }
  const sawLeave = await within(received, "all messages", 30_000);
  assert.ok(sawLeave, "the room was told sloth left as too_slow");
  assert.equal(server.hub.user("sloth"), undefined);
  for (const c of [sender, reader, sloth]) c.close();
  await server.shutdown();
});

Deno.test("shutdown says goodbye to every client and closes them", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const plain = await LineSocket.connect(server);
  await plain.write("bob\n");
  await alice.expect("join");
  const pending = await LineSocket.connect(server).then((s) => new JsonClient(s.conn));
  await pending.write("{"); // mid-handshake
  await server.shutdown();
  const bye = await alice.expect("bye");
  assert.equal(bye.reason, "shutdown");
  await alice.expectEof();
  let line = await plain.readLine();
  while (line !== null && !line.startsWith("! bye")) line = await plain.readLine();
  assert.match(line ?? "", /shutting down/);
  await plain.expectEof();
  await pending.expectEof();
  // It no longer accepts.
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  for (const c of [alice, plain, pending]) c.close();
});
