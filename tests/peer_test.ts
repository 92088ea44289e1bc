/**
 * The shared peer without sockets: a {@linkcode Peer} over an in-memory link with an NDJSON-only
 * opener, the way a new front end (WebSocket, SSH) will use it. Everything a front end gets for
 * free is here: login, relay, flood control, the bounded queue, the deadlines and a clean end.
 */

import assert from "node:assert/strict";
import { Peer, type PeerOptions } from "../transport/peer.ts";
import { CoreHarness } from "./helpers/core.ts";
import { MemoryLink, ndjsonOnly, testPeerOptions } from "./helpers/memory_link.ts";
import { eventually } from "./helpers/wire.ts";

function options(chat: CoreHarness, extra: Partial<PeerOptions> = {}): PeerOptions {
  return testPeerOptions(chat.hub, extra);
}

/** Starts a peer over a fresh memory link. */
function connect(chat: CoreHarness, extra: Partial<PeerOptions> = {}, host?: string) {
  const link = new MemoryLink(host);
  const peer = new Peer(link, options(chat, extra), ndjsonOnly);
  const running = peer.run();
  return { link, peer, running };
}

Deno.test("a peer over a memory link logs in, relays, and ends cleanly on EOF", async () => {
  const chat = new CoreHarness();
  const a = connect(chat, {}, "203.0.113.1");
  const b = connect(chat, {}, "203.0.113.2");
  a.link.sendLine({ type: "hello", v: 1, nick: "alice" });
  b.link.sendLine({ type: "hello", v: 1, nick: "bob" });
  await eventually(() => chat.hub.userCount === 2, "both logins");
  a.link.sendLine({ type: "msg", text: "hi bob", ref: "1" });
  await eventually(() => b.link.frames().some((f) => f.type === "msg"), "bob's message");
  const msg = b.link.frames().find((f) => f.type === "msg");
  assert.ok(msg?.type === "msg" && msg.text === "hi bob" && msg.from === "alice");
  assert.ok(a.link.frames().some((f) => f.type === "ack" && f.ref === "1"));
  a.link.end();
  await a.running;
  assert.ok(a.link.closed);
  assert.equal(chat.hub.userCount, 1);
  await eventually(() => b.link.frames().some((f) => f.type === "leave"), "bob hears alice leave");
  b.link.end();
  await b.running;
});

Deno.test("the peer's deadlines are driven by tick(now): no login by the handshake timeout closes it", async () => {
  const chat = new CoreHarness();
  const { link, peer, running } = connect(chat, { handshakeTimeoutMs: 1000 });
  peer.tick(performance.now() + 500);
  assert.equal(link.closed, false);
  peer.tick(performance.now() + 1500);
  await running;
  const error = link.frames().find((f) => f.type === "error");
  assert.ok(error?.type === "error" && error.code === "handshake_timeout" && error.fatal);
  assert.ok(link.closed);
});

Deno.test("a silent logged-in client is pinged at half the idle timeout and dropped at all of it", async () => {
  const chat = new CoreHarness();
  const { link, peer, running } = connect(chat, { idleTimeoutMs: 10_000 });
  link.sendLine({ type: "hello", v: 1, nick: "quiet" });
  await eventually(() => chat.hub.userCount === 1, "the login");
  peer.tick(performance.now() + 6000);
  await eventually(() => link.frames().some((f) => f.type === "ping"), "a ping");
  peer.tick(performance.now() + 11_000);
  await running;
  const error = link.frames().find((f) => f.type === "error" && f.code === "ping_timeout");
  assert.ok(error !== undefined);
  assert.equal(chat.hub.userCount, 0);
});

Deno.test("a reader that stops taking bytes is dropped too_slow; the room is not held up", async () => {
  const chat = new CoreHarness();
  const slow = connect(chat, { maxQueueBytes: 8192 }, "203.0.113.3");
  const fast = connect(chat, { maxQueueBytes: 8192 }, "203.0.113.4");
  slow.link.sendLine({ type: "hello", v: 1, nick: "slow" });
  fast.link.sendLine({ type: "hello", v: 1, nick: "fast" });
  await eventually(() => chat.hub.userCount === 2, "both logins");
  slow.link.stalled = true;
  for (let i = 0; i < 200; i++) fast.link.sendLine({ type: "msg", text: "x".repeat(500) });
  await eventually(() => chat.hub.userCount === 1, "the slow reader to be dropped");
  await eventually(
    () => fast.link.frames().filter((f) => f.type === "ack").length === 200,
    "every message acknowledged to the sender",
  );
  slow.link.resume();
  await slow.running;
  fast.link.end();
  await fast.running;
});

Deno.test("partial writes reach the client whole and in order", async () => {
  const chat = new CoreHarness();
  const { link, running } = connect(chat);
  link.writeLimit = 7;
  link.sendLine({ type: "hello", v: 1, nick: "dribble" });
  await eventually(() => link.frames().some((f) => f.type === "welcome"), "the welcome");
  link.end();
  await running;
});
