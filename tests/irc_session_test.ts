import assert from "node:assert/strict";
import { RawIrcClient } from "./helpers/irc.ts";
import { command, eventually, JsonClient, LineSocket, testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";
import type { Verifier } from "../core/moderator.ts";

const S = "irc.test";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, ...extra });
}

Deno.test("IRC: registration without CAP gets 001-005, LUSERS, 422 and 221, and no #lobby", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.open(server);
  try {
    await irc.send("NICK alice", "USER al 0 * :Alice A");
    assert.equal(await irc.expect(/ 001 /), `:${S} 001 alice :Welcome to the ${S} Network, alice`);
    assert.match(
      await irc.expect(/ 002 /),
      /^:irc\.test 002 alice :Your host is irc\.test, running version sockchat-/,
    );
    assert.match(
      await irc.expect(/ 004 /),
      /^:irc\.test 004 alice irc\.test sockchat-\S+ io biklmnotv bklov$/,
    );
    const isupport = await irc.expect(/ 005 /);
    assert.match(isupport, /CASEMAPPING=ascii/);
    assert.match(isupport, / CHATHISTORY=100 /); // served (irc_chathistory_test.ts)
    assert.equal(
      await irc.expect(/ 251 /),
      `:${S} 251 alice :There are 1 users and 0 invisible on 1 servers`,
    );
    assert.equal(
      await irc.expect(/ 265 /),
      `:${S} 265 alice 1 1 :Current local users 1, max 1`, // the peak seen, not --max-users
    );
    assert.equal(await irc.expect(/ 422 /), `:${S} 422 alice :MOTD File is missing`);
    assert.equal(await irc.expect(/ 221 /), `:${S} 221 alice +`);
    assert.equal(server.hub.user("alice")?.rooms.size, 0);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC: PING any time, 451 before registration, 421 and 461 after, 417 keeps the connection", async () => {
  const server = ircServer({ motd: "hello\nworld" });
  const irc = await RawIrcClient.open(server);
  try {
    await irc.send("PING :abc");
    assert.equal(await irc.expect(/PONG/), `:${S} PONG ${S} :abc`);
    await irc.send("JOIN :");
    assert.equal(await irc.expect(/ 451 /), `:${S} 451 * :You have not registered`);
    await irc.send("NICK bob", "USER bob 0 * :Bob");
    assert.equal(await irc.expect(/ 375 /), `:${S} 375 bob :- ${S} Message of the day - `);
    assert.equal(await irc.expect(/ 372 /), `:${S} 372 bob :- hello`);
    await irc.expect(/ 376 /);
    await irc.send("FROBNICATE x");
    assert.equal(await irc.expect(/ 421 /), `:${S} 421 bob FROBNICATE :Unknown command`);
    await irc.send("JOIN");
    assert.equal(await irc.expect(/ 461 /), `:${S} 461 bob JOIN :Not enough parameters`);
    await irc.send("PRIVMSG #x :" + "a".repeat(600));
    assert.equal(await irc.expect(/ 417 /), `:${S} 417 bob :Input line was too long`);
    await irc.send("PING z");
    assert.equal(await irc.expect(/PONG/), `:${S} PONG ${S} :z`);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC: CAP LS 302 holds registration until CAP END; REQ ACKs and NAKs", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.open(server);
  try {
    await irc.send("CAP LS 302", "NICK carol", "USER c 0 * :C");
    const ls = await irc.expect(/ CAP \* LS /);
    assert.match(ls, /server-time/);
    assert.doesNotMatch(ls, /draft\/event-playback/); // never offered
    await irc.send("CAP REQ :server-time multi-prefix");
    assert.equal(await irc.expect(/ CAP /), `:${S} CAP * ACK :server-time multi-prefix`);
    await irc.send("CAP REQ :draft/event-playback");
    assert.equal(await irc.expect(/ CAP /), `:${S} CAP * NAK :draft/event-playback`);
    assert.equal(server.hub.user("carol"), undefined);
    await irc.send("CAP END");
    await irc.expect(/ 001 carol /);
    await irc.send("CAP LIST");
    assert.equal(
      await irc.expect(/ CAP /),
      `:${S} CAP carol LIST :cap-notify server-time multi-prefix`,
    );
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC: a taken nick is 433 and registration stays open; QUIT says ERROR and frees the nick at once", async () => {
  const server = ircServer();
  const native = await JsonClient.login(server, "dave");
  const irc = await RawIrcClient.open(server);
  try {
    await irc.send("NICK dave", "USER d 0 * :D");
    assert.equal(await irc.expect(/ 433 /), `:${S} 433 * dave :Nickname is already in use`);
    await irc.send("NICK dave2");
    await irc.expect(/ 001 dave2 /);
    await irc.send("QUIT :bye now");
    assert.match(await irc.expect(/^ERROR/), /^ERROR :Closing Link: \S+\.sc \(Quit: bye now\)$/);
    await irc.expectEof();
    assert.equal(server.hub.user("dave2"), undefined);
  } finally {
    irc.close();
    native.close();
    await server.shutdown();
  }
});

Deno.test("IRC: PASS with a server password: missing or wrong is 464 then ERROR; right logs in", async () => {
  const password: Verifier = { matches: (given) => given === "s3cret" };
  const server = ircServer({ password });
  try {
    const wrong = await RawIrcClient.open(server);
    await wrong.send("PASS nope", "NICK eve", "USER e 0 * :E");
    assert.equal(await wrong.expect(/ 464 /), `:${S} 464 * :Password incorrect`);
    assert.match(await wrong.expect(/^ERROR/), /\(Bad password\)$/);
    await wrong.expectEof();
    wrong.close();
    const right = await RawIrcClient.open(server);
    await right.send("PASS s3cret", "NICK eve", "USER e 0 * :E");
    await right.expect(/ 001 eve /);
    right.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("IRC: PASS is ignored without a server password", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.open(server);
  try {
    await irc.send("PASS whatever", "NICK fay", "USER f 0 * :F");
    await irc.expect(/ 001 fay /);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC: messages both ways with NDJSON and netcat; /me is CTCP ACTION; formatting reaches IRC only", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.login(server, "ian");
  const json = await JsonClient.login(server, "jo");
  const nc = await LineSocket.connect(server);
  try {
    await nc.write("ned\n");
    await nc.readUntilText("ned");
    await irc.send("JOIN #lobby");
    assert.match(await irc.expect(/ JOIN /), /^:ian!~ian@\S+\.sc JOIN #lobby$/);
    const names = await irc.expect(/ 353 /);
    assert.match(names, /^:irc\.test 353 ian = #lobby :/);
    for (const nick of ["ian", "jo", "ned"]) assert.match(names, new RegExp(`[ :@+]${nick}( |$)`));
    await irc.expect(/ 366 ian #lobby :End of \/NAMES list/);
    await json.expect("join");

    await json.send({ type: "msg", room: "#lobby", text: "hi \x02ian\x02" });
    assert.match(
      await irc.expect(/PRIVMSG/),
      new RegExp("^:jo!~sc@\\S+\\.sc PRIVMSG #lobby :hi \x02ian\x02$"),
    );
    await nc.readUntilText("<jo> hi ian\r\n");

    await irc.send("PRIVMSG #lobby :from \x1fIRC\x1f", "PRIVMSG #lobby :\x01ACTION waves\x01");
    const said = await json.expect("msg");
    assert.equal(said.from, "ian");
    assert.equal(said.text, "from IRC"); // formatting stripped for NDJSON
    const acted = await json.expect("msg");
    assert.deepEqual([acted.text, acted.action], ["waves", true]);
    await nc.readUntilText("<ian> from IRC\r\n");

    await json.send({ type: "cmd", line: "/me nods", room: "#lobby" });
    assert.match(
      await irc.expect(/PRIVMSG/),
      new RegExp("^:jo!\\S+ PRIVMSG #lobby :\x01ACTION nods\x01$"),
    );

    await irc.send("PRIVMSG jo :psst");
    const dm = await json.expect("dm");
    assert.deepEqual([dm.from, dm.text], ["ian", "psst"]);
    await json.send({ type: "cmd", line: "/msg ian back", room: "#lobby" });
    assert.match(await irc.expect(/PRIVMSG ian/), /^:jo!\S+ PRIVMSG ian :?back$/);

    await irc.send("TOPIC #lobby :new topic");
    assert.match(await irc.expect(/ TOPIC /), /^:ian!~ian@\S+ TOPIC #lobby :new topic$/);
    assert.equal((await json.expect("topic")).topic, "new topic");

    await irc.send("PART #lobby");
    assert.match(await irc.expect(/ PART /), /^:ian!~ian@\S+ PART #lobby$/);
    const left = await json.expect("leave");
    assert.deepEqual([left.nick, left.reason], ["ian", "part"]);
    await irc.send("PRIVMSG #lobby :not in");
    assert.equal(await irc.expect(/ 404 /), `:${S} 404 ian #lobby :Cannot send to channel`);
  } finally {
    irc.close();
    json.close();
    nc.close();
    await server.shutdown();
  }
});

Deno.test("IRC: others' joins, nick changes and quits reach the IRC client", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.login(server, "kim");
  try {
    await irc.send("JOIN #a,#b");
    await irc.expect(/ 366 kim #b /);
    const json = await JsonClient.login(server, "lou");
    await json.send({ type: "cmd", line: "/join #a", room: "#lobby" });
    assert.match(await irc.expect(/ JOIN #a/), /^:lou!~sc@\S+ JOIN #a$/);
    await json.send({ type: "cmd", line: "/join #b", room: "#lobby" });
    await irc.expect(/ JOIN #b/);
    await json.send({ type: "cmd", line: "/nick lou2", room: "#a" });
    assert.match(await irc.expect(/ NICK /), /^:lou!~sc@\S+ NICK :lou2$/);
    await json.send({ type: "cmd", line: "/quit gone fishing", room: "#a" });
    assert.match(await irc.expect(/ QUIT /), /^:lou2!~sc@\S+ QUIT :Quit: gone fishing$/);
    json.close();
    // One QUIT for a user who shared two rooms.
    await irc.send("PING end");
    assert.match(await irc.expect(/PONG| QUIT /), /PONG/);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC: PASS account:password logs in to the account (900); a wrong one is 464, open", async () => {
  const server = ircServer();
  const owner = await JsonClient.login(server, "mia");
  await command(owner, "/register correct-horse");
  owner.close();
  await eventually(() => server.hub.user("mia") === undefined, "mia to leave");
  const wrong = await RawIrcClient.open(server);
  const irc = await RawIrcClient.open(server);
  try {
    await wrong.send("PASS mia:nope", "NICK whoever", "USER m 0 * :M");
    assert.equal(await wrong.expect(/ 464 /), `:${S} 464 * :Password incorrect`);
    await irc.send("PASS mia:correct-horse", "NICK whoever", "USER m 0 * :M");
    await irc.expect(/ 001 mia /);
    assert.match(
      await irc.expect(/ 900 /),
      /^:irc\.test 900 mia mia!~m@\S+\.sc mia :You are now logged in as mia$/,
    );
    assert.equal(server.hub.user("mia")?.verified, true);
  } finally {
    wrong.close();
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC: echo-message, server-time and message-tags on room messages", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.open(server);
  const json = await JsonClient.login(server, "ola");
  try {
    await irc.send("CAP LS 302", "CAP REQ :echo-message server-time message-tags", "CAP END");
    await irc.send("NICK pia", "USER p 0 * :P");
    await irc.expect(/ 221 /);
    await irc.send("JOIN #lobby");
    await irc.expect(/ 366 /);
    await irc.send("PRIVMSG #lobby :hello there");
    const echo = await irc.expect(/PRIVMSG/);
    const sent = await json.expect("msg");
    assert.match(echo, /^@msgid=(\d+);time=\S+Z :pia!~p@\S+ PRIVMSG #lobby :hello there$/);
    assert.equal(/msgid=(\d+)/.exec(echo)?.[1], String(sent.id));
    await json.send({ type: "msg", room: "#lobby", text: "hi pia" });
    const got = await irc.expect(/PRIVMSG/);
    const time = /time=([^; ]+)/.exec(got)?.[1] ?? "";
    assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC: JOIN of a bad name is 403 naming it; PART of a room one is not in is 442", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.login(server, "quin");
  const json = await JsonClient.login(server, "rae");
  try {
    await irc.send("JOIN #valid,inv@lid");
    await irc.expect(/ 366 quin #valid /);
    assert.equal(await irc.expect(/ 403 /), `:${S} 403 quin inv@lid :No such channel`);
    await irc.send("PART #lobby");
    assert.equal(await irc.expect(/ 442 /), `:${S} 442 quin #lobby :You're not on that channel`);
    await irc.send("PART #nowhere");
    assert.equal(await irc.expect(/ 403 /), `:${S} 403 quin #nowhere :No such channel`);
    await irc.send("NICK rae");
    assert.equal(await irc.expect(/ 433 /), `:${S} 433 quin rae :Nickname is already in use`);
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC: WHO, WHOIS, ISON, AWAY, LUSERS and MOTD", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.login(server, "sam");
  const json = await JsonClient.login(server, "tia");
  try {
    await irc.send("JOIN #lobby");
    await irc.expect(/ 366 /);
    await irc.send("WHO #lobby");
    const who = [await irc.expect(/ 352 /), await irc.expect(/ 352 /)].sort();
    assert.match(
      who[0],
      /^:irc\.test 352 sam #lobby ~sam \S+\.sc irc\.test sam H@? :0 sam tester$/,
    );
    assert.match(
      who[1],
      /^:irc\.test 352 sam #lobby ~sc \S+\.sc irc\.test tia H :0 sockchat user$/,
    );
    assert.equal(await irc.expect(/ 315 /), `:${S} 315 sam #lobby :End of WHO list`);
    await irc.send("WHOIS TIA");
    assert.match(
      await irc.expect(/ 311 /),
      /^:irc\.test 311 sam tia ~sc \S+\.sc \* :sockchat user$/,
    );
    assert.equal(await irc.expect(/ 319 /), `:${S} 319 sam tia :#lobby`);
    await irc.expect(/ 317 sam tia \d+ \d+ :seconds idle, signon time/);
    assert.equal(await irc.expect(/ 318 /), `:${S} 318 sam tia :End of /WHOIS list`);
    await irc.send("WHOIS nobody");
    assert.equal(await irc.expect(/ 401 /), `:${S} 401 sam nobody :No such nick/channel`);
    await irc.expect(/ 318 sam nobody /);
    await irc.send("ISON tia nobody SAM");
    assert.equal(await irc.expect(/ 303 /), `:${S} 303 sam :tia sam`);
    await irc.send("AWAY :lunch");
    assert.equal(await irc.expect(/ 306 /), `:${S} 306 sam :You have been marked as being away`);
    assert.equal(server.hub.user("sam")?.away, "lunch");
    await irc.send("AWAY");
    assert.equal(
      await irc.expect(/ 305 /),
      `:${S} 305 sam :You are no longer marked as being away`,
    );
    await irc.send("LUSERS", "MOTD");
    assert.equal(
      await irc.expect(/ 251 /),
      `:${S} 251 sam :There are 2 users and 0 invisible on 1 servers`,
    );
    assert.equal(await irc.expect(/ 422 /), `:${S} 422 sam :MOTD File is missing`);
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC: a silent client is sent PING and, still silent, ERROR; its nick is free", async () => {
  const server = ircServer({ idleTimeoutMs: 400 });
  const irc = await RawIrcClient.login(server, "uma");
  try {
    assert.match(await irc.expect(/^PING /), /^PING :?p1$/);
    assert.match(
      await irc.expect(/^ERROR/),
      /^ERROR :Closing Link: \S+\.sc \(No answer to ping; closing\.\)$/,
    );
    await irc.expectEof();
    assert.equal(server.hub.user("uma"), undefined);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC: a client that answers PING stays", async () => {
  const server = ircServer({ idleTimeoutMs: 400 });
  const irc = await RawIrcClient.login(server, "val");
  try {
    for (let i = 1; i <= 2; i++) {
      const ping = await irc.expect(/^PING /);
      await irc.send(`PONG ${ping.slice(5)}`);
    }
    assert.ok(server.hub.user("val") !== undefined);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC flood control delays lines instead of dropping them: a long paste arrives whole, in order", async () => {
  const server = ircServer({ flood: { messagesPerSecond: 100, messageBurst: 5 } });
  const irc = await RawIrcClient.login(server, "wes");
  const json = await JsonClient.login(server, "xia");
  try {
    await irc.send("JOIN #lobby");
    await irc.expect(/ 366 /);
    const lines = Array.from({ length: 40 }, (_, i) => `PRIVMSG #lobby :line ${i}`);
    const started = performance.now();
    await irc.send(...lines);
    for (let i = 0; i < 40; i++) assert.equal((await json.expect("msg")).text, `line ${i}`);
    // 35 lines past the burst at 100/s: held about 350 ms, not dropped.
    assert.ok(performance.now() - started >= 250);
    assert.ok(server.hub.user("wes") !== undefined);
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC: a server stopping while a client's lines are held does not wait for the flood timer", async () => {
  const server = ircServer({ flood: { messagesPerSecond: 0.2, messageBurst: 2 } });
  const irc = await RawIrcClient.login(server, "yul");
  try {
    await irc.send("PING a", "PING b");
    // "a" is held for 5 s; the goodbye must not wait for it.
    const started = performance.now();
    await server.shutdown();
    assert.ok(performance.now() - started < 2000);
    await irc.expect(/^ERROR/);
  } finally {
    irc.close();
  }
});

Deno.test("IRC: room operators: creator is @, MODE, KICK and INVITE reach every front end; non-ops get 482", async () => {
  const server = ircServer();
  const op = await RawIrcClient.login(server, "zoe");
  const json = await JsonClient.login(server, "amy");
  const plain = await RawIrcClient.login(server, "ben");
  try {
    await op.send("JOIN #ops");
    assert.match(await op.expect(/ 353 /), /:@zoe$/);
    await op.expect(/ 366 /);
    await json.send({ type: "cmd", line: "/join #ops", room: "#lobby" });
    await json.expect("joined");
    await plain.send("JOIN #ops");
    await plain.expect(/ 366 /);
    await plain.send("MODE #ops +t");
    assert.equal(await plain.expect(/ 482 /), `:${S} 482 ben #ops :You're not channel operator`);
    await op.send("MODE #ops +t");
    assert.match(await op.expect(/ MODE #ops/), /^:zoe!~zoe@\S+ MODE #ops \+t$/);
    assert.match(await plain.expect(/ MODE #ops/), /^:zoe!~zoe@\S+ MODE #ops \+t$/);
    assert.equal((await json.expect("mode")).changes, "+t");
    await plain.send("TOPIC #ops :mine");
    assert.equal(await plain.expect(/ 482 /), `:${S} 482 ben #ops :You're not channel operator`);
    await op.send("MODE #ops");
    assert.equal(await op.expect(/ 324 /), `:${S} 324 zoe #ops +nt`);
    await op.send("KICK #ops amy :behave");
    assert.match(await plain.expect(/ KICK /), /^:zoe!~zoe@\S+ KICK #ops amy :behave$/);
    const kicked = await json.expect("leave");
    assert.deepEqual([kicked.reason, kicked.by, kicked.message], ["kicked_room", "zoe", "behave"]);
    await op.send("MODE #ops +i", "INVITE amy #ops");
    const invite = await json.expect("invite");
    assert.deepEqual([invite.by, invite.room], ["zoe", "#ops"]);
  } finally {
    op.close();
    json.close();
    plain.close();
    await server.shutdown();
  }
});

Deno.test("IRC SASL PLAIN: success (900, 903, then 001 as the account), failure 904, abort 906, 908, 905", async () => {
  const server = ircServer();
  const owner = await JsonClient.login(server, "kai");
  await command(owner, "/register correct-horse");
  owner.close();
  await eventually(() => server.hub.user("kai") === undefined, "kai to leave");
  const irc = await RawIrcClient.open(server);
  const bad = await RawIrcClient.open(server);
  try {
    await irc.send("CAP LS 302");
    assert.match(await irc.expect(/ CAP \* LS /), /(^| |:)sasl=PLAIN( |$)/);
    await irc.send("CAP REQ :sasl", "NICK guest", "USER k 0 * :K");
    await irc.expect(/ ACK :sasl/);
    await irc.send("AUTHENTICATE EXTERNAL");
    assert.equal(await irc.expect(/ 908 /), `:${S} 908 guest PLAIN :are available SASL mechanisms`);
    assert.equal(await irc.expect(/ 904 /), `:${S} 904 guest :SASL authentication failed`);
    await irc.send("AUTHENTICATE PLAIN");
    assert.equal(await irc.expect(/AUTHENTICATE/), "AUTHENTICATE +");
    await irc.send("AUTHENTICATE *");
    assert.equal(await irc.expect(/ 906 /), `:${S} 906 guest :SASL authentication aborted`);
    await irc.send("AUTHENTICATE PLAIN");
    await irc.expect(/AUTHENTICATE/);
    await irc.send("AUTHENTICATE " + "A".repeat(401));
    assert.equal(await irc.expect(/ 905 /), `:${S} 905 guest :SASL message too long`);
    await irc.send("AUTHENTICATE PLAIN");
    await irc.expect(/AUTHENTICATE/);
    await irc.send(`AUTHENTICATE ${btoa("\0kai\0correct-horse")}`);
    assert.match(
      await irc.expect(/ 900 /),
      /^:irc\.test 900 guest guest!~k@\S+\.sc kai :You are now logged in as kai$/,
    );
    assert.equal(await irc.expect(/ 903 /), `:${S} 903 guest :SASL authentication successful`);
    assert.equal(server.hub.user("kai"), undefined); // registration waits for CAP END
    await irc.send("CAP END");
    await irc.expect(/ 001 kai /);
    assert.equal(server.hub.user("kai")?.verified, true);
    await irc.send("AUTHENTICATE PLAIN");
    assert.equal(
      await irc.expect(/ 907 /),
      `:${S} 907 kai :You have already authenticated using SASL`,
    );

    await bad.send("CAP LS 302", "CAP REQ :sasl", "NICK other", "USER o 0 * :O");
    await bad.expect(/ ACK /);
    await bad.send("AUTHENTICATE PLAIN", `AUTHENTICATE ${btoa("\0kai\0wrong")}`);
    assert.equal(await bad.expect(/ 904 /), `:${S} 904 other :SASL authentication failed`);
    await bad.send("CAP END");
    await bad.expect(/ 001 other /);
  } finally {
    irc.close();
    bad.close();
    await server.shutdown();
  }
});

Deno.test("IRC: WHOX gives exactly the asked fields in canonical order; LIST, USERHOST, TIME", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.login(server, "cy");
  const json = await JsonClient.login(server, "di");
  try {
    await irc.send("JOIN #lobby");
    await irc.expect(/ 366 /);
    // irssi's channel sync: fields given in another order still come back t c u h n f a r.
    await irc.send("WHO #lobby %rafnhuct,743");
    const rows = [await irc.expect(/ 354 /), await irc.expect(/ 354 /)].sort();
    assert.match(rows[0], /^:irc\.test 354 cy 743 #lobby ~cy \S+\.sc cy H@? 0 :cy tester$/);
    assert.match(rows[1], /^:irc\.test 354 cy 743 #lobby ~sc \S+\.sc di H 0 :sockchat user$/);
    assert.equal(await irc.expect(/ 315 /), `:${S} 315 cy #lobby :End of WHO list`);
    await irc.send("LIST");
    assert.equal(await irc.expect(/ 321 /), `:${S} 321 cy Channel :Users  Name`);
    assert.equal(await irc.expect(/ 322 /), `:${S} 322 cy #lobby 2 :`);
    assert.equal(await irc.expect(/ 323 /), `:${S} 323 cy :End of /LIST`);
    await irc.send("USERHOST di nobody");
    assert.match(await irc.expect(/ 302 /), /^:irc\.test 302 cy :di=\+~sc@\S+\.sc$/);
    await irc.send("TIME");
    assert.match(
      await irc.expect(/ 391 /),
      /^:irc\.test 391 cy irc\.test :\w{3}, \d\d \w{3} \d{4} /,
    );
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC OPER: a wrong secret is 464 and the connection stays; the right one is 381 + MODE +o; KILL", async () => {
  const operSecret: Verifier = { matches: (given) => given === "opensesame" };
  const server = ircServer({ operSecret });
  const irc = await RawIrcClient.login(server, "eli");
  const json = await JsonClient.login(server, "fox");
  try {
    await irc.send("KILL fox :no");
    assert.equal(
      await irc.expect(/ 481 /),
      `:${S} 481 eli :Permission Denied- You're not an IRC operator`,
    );
    for (let i = 0; i < 3; i++) {
      await irc.send("OPER eli wrong");
      assert.equal(await irc.expect(/ 464 /), `:${S} 464 eli :Password incorrect`);
    }
    await irc.send("PING still-here");
    await irc.expect(/PONG/);
    assert.equal(server.hub.user("eli")?.operator, false);
    const other = await RawIrcClient.login(server, "gus");
    await other.send("OPER gus opensesame");
    assert.equal(await other.expect(/ 381 /), `:${S} 381 gus :You are now an IRC operator`);
    assert.match(await other.expect(/ MODE /), /^:gus!~gus@\S+ MODE gus :?\+o$/);
    await other.send("KILL fox :spam");
    await json.expectEof();
    assert.equal(server.hub.user("fox"), undefined);
    other.close();
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC caps: extended-join, userhost-in-names and account-tag", async () => {
  const server = ircServer();
  const owner = await JsonClient.login(server, "hal");
  await command(owner, "/register correct-horse");
  const irc = await RawIrcClient.open(server);
  try {
    await irc.send(
      "CAP LS 302",
      "CAP REQ :extended-join userhost-in-names account-tag",
      "CAP END",
      "NICK ivy",
      "USER ivy 0 * :Ivy Example",
    );
    await irc.expect(/ 221 /);
    await irc.send("JOIN #lobby");
    assert.match(await irc.expect(/ JOIN /), /^:ivy!~ivy@\S+ JOIN #lobby \* :Ivy Example$/);
    const names = await irc.expect(/ 353 /);
    assert.match(names, /^:irc\.test 353 ivy = #lobby :hal!~sc@\S+\.sc @?ivy!~ivy@\S+\.sc$/);
    await owner.send({ type: "msg", room: "#lobby", text: "verified me" });
    assert.match(
      await irc.expect(/PRIVMSG/),
      /^@account=hal :hal!~sc@\S+ PRIVMSG #lobby :verified me$/,
    );
    const late = await JsonClient.login(server, "jay");
    await late.send({ type: "cmd", line: "/join #lobby", room: "#lobby" });
    assert.match(await irc.expect(/ JOIN /), /^:jay!~sc@\S+ JOIN #lobby \* :sockchat user$/);
    late.close();
  } finally {
    irc.close();
    owner.close();
    await server.shutdown();
  }
});

Deno.test("IRC services: NickServ REGISTER/IDENTIFY and ChanServ REGISTER claim a room; answers are NOTICEs from the service", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.login(server, "kit");
  try {
    await irc.send("PRIVMSG NickServ :REGISTER correct-horse");
    assert.match(await irc.expect(/NOTICE kit/), /^:NickServ!service@services\.sc NOTICE kit :/);
    assert.equal(server.hub.user("kit")?.verified, true);
    await irc.send("JOIN #kits");
    await irc.expect(/ 366 /);
    await irc.send("CS REGISTER #kits");
    assert.match(await irc.expect(/NOTICE kit/), /^:ChanServ!service@services\.sc NOTICE kit :/);
    assert.notEqual(server.hub.room("#kits")?.claim ?? null, null);
    await irc.send("PRIVMSG ChanServ :FROB");
    assert.match(
      await irc.expect(/NOTICE kit/),
      /^:ChanServ!service@services\.sc NOTICE kit :Unknown command FROB\. \/msg ChanServ HELP/,
    );
    const other = await RawIrcClient.login(server, "lee");
    await other.send("NS IDENTIFY kit wrong");
    assert.match(await other.expect(/NOTICE lee/), /^:NickServ!service@services\.sc NOTICE lee :/);
    assert.equal(server.hub.user("lee")?.verified, false);
    other.close();
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC user MODE: +i is echoed and shown in 221; another nick is 502; unknown letters 501", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.login(server, "max");
  try {
    await irc.send("MODE max +i");
    assert.match(await irc.expect(/ MODE max/), /^:max!~max@\S+ MODE max :?\+i$/);
    await irc.send("MODE max");
    assert.equal(await irc.expect(/ 221 /), `:${S} 221 max +i`);
    await irc.send("MODE other +i");
    assert.equal(await irc.expect(/ 502 /), `:${S} 502 max :Can't change mode for other users`);
    await irc.send("MODE max +z");
    assert.equal(await irc.expect(/ 501 /), `:${S} 501 max :Unknown MODE flag`);
  } finally {
    irc.close();
    await server.shutdown();
  }
});
