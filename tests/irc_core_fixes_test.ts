/**
 * Core fixes the IRC front end showed up: a connection keeps the account it proved when it
 * changes nick away and back (every front end); a reader with draft/chathistory gets no join
 * replay, so nothing is read or charged for it; and a join replay is sized in the reader's own
 * wire bytes, so a many-line history cannot overflow an IRC reader's queue.
 */

import assert from "node:assert/strict";
import { ircWith, RawIrcClient } from "./helpers/irc.ts";
import { command, JsonClient, testServer } from "./helpers/wire.ts";
import { CoreHarness, FakeReadBudget, RecordingSink, settled } from "./helpers/core.ts";
import type { ChatServer } from "../server.ts";
import type { StoredMessage } from "../core/ports.ts";
import { runCommand } from "../core/commands/chat.ts";
import { PROTOCOL_VERSION, type ServerFrame } from "../protocol/frames.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";

const S = "irc.test";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, ...extra });
}

/** Every line `irc` gets up to the answer to a PING (so nothing sent before it is missed). */
async function upToPong(irc: RawIrcClient, token: string): Promise<string[]> {
  const from = irc.seen.length;
  await irc.send(`PING ${token}`);
  await irc.expect(new RegExp(`PONG \\S+ :${token}$`));
  return irc.seen.slice(from);
}

/** Joins `room` and waits for the end of its names. */
async function joinRoom(irc: RawIrcClient, room: string): Promise<void> {
  await irc.send(`JOIN ${room}`);
  await irc.expect(new RegExp(` 366 \\S+ ${room} `));
}

/** A database holding `messages`, closed again; with its directory to remove. */
async function seeded(messages: StoredMessage[]): Promise<{ dir: string; db: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-core-fixes-" });
  const db = `${dir}/chat.db`;
  const store = new SqliteHistory({ path: db, retention: 10_000, upkeepIntervalMs: 0 });
  store.append(messages);
  store.close();
  return { dir, db };
}

/** `count` messages in `room` from alice, ids from `first`, each `text(i)`. */
function said(room: string, first: number, count: number, text: (i: number) => string) {
  const t0 = Date.now() - 3_600_000;
  return Array.from({ length: count }, (_, i): StoredMessage => ({
    id: first + i,
    room,
    from: "alice",
    text: text(i),
    ts: t0 + (first + i) * 1000,
  }));
}

// --- 1. An account proven on this connection is regained by changing back to its nick --------

Deno.test("IRC: NickServ-registered user who changes nick away and back regains the account at once (900, ACCOUNT), no 433", async () => {
  const server = ircServer();
  const kit = await ircWith(server, "kit", "account-notify");
  const bob = await ircWith(server, "bob", "account-notify");
  try {
    await joinRoom(kit, "#r");
    await joinRoom(bob, "#r");
    await kit.send("PRIVMSG NickServ :REGISTER hunter22");
    await kit.expect(/ 900 /);
    assert.match(await bob.expect(/ ACCOUNT /), /^:kit!~kit@\S+ ACCOUNT kit$/);
    await kit.send("NICK kat");
    await kit.expect(/ 901 /);
    assert.match(await bob.expect(/ ACCOUNT /), /^:kat!~kit@\S+ ACCOUNT \*$/);

    await kit.send("NICK kit");
    const back = await upToPong(kit, "k1");
    assert.deepEqual(back.filter((l) => / 433 /.test(l)), [], "no 433 for one's own account");
    assert.ok(back.some((l) => /^:kat!~kit@\S+ NICK :?kit$/.test(l)), back.join("\n"));
    assert.ok(
      back.some((l) =>
        /^:irc\.test 900 kit kit!~kit@\S+ kit :You are now logged in as kit$/.test(l)
      ),
      back.join("\n"),
    );
    assert.ok(back.some((l) => /^:kit!~kit@\S+ ACCOUNT kit$/.test(l)), back.join("\n"));
    assert.match(await bob.expect(/ ACCOUNT /), /^:kit!~kit@\S+ ACCOUNT kit$/);

    // Another connection that never proved it is still refused.
    const eve = await ircWith(server, "eve", "");
    try {
      await eve.send("NICK kit");
      assert.match(await eve.expect(/ 433 /), / 433 eve kit /);
    } finally {
      eve.close();
    }
  } finally {
    kit.close();
    bob.close();
    await server.shutdown();
  }
});

