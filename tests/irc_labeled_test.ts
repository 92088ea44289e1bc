/**
 * IRCv3 labeled-response on the wire (contract §5.7): one labeled logical response per labeled
 * command (ACK, one labeled line, or a labeled-response batch), found by the command's refs even
 * when the core answers after the line was handled (room messages wait for their commit), and
 * nothing labeled that the command did not cause.
 */

import assert from "node:assert/strict";
import { IRC_LABEL_MAX_BYTES } from "../config/irc_limits.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { IrcCap } from "../protocol/irc/caps.ts";
import { LabeledResponses } from "../protocol/irc/labels.ts";
import { type IrcLine, parseLine } from "../protocol/irc/line.ts";
import { capped, RawIrcClient } from "./helpers/irc.ts";
import { Client, quitKiwi, registerKiwi } from "./helpers/irc_framework.ts";
import { testServer, within } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";

const S = "irc.test";
const ALL = "batch labeled-response echo-message";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, flood: null, ...extra });
}

/** Joins `room` and waits for the end of its names. */
async function joinRoom(irc: RawIrcClient, room: string): Promise<void> {
  await irc.send(`JOIN ${room}`);
  await irc.expect(/ 366 /);
}

/** The next line the client reads. */
function next(irc: RawIrcClient): Promise<string> {
  return irc.expect(/^/);
}

/** Asserts that nothing came before the answer to a PING sent now (no stray labeled line). */
async function nothingMore(irc: RawIrcClient): Promise<void> {
  await irc.send("PING end");
  assert.equal(await next(irc), `:${S} PONG ${S} :end`);
}

/** Reads a labeled-response batch for `label`: its inner lines, each checked for the batch tag. */
async function labeledBatch(irc: RawIrcClient, label: string): Promise<string[]> {
  const start = await next(irc);
  const opened = new RegExp(`^@label=${label} :${S} BATCH \\+([A-Za-z0-9-]+) labeled-response$`)
    .exec(start);
  assert.ok(opened !== null, `a labeled batch opens: ${start}`);
  const id = opened[1];
  const inner: string[] = [];
  while (true) {
    const line = await next(irc);
    if (line === `:${S} BATCH -${id}`) return inner;
    assert.ok(line.startsWith(`@batch=${id} `), `in the batch: ${line}`);
    assert.doesNotMatch(line, /label=/);
    inner.push(line.slice(`@batch=${id} `.length));
  }
}

Deno.test("labeled PING: one PONG with the label, no batch; an unknown command's 421 is labeled", async () => {
  const server = ircServer();
  const irc = await capped(server, "alice", ALL);
  try {
    await irc.send("@label=98765 PING adhoctestline");
    assert.equal(await next(irc), `@label=98765 :${S} PONG ${S} :adhoctestline`);
    await irc.send("@label=deadbeef NONEXISTENT_COMMAND");
    assert.equal(
      await next(irc),
      `@label=deadbeef :${S} 421 alice NONEXISTENT_COMMAND :Unknown command`,
    );
    // A command with no answer: a labeled ACK.
    await irc.send("@label=p0 PONG :whatever");
    assert.equal(await next(irc), `@label=p0 :${S} ACK`);
    await nothingMore(irc);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("labeled JOIN: JOIN, names and the replayed history in one labeled-response batch; others see it unlabeled", async () => {
  const server = ircServer();
  const bob = await capped(server, "bob", ALL);
  const alice = await capped(server, "alice", "batch labeled-response");
  try {
    await bob.send("JOIN #xyz", "PRIVMSG #xyz :one", "PRIVMSG #xyz :two");
    await bob.expect(/PRIVMSG #xyz :?two$/);
    await alice.send("@label=12345 JOIN #xyz");
    const inner = await labeledBatch(alice, "12345");
    assert.match(inner[0], /^:alice!~alice@\S+ JOIN #xyz$/);
    assert.match(inner[1], /^:irc\.test 353 alice = #xyz :.*\bbob\b/);
    assert.equal(inner[2], `:${S} 366 alice #xyz :End of /NAMES list`);
    // The replay the JOIN caused is part of its response (history masks are neutral), with
    // its markers (irc_walkthrough_fixes_test.ts).
    assert.equal(inner[3], `:${S} NOTICE #xyz :* Replaying recent messages of #xyz`);
    assert.match(inner[4], /^:bob!~sc@gone\.sc PRIVMSG #xyz :?one$/);
    assert.match(inner[5], /^:bob!~sc@gone\.sc PRIVMSG #xyz :?two$/);
    assert.equal(inner[6], `:${S} NOTICE #xyz :* End of replay of #xyz (2 messages)`);
    assert.equal(inner.length, 7);
    await nothingMore(alice);
    assert.match(await bob.expect(/ JOIN /), /^:alice!~alice@\S+ JOIN #xyz$/);
  } finally {
    alice.close();
    bob.close();
    await server.shutdown();
  }
});

Deno.test("labeled PRIVMSG with echo-message: the echo is labeled, to a room (acked after the commit) and to a nick", async () => {
  const server = ircServer();
  const alice = await capped(server, "alice", ALL);
  const bob = await capped(server, "bob", ALL);
  try {
    await joinRoom(alice, "#r");
    await joinRoom(bob, "#r");
    await alice.expect(/ JOIN #r/);
    await alice.send("@label=r1 PRIVMSG #r :hello room");
    assert.match(await next(alice), /^@label=r1 :alice!~alice@\S+ PRIVMSG #r :hello room$/);
    assert.match(await next(bob), /^:alice!~alice@\S+ PRIVMSG #r :hello room$/);
    await alice.send("@label=d1 PRIVMSG bob :hello you");
    assert.match(await next(alice), /^@label=d1 :alice!~alice@\S+ PRIVMSG bob :hello you$/);
    assert.match(await next(bob), /^:alice!~alice@\S+ PRIVMSG bob :hello you$/);
    // An error answers the label too.
    await alice.send("@label=e1 PRIVMSG nobody :hi");
    assert.equal(await next(alice), `@label=e1 :${S} 401 alice nobody :No such nick/channel`);
    await nothingMore(alice);
  } finally {
    alice.close();
    bob.close();
    await server.shutdown();
  }
});

Deno.test("labeled PRIVMSG to three targets with echo-message: a batch of three echoes; recipients get no label", async () => {
  const server = ircServer();
  const foo = await capped(server, "foo", ALL);
  const bar = await capped(server, "bar", ALL);
  const carl = await capped(server, "carl", ALL);
  try {
    await joinRoom(foo, "#r");
    await joinRoom(carl, "#r");
    await foo.expect(/ JOIN #r/);
    // Two nicks and a room: the room's echo comes after its commit, after the line was handled.
    await foo.send("@label=12345 PRIVMSG bar,carl,#r :hi");
    const echoes = await labeledBatch(foo, "12345");
    assert.deepEqual(
      echoes.map((line) => line.replace(/^:foo!~foo@\S+ /, "")),
      ["PRIVMSG bar :hi", "PRIVMSG carl :hi", "PRIVMSG #r :hi"],
    );
    await nothingMore(foo);
    assert.match(await next(bar), /^:foo!~foo@\S+ PRIVMSG bar :hi$/);
    const got = [await next(carl), await next(carl)].sort();
    assert.match(got[0], /^:foo!~foo@\S+ PRIVMSG #r :hi$/);
    assert.match(got[1], /^:foo!~foo@\S+ PRIVMSG carl :hi$/);
  } finally {
    foo.close();
    bar.close();
    carl.close();
    await server.shutdown();
  }
});

Deno.test("labeled PRIVMSG and NOTICE without echo-message: an ACK once the message is committed", async () => {
  const server = ircServer();
  const alice = await capped(server, "alice", "batch labeled-response");
  const bob = await capped(server, "bob", ALL);
  try {
    await joinRoom(alice, "#r");
    await joinRoom(bob, "#r");
    await alice.expect(/ JOIN #r/);
    await alice.send(
      "@label=a1 PRIVMSG #r :hi",
      "@label=a2 NOTICE #r :note",
      "@label=a3 PRIVMSG bob :psst",
    );
    assert.equal(await next(alice), `@label=a1 :${S} ACK`);
    assert.equal(await next(alice), `@label=a2 :${S} ACK`);
    assert.equal(await next(alice), `@label=a3 :${S} ACK`);
    await nothingMore(alice);
    assert.match(await next(bob), /^:alice!\S+ PRIVMSG #r :hi$/);
  } finally {
    alice.close();
    bob.close();
    await server.shutdown();
  }
});

Deno.test("a labeled message the store refuses: its error is the labeled answer, not an ACK", async () => {
  const dir = await Deno.makeTempDir();
  const server = ircServer({ db: `${dir}/chat.db`, storeFault: "read-only" });
  const alice = await capped(server, "alice", "batch labeled-response standard-replies");
  try {
    await joinRoom(alice, "#r");
    await alice.send("@label=f1 PRIVMSG #r :lost");
    assert.match(
      await next(alice),
      /^@label=f1 :irc\.test FAIL PRIVMSG STORE_FAILED #r :Your message could not be saved/,
    );
    await nothingMore(alice);
  } finally {
    alice.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a labeled line that completes registration: a refused nick's 433 (an error without a ref) is labeled", async () => {
  const server = ircServer();
  const alice = await capped(server, "alice", ALL);
  const other = await RawIrcClient.open(server);
  try {
    await other.send(
      "CAP LS 302",
      "CAP REQ :batch labeled-response",
      "NICK alice",
      "USER x 0 * :x",
    );
    await other.expect(/ CAP \S+ ACK /);
    await other.send("@label=e1 CAP END");
    assert.equal(await next(other), `@label=e1 :${S} 433 * alice :Nickname is already in use`);
    await nothingMore(other);
  } finally {
    alice.close();
    other.close();
    await server.shutdown();
  }
});

Deno.test("a label longer than 64 bytes is ignored; 64 bytes is honoured", async () => {
  const server = ircServer();
  const irc = await capped(server, "alice", ALL);
  try {
    const longest = "x".repeat(IRC_LABEL_MAX_BYTES);
    await irc.send(`@label=${longest} PING a`);
    assert.equal(await next(irc), `@label=${longest} :${S} PONG ${S} :a`);
    await irc.send(`@label=${longest}y PING b`);
    assert.equal(await next(irc), `:${S} PONG ${S} :b`);
    await irc.send(`@label=${longest}y PONG b`);
    await nothingMore(irc); // no ACK either
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("lines from others while a labeled command waits for the store pass through unlabeled, at once", async () => {
  const dir = await Deno.makeTempDir();
  // Every commit takes 300 ms: alice's message waits behind bob's, and bob's reaches her while
  // her labeled PRIVMSG is still open.
  const server = ircServer({ db: `${dir}/chat.db`, storeFault: "slow" });
  const alice = await capped(server, "alice", ALL);
  const bob = await capped(server, "bob", ALL);
  try {
    await joinRoom(alice, "#r");
    await joinRoom(bob, "#r");
    await alice.expect(/ JOIN #r/);
    // bob's PONG comes after his message went to the store (the flush starts before any I/O).
    await bob.send("PRIVMSG #r :from bob", "PING committing");
    await bob.expect(/PONG/);
    await alice.send("@label=w1 PRIVMSG #r :from alice");
    assert.match(await next(alice), /^:bob!~bob@\S+ PRIVMSG #r :from bob$/);
    assert.match(await next(alice), /^@label=w1 :alice!~alice@\S+ PRIVMSG #r :from alice$/);
    await nothingMore(alice);
  } finally {
    alice.close();
    bob.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without the batch cap a one-line answer is labeled, a longer one is sent unlabeled", async () => {
  const server = ircServer();
  const irc = await capped(server, "alice", "labeled-response");
  try {
    await irc.send("@label=s1 PING x");
    assert.equal(await next(irc), `@label=s1 :${S} PONG ${S} :x`);
    await irc.send("@label=j1 JOIN #nobatch");
    assert.match(await next(irc), /^:alice!~alice@\S+ JOIN #nobatch$/);
    assert.equal(await next(irc), `:${S} 353 alice = #nobatch :@alice`);
    assert.equal(await next(irc), `:${S} 366 alice #nobatch :End of /NAMES list`);
    await nothingMore(irc);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("a labeled line that is not UTF-8 gets a labeled FAIL INVALID_UTF8; a labeled 417 too", async () => {
  const server = ircServer();
  const irc = await capped(server, "alice", ALL);
  try {
    const bad = new Uint8Array([
      ...new TextEncoder().encode("@label=u8 PRIVMSG #r :caf"),
      0xe9,
      0x0d,
      0x0a,
    ]);
    await irc.write(bad);
    assert.equal(
      await next(irc),
      `@label=u8 :${S} FAIL PRIVMSG INVALID_UTF8 :Message rejected, your message must be UTF-8`,
    );
    await irc.send(`@label=big PRIVMSG #r :${"a".repeat(600)}`);
    assert.equal(await next(irc), `@label=big :${S} 417 alice :Input line was too long`);
    await nothingMore(irc);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("labels need the cap: without labeled-response the label is ignored", async () => {
  const server = ircServer();
  const irc = await capped(server, "alice", "batch echo-message");
  try {
    await irc.send("@label=n1 PING x", "@label=n2 PONG x");
    assert.equal(await next(irc), `:${S} PONG ${S} :x`);
    await nothingMore(irc);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

/** One line of a batch, as irc-framework hands it over. */
interface BatchCommand {
  command: string;
  params: string[];
}

Deno.test("irc-framework: a labeled JOIN's batch is read as a JOIN and its names, and a labeled echo as the message", async () => {
  const server = ircServer();
  const client = new Client();
  const raw: string[] = [];
  client.on("raw", (event: { line: string; from_server: boolean }) => {
    if (event.from_server) raw.push(event.line.trimEnd());
  });
  try {
    await registerKiwi(client, server, "kiwi", {
      caps: ["labeled-response"],
      gecos: "Kiwi user",
      extra: { enable_echomessage: true },
    });
    const batch = new Promise<{ commands: BatchCommand[] }>((resolve) =>
      client.once("batch end labeled-response", resolve)
    );
    const joined = new Promise<{ channel: string }>((resolve) => client.once("join", resolve));
    const names = new Promise<{ channel: string; users: { nick: string }[] }>((resolve) =>
      client.once("userlist", resolve)
    );
    client.raw("@label=kiwi1 JOIN #lab");
    const { commands } = await within(
      batch,
      `the labeled-response batch (${raw.slice(-8).join(" | ")})`,
    );
    assert.deepEqual(commands.map((c) => c.command), ["JOIN", "353", "366"]);
    assert.equal((await within(joined, "join")).channel, "#lab");
    assert.deepEqual((await within(names, "userlist")).users.map((u) => u.nick), ["kiwi"]);
    assert.ok(raw.some((line) => /^@label=kiwi1 \S+ BATCH \+\S+ labeled-response$/.test(line)));

    const echoed = new Promise<{ message: string; target: string }>((resolve) =>
      client.once("message", resolve)
    );
    client.raw("@label=kiwi2 PRIVMSG #lab :hello");
    const echo = await within(echoed, "the echo");
    assert.deepEqual([echo.target, echo.message], ["#lab", "hello"]);
    // The echo keeps its own tags (msgid, time) and gains the label.
    assert.ok(
      raw.some((line) => /^@\S*\blabel=kiwi2\b\S* :kiwi!\S+ PRIVMSG #lab :?hello$/.test(line)),
    );
  } finally {
    await quitKiwi(client, "bye");
    await server.shutdown();
  }
});

/** Labels for a reader with `caps`, holding at most `maxBytes`. */
function labelsFor(caps: IrcCap[], maxBytes?: number): LabeledResponses {
  return new LabeledResponses({ serverName: S, caps: new Set(caps), maxBytes });
}

/** A client line, parsed. */
function parsed(text: string) {
  return parseLine(new TextEncoder().encode(text));
}

const FROM_BOB: IrcLine = { source: "bob!~bob@b.sc", command: "PRIVMSG", params: ["#r", "hey"] };

Deno.test("labels: while a PRIVMSG waits for its ack, frames without its ref pass through at once", () => {
  const labels = labelsFor(["labeled-response", "batch"]);
  assert.deepEqual(labels.begin(parsed("@label=w PRIVMSG #r :hi")), []);
  labels.claim("i1", true);
  assert.deepEqual(labels.settle(), [], "the message is not committed yet");
  const dm: ServerFrame = { type: "dm", id: 4, from: "bob", to: "ann", text: "psst", ts: 1 };
  const dmLine: IrcLine = { source: "bob!~bob@b.sc", command: "PRIVMSG", params: ["ann", "psst"] };
  assert.deepEqual(labels.frame(dm, [dmLine]), [dmLine]);
  const live: ServerFrame = { type: "msg", id: 5, room: "#r", from: "bob", text: "hey", ts: 1 };
  assert.deepEqual(labels.frame(live, [FROM_BOB]), [FROM_BOB]);
  // The next line, unlabeled, answers at once, though the labeled one is still open.
  assert.deepEqual(labels.begin(parsed("PING x")), []);
  const pong: IrcLine = { source: S, command: "PONG", params: [S, "x"] };
  assert.deepEqual(labels.reply([pong]), [pong]);
  assert.deepEqual(labels.settle(), []);
  const ack: ServerFrame = { type: "ack", id: 6, room: "#r", ts: 2, ref: "i1" };
  const echo: IrcLine = { source: "ann!~ann@a.sc", command: "PRIVMSG", params: ["#r", "hi"] };
  assert.deepEqual(labels.frame(ack, [echo]), [{ ...echo, tags: { label: "w" } }]);
  // Done with: a late frame with its ref is not labeled again.
  assert.deepEqual(labels.frame(ack, [echo]), [echo]);
});

Deno.test("labels: a replay delivered while the labeled line is handled is part of its response", () => {
  const labels = labelsFor(["labeled-response", "batch"]);
  labels.begin(parsed("@label=j JOIN #r"));
  labels.claim("i2", false);
  const joined: ServerFrame = {
    type: "joined",
    room: "#r",
    topic: "",
    members: [],
    count: 1,
    ref: "i2",
  };
  const join: IrcLine = { source: "ann!~ann@a.sc", command: "JOIN", params: ["#r"] };
  assert.deepEqual(labels.frame(joined, [join]), []);
  const live: ServerFrame = { type: "msg", id: 5, room: "#r", from: "bob", text: "hey", ts: 1 };
  assert.deepEqual(labels.frame(live, [FROM_BOB]), [FROM_BOB], "live: someone else's");
  const replayed: ServerFrame = { ...live, history: true };
  assert.deepEqual(labels.frame(replayed, [FROM_BOB]), []);
  const out = labels.settle();
  assert.deepEqual(out.map((line) => [line.command, line.tags]), [
    ["BATCH", { label: "j" }],
    ["JOIN", { batch: "lr1" }],
    ["PRIVMSG", { batch: "lr1" }],
    ["BATCH", undefined],
  ]);
  // With nothing labeled open, a replay is nobody's response.
  assert.deepEqual(labels.frame(replayed, [FROM_BOB]), [FROM_BOB]);
});

Deno.test("labels: a nested batch (chathistory) keeps its lines' batch, its BATCH lines join ours", () => {
  const labels = labelsFor(["labeled-response", "batch"]);
  labels.begin(parsed("@label=h CHATHISTORY LATEST #r * 10"));
  labels.reply([
    { source: S, command: "BATCH", params: ["+h1", "chathistory", "#r"] },
    { ...FROM_BOB, tags: { batch: "h1" } },
    { source: S, command: "BATCH", params: ["-h1"] },
  ]);
  assert.deepEqual(labels.settle().map((line) => [line.params[0], line.tags]), [
    ["+lr1", { label: "h" }],
    ["+h1", { batch: "lr1" }],
    ["#r", { batch: "h1" }],
    ["-h1", { batch: "lr1" }],
    ["-lr1", undefined],
  ]);
});

Deno.test("labels: a labeled multiline batch is answered when BATCH - is handled, the label on the echo's BATCH", () => {
  const labels = labelsFor(["labeled-response", "batch", "draft/multiline"]);
  labels.begin(parsed("@label=m BATCH +1 draft/multiline #r"));
  assert.deepEqual(labels.settle("1"), [], "open until BATCH -1");
  labels.begin(parsed("@batch=1 PRIVMSG #r :one"));
  assert.deepEqual(labels.settle("1"), []);
  labels.begin(parsed("BATCH -1"));
  labels.claim("i3", true);
  assert.deepEqual(labels.settle(), [], "waits for the ack");
  const ack: ServerFrame = { type: "ack", id: 9, room: "#r", ts: 2, ref: "i3" };
  const me = "ann!~ann@a.sc";
  const echo: IrcLine[] = [
    { source: me, command: "BATCH", params: ["+m9", "draft/multiline", "#r"] },
    { tags: { batch: "m9" }, source: me, command: "PRIVMSG", params: ["#r", "one"] },
    { source: me, command: "BATCH", params: ["-m9"] },
  ];
  const out = labels.frame(ack, echo);
  assert.deepEqual(out.map((line) => line.tags), [{ label: "m" }, { batch: "m9" }, undefined]);
});

Deno.test("labels: past the buffer cap a response goes out at once, in a labeled batch closed when done", () => {
  const labels = labelsFor(["labeled-response", "batch"], 100);
  labels.begin(parsed("@label=big WHO *"));
  const line: IrcLine = { source: S, command: "352", params: ["ann", "*", "x".repeat(60)] };
  const inner = { ...line, tags: { batch: "lr1" } };
  assert.deepEqual(labels.reply([line]), [], "held: under the cap");
  assert.deepEqual(labels.reply([line]).map((l) => [l.params[0], l.tags]), [
    ["+lr1", { label: "big" }],
    ["ann", { batch: "lr1" }],
    ["ann", { batch: "lr1" }],
  ], "past it: both, in the labeled batch");
  assert.deepEqual(labels.reply([line]), [inner]);
  assert.deepEqual(labels.settle().map((l) => l.params), [["-lr1"]]);
  // The cap is free again for the next response.
  labels.begin(parsed("@label=p PING x"));
  labels.reply([line]);
  assert.deepEqual(labels.settle(), [{ ...line, tags: { label: "p" } }]);
});

Deno.test("labels: an ERROR (the connection closes) sends what is held first, unlabeled", () => {
  const labels = labelsFor(["labeled-response", "batch"]);
  labels.begin(parsed("@label=k PRIVMSG #r :hi"));
  labels.claim("i4", true);
  const pong: IrcLine = { source: S, command: "PONG", params: [S, "x"] };
  labels.reply([pong]);
  labels.settle();
  const bye: ServerFrame = { type: "bye", reason: "shutdown", message: "Goodbye" };
  const error: IrcLine = { command: "ERROR", params: ["Closing Link: x (Goodbye)"] };
  assert.deepEqual(labels.frame(bye, [error]), [pong, error]);
});