Deno.test("IRC: PASS account:password login, nick away and back: the account is regained", async () => {
  const server = ircServer();
  const jo = await JsonClient.login(server, "sam");
  try {
    await command(jo, "/register s3cret-pass");
    jo.close();
    const irc = await RawIrcClient.open(server);
    try {
      await irc.send("PASS sam:s3cret-pass", "NICK sam", "USER sam 0 * :sam");
      await irc.expect(/ 221 /);
      assert.ok((await upToPong(irc, "s0")).some((l) => / 900 sam /.test(l)), "900 at login");
      await irc.send("NICK sammy");
      await irc.expect(/ 901 /);
      await irc.send("NICK sam");
      const back = await upToPong(irc, "s1");
      assert.deepEqual(back.filter((l) => / 433 /.test(l)), []);
      assert.ok(back.some((l) => / 900 sam /.test(l)), back.join("\n"));
    } finally {
      irc.close();
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("native /nick: back to a nick this connection registered regains it (account frame), and an unregistered-since account is not", async () => {
  const server = ircServer({ operSecret: { matches: (c) => c === "op-secret" } });
  const jo = await JsonClient.login(server, "jo");
  const op = await JsonClient.login(server, "op");
  try {
    await command(jo, "/register correct-horse");
    await command(jo, "/nick joe");
    const back = await command(jo, "/nick jo");
    assert.equal(back.type, "nick", JSON.stringify(back));
    const whois = await command(jo, "/whois jo");
    assert.match(whois.type === "info" ? whois.text : "", /registered to .*, proven/);

    // Released by an operator while jo is away from it: changing back gives the nick, not the
    // account (there is none now), and a new registration by someone else is theirs alone.
    await command(jo, "/nick joe");
    await command(op, "/oper op-secret");
    await command(op, "/unregister jo");
    await command(op, "/nick jo");
    await command(op, "/register other-pass");
    await command(op, "/nick op");
    const refused = await command(jo, "/nick jo");
    assert.equal(refused.type, "error", JSON.stringify(refused));
    assert.equal(refused.type === "error" ? refused.code : "", "nick_registered");
  } finally {
    jo.close();
    op.close();
    await server.shutdown();
  }
});

// --- 2. A reader with draft/chathistory gets no join replay: nothing read or charged ---------

/** A sink whose reader asks for history itself. */
class ChathistorySink extends RecordingSink {
  readonly replaysOnJoin = false;
}

Deno.test("core: a sink that replays nothing on join is not read for nor charged; a plain one is", () => {
  const reads = new FakeReadBudget();
  const chat = new CoreHarness({ historyReads: reads });
  const alice = chat.login("alice");
  for (const room of ["#a", "#b"]) {
    alice.run(`/join ${room}`);
    alice.say("history here", room);
  }
  chat.flush();
  reads.charges.length = 0;

  const sink = new ChathistorySink();
  const login = settled(
    chat.hub.login(sink, { version: PROTOCOL_VERSION, nick: "irc", address: "198.51.100.7" }),
  );
  assert.ok(login.ok);
  for (const room of ["#a", "#b"]) settled(runCommand(chat.hub, login.user, `/join ${room}`, room));
  assert.deepEqual(reads.charges.filter((c) => c.address === "198.51.100.7"), []);
  assert.equal(reads.available("198.51.100.7"), Infinity);
  assert.deepEqual(sink.frames().filter((f) => f.type === "msg"), []);

  const plain = chat.login("plain", { address: "198.51.100.8" });
  plain.run("/join #a");
  assert.ok(reads.charges.some((c) => c.address === "198.51.100.8" && c.bytes > 0));
  const replayed = plain.take().filter((f): f is Extract<ServerFrame, { type: "msg" }> =>
    f.type === "msg"
  );
  assert.deepEqual(replayed.map((m) => [m.text, m.history]), [["history here", true]]);
});

Deno.test("IRC: a draft/chathistory client's joins leave its history allowance whole for CHATHISTORY; a client without the cap still gets the replay", async () => {
  // 50 messages of 5 kB per room: one join replay reads about as much as the smallest allowance
  // (64 kB/s for 4 s), so a join that still read and charged it would starve the CHATHISTORY.
  const big = (i: number) => `${i} ${"x".repeat(5000)}`;
  const { dir, db } = await seeded([
    ...said("#h1", 1, 50, big),
    ...said("#h2", 51, 50, big),
  ]);
  const server = ircServer({ db, historyReadRate: 64 * 1024 });
  const ch = await ircWith(server, "ch", "draft/chathistory batch server-time message-tags");
  const plain = await ircWith(server, "plain", "");
  try {
    for (const room of ["#h1", "#h2"]) await joinRoom(ch, room);
    const afterJoins = await upToPong(ch, "c1");
    assert.deepEqual(afterJoins.filter((l) => / PRIVMSG #h/.test(l)), []);

    await ch.send("CHATHISTORY LATEST #h1 * 10");
    const answer = await upToPong(ch, "c2");
    assert.deepEqual(answer.filter((l) => / FAIL /.test(l)), [], answer.join("\n").slice(0, 500));
    // A 5 kB text is split into lines; only each message's first carries its msgid.
    assert.equal(answer.filter((l) => /msgid=\d+;.* PRIVMSG #h1 :/.test(l)).length, 10);

    await plain.send("JOIN #h2");
    const replay = await upToPong(plain, "p1");
    assert.ok(replay.some((l) => / PRIVMSG #h2 :?49\b/.test(l)), "the newest message replayed");
  } finally {
    ch.close();
    plain.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

// --- 3. A join replay is sized in the IRC reader's own wire bytes ------------------------------

Deno.test("IRC: joining a room whose history has many-line messages is not dropped too_slow; what did not fit is a NOTICE", async () => {
  // 100 one-character lines a message: about 300 NDJSON bytes, but 100 IRC lines (3.5 kB and
  // more). Counted in NDJSON bytes, half of a 32 kB queue took over 40 of them, 150 kB on IRC:
  // past the queue's burst cap (4 x 32 kB), so the reader was dropped as too slow.
  const lines = (i: number) => [`m${i}`, ...Array.from({ length: 99 }, () => "x")].join("\n");
  const { dir, db } = await seeded(said("#tall", 1, 60, lines)); // m0..m59
  const server = ircServer({ db, maxQueueBytes: 32 * 1024 });
  const irc = await ircWith(server, "tim", "");
  try {
    await joinRoom(irc, "#tall");
    const got = await upToPong(irc, "t1");
    assert.deepEqual(got.filter((l) => /^ERROR /.test(l)), [], "still connected");
    const notice = got.find((l) => / NOTICE #tall :\* \d+ earlier/.test(l));
    assert.ok(notice !== undefined, got.slice(0, 5).join("\n"));
    assert.match(notice, /^:irc\.test NOTICE #tall :\* \d+ earlier messages in #tall not shown/);
    // The newest messages are the ones replayed, and the reader is still served.
    assert.ok(got.some((l) => / PRIVMSG #tall :?m59$/.test(l)), "the newest message replayed");
    await irc.send("PRIVMSG #tall :still here");
    await upToPong(irc, "t2");
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
