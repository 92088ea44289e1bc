/**
 * Findings of the irctest conformance run (scripts/irctest.sh), each pinned by a raw-line test
 * so it stays fixed without irctest installed. The irctest case each one came from is named.
 */

import assert from "node:assert/strict";
import { RawIrcClient } from "./helpers/irc.ts";
import { eventually, testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";

const S = "irc.test";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, ...extra });
}

/** Runs `body` with a fresh server and one raw client, and closes both. */
async function withClient(
  body: (irc: RawIrcClient, server: ChatServer) => Promise<void>,
): Promise<void> {
  const server = ircServer();
  const irc = await RawIrcClient.open(server);
  try {
    await body(irc, server);
  } finally {
    irc.close();
    await server.shutdown();
  }
}

// sasl.py testPlainPostRegistration: 907 claimed an account the connection does not have.
Deno.test("IRC SASL: AUTHENTICATE after registering without an account is 462, not 907", async () => {
  await withClient(async (irc) => {
    await irc.send("CAP LS 302", "CAP REQ :sasl", "NICK foo", "USER f 0 * :F", "CAP END");
    await irc.expect(/ 221 /);
    await irc.send("AUTHENTICATE PLAIN");
    assert.equal(
      await irc.expect(/ (462|907|AUTHENTICATE) /),
      `:${S} 462 foo :You may not reregister`,
    );
  });
});

// sasl.py testRegistrationDuringSasl: registration completed mid-exchange waited forever.
Deno.test("IRC SASL: CAP END while the payload is awaited aborts SASL (906) and registers", async () => {
  await withClient(async (irc, server) => {
    await irc.send("CAP LS 302", "CAP REQ :sasl");
    await irc.expect(/ ACK :sasl/);
    await irc.send("AUTHENTICATE PLAIN");
    assert.equal(await irc.expect(/AUTHENTICATE/), "AUTHENTICATE +");
    await irc.send("NICK reguser", "USER reguser 0 * :Test", "CAP END");
    assert.equal(await irc.expect(/ 906 /), `:${S} 906 reguser :SASL authentication aborted`);
    await irc.expect(/ 001 reguser /);
    assert.equal(server.hub.user("reguser")?.verified, false);
  });
});

/** Reads lines up to and including the first that matches `end`; returns them all. */
async function linesUntil(irc: RawIrcClient, end: RegExp): Promise<string[]> {
  const from = irc.seen.length;
  await irc.expect(end);
  return irc.seen.slice(from);
}

// topic.py testTopicPrivileges: the topic was saved after the next line's reply (irctest
// pipelines a PING after each command and reads up to its PONG).
Deno.test("IRC: TOPIC's echo comes before the reply to the next line (commands answer in order)", async () => {
  await withClient(async (irc) => {
    await irc.register("bar");
    await irc.send("JOIN #chan");
    await irc.expect(/ 366 /);
    await irc.send("TOPIC #chan :new topic", "PING sync");
    const lines = await linesUntil(irc, /PONG/);
    assert.ok(lines.some((line) => / TOPIC #chan :new topic$/.test(line)), lines.join("\n"));
    await irc.send("NICK bar2", "PING sync2");
    const renamed = await linesUntil(irc, /PONG/);
    assert.ok(renamed.some((line) => / NICK :?bar2$/.test(line)), renamed.join("\n"));
  });
});

// lusers.py: 265/266's max was --max-users, not the most users seen; 251 counted no +i user.
Deno.test("IRC LUSERS: 265/266 give the peak of users seen, 251 counts +i users apart", async () => {
  const server = ircServer();
  const a = await RawIrcClient.login(server, "a1");
  const b = await RawIrcClient.login(server, "b1");
  try {
    await b.send("MODE b1 +i");
    await b.expect(/ MODE b1 :?\+i/);
    await b.send("LUSERS");
    assert.equal(
      await b.expect(/ 251 /),
      `:${S} 251 b1 :There are 1 users and 1 invisible on 1 servers`,
    );
    assert.equal(await b.expect(/ 265 /), `:${S} 265 b1 2 2 :Current local users 2, max 2`);
    a.close();
    await eventually(() => server.hub.user("a1") === undefined, "a1 to leave");
    await b.send("LUSERS");
    await b.expect(/ 251 b1 :There are 0 users and 1 invisible/);
    assert.equal(await b.expect(/ 266 /), `:${S} 266 b1 1 2 :Current global users 1, max 2`);
  } finally {
    a.close();
    b.close();
    await server.shutdown();
  }
});

// who.py testWhoInvisible; multi_prefix.py testMultiPrefix.
Deno.test("IRC WHO: a mask skips +i strangers (an exact nick finds them); multi-prefix flags H@+", async () => {
  const server = ircServer();
  const evan = await RawIrcClient.login(server, "evan");
  const shiv = await RawIrcClient.open(server);
  try {
    await evan.send("MODE evan +i");
    await evan.expect(/ MODE evan :?\+i/);
    await shiv.send("CAP LS 302", "CAP REQ :multi-prefix", "CAP END");
    await shiv.register("shiv");
    await shiv.send("WHO eva*");
    assert.equal(await shiv.expect(/ (352|315) /), `:${S} 315 shiv eva* :End of WHO list`);
    await shiv.send("WHO evan");
    assert.match(await shiv.expect(/ (352|315) /), / 352 shiv \* ~evan \S+ irc\.test evan H :0 /);
    await shiv.send("JOIN #test");
    await shiv.expect(/ 366 /);
    await evan.send("JOIN #test");
    await evan.expect(/ 366 /);
    await shiv.send("WHO eva*");
    assert.match(await shiv.expect(/ (352|315) /), / 352 shiv \* ~evan /);
    await shiv.send("MODE #test +v shiv", "WHO #test");
    await shiv.expect(/ MODE #test \+v shiv/);
    assert.match(await shiv.expect(/ 352 shiv #test \S+ \S+ \S+ shiv /), / H@\+ :0 /);
  } finally {
    evan.close();
    shiv.close();
    await server.shutdown();
  }
});

// chmodes/key.py, limit.py, operator.py: core NOTICEs instead of numerics; 696 named "+k".
Deno.test("IRC MODE: a bad key or limit is 696 naming the letter; +o for an absent nick 401, for a non-member 441", async () => {
  const server = ircServer();
  const op = await RawIrcClient.login(server, "chanop");
  const other = await RawIrcClient.login(server, "other");
  try {
    await op.send("JOIN #chan");
    await op.expect(/ 366 /);
    await op.send("MODE #chan +k :pass with spaces");
    assert.equal(
      await op.expect(/ 696 /),
      `:${S} 696 chanop #chan k * :A room key is 1 to 23 printable ASCII characters, without ` +
        "spaces or commas.",
    );
    await op.send("MODE #chan +k :");
    assert.match(await op.expect(/ 696 /), /^:irc\.test 696 chanop #chan k \* :/);
    await op.send("MODE #chan +l 0");
    assert.equal(
      await op.expect(/ 696 /),
      `:${S} 696 chanop #chan l 0 :A user limit is a whole number from 1 to 10000.`,
    );
    await op.send("MODE #chan +o nobody");
    assert.equal(await op.expect(/ 401 /), `:${S} 401 chanop nobody :No such nick/channel`);
    await op.send("MODE #chan +o other");
    assert.equal(
      await op.expect(/ 441 /),
      `:${S} 441 chanop other #chan :They aren't on that channel`,
    );
    await op.send("MODE #chan +k good");
    await op.expect(/ MODE #chan \+k good/);
  } finally {
    op.close();
    other.close();
    await server.shutdown();
  }
});

// kick.py testKickNonexistentChannel: 442 (not on that channel) for a room that does not exist.
Deno.test("IRC KICK: a room that does not exist is 403", async () => {
  await withClient(async (irc) => {
    await irc.register("nick");
    await irc.send("KICK #chan nick");
    assert.equal(await irc.expect(/ 4\d\d /), `:${S} 403 nick #chan :No such channel`);
  });
});

// regressions.py testCaseChanges: NICK to one's own nick got a NOTICE "You are already …".
Deno.test("IRC NICK: the nick one has, spelled the same, is a silent no-op; a new case is a change", async () => {
  await withClient(async (irc) => {
    await irc.register("alice");
    await irc.send("NICK alice", "PING sync");
    assert.deepEqual(await linesUntil(irc, /PONG/), [`:${S} PONG ${S} :sync`]);
    await irc.send("NICK Alice");
    assert.match(await irc.expect(/ NICK /), /^:alice!\S+ NICK :?Alice$/);
  });
});

// info.py testInfo: INFO was 421.
Deno.test("IRC INFO: 371 lines, then 374", async () => {
  await withClient(async (irc) => {
    await irc.register("nick");
    await irc.send("INFO");
    assert.match(await irc.expect(/ 37\d /), /^:irc\.test 371 nick :sockchat \S+$/);
    assert.equal(await irc.expect(/ 37\d /), `:${S} 374 nick :End of INFO list`);
  });
});

// invite.py testInviteAlreadyInChannel: the core's "bar is in #chan already." came as a NOTICE.
Deno.test("IRC INVITE: a member is 443, a nick nobody holds 401 naming the nick", async () => {
  const server = ircServer();
  const foo = await RawIrcClient.login(server, "foo");
  const bar = await RawIrcClient.login(server, "bar");
  try {
    await foo.send("JOIN #chan");
    await foo.expect(/ 366 /);
    await bar.send("JOIN #chan");
    await bar.expect(/ 366 /);
    await foo.send("INVITE bar #chan");
    assert.equal(await foo.expect(/ 4\d\d /), `:${S} 443 foo bar #chan :is already on channel`);
    await foo.send("INVITE nobody #chan");
    assert.equal(await foo.expect(/ 4\d\d /), `:${S} 401 foo nobody :No such nick/channel`);
  } finally {
    foo.close();
    bar.close();
    await server.shutdown();
  }
});

// lusers.py LusersUnregisteredTestCase: 253 said 0 unknown connections while one was open.
Deno.test("IRC LUSERS: no 253, since connections not logged in are not counted", async () => {
  const server = ircServer();
  const waiting = await RawIrcClient.open(server);
  const irc = await RawIrcClient.open(server);
  try {
    await waiting.send("PING x");
    await waiting.expect(/PONG/);
    await irc.register("bar");
    await irc.send("LUSERS", "PING sync");
    const lines = await linesUntil(irc, /PONG/);
    assert.ok(lines.some((line) => / 251 /.test(line)), lines.join("\n"));
    assert.ok(!lines.some((line) => / 253 /.test(line)), lines.join("\n"));
  } finally {
    waiting.close();
    irc.close();
    await server.shutdown();
  }
});

// kick.py testDoubleKickMessages: TARGMAX says KICK:4, but `KICK #chan bar,baz` was one /kick
// of a nick "bar,baz".
Deno.test("IRC KICK: a list of users (and of paired rooms) is one KICK each", async () => {
  const server = ircServer();
  const names = ["foo", "bar", "baz", "qux"];
  const clients = await Promise.all(names.map((nick) => RawIrcClient.login(server, nick)));
  const [foo, , , qux] = clients;
  try {
    for (const client of clients) {
      await client.send("JOIN #chan");
      await client.expect(/ 366 /);
    }
    await foo.send("KICK #chan bar,baz :bye");
    assert.match(await qux.expect(/ KICK /), /^:foo!\S+ KICK #chan bar :bye$/);
    assert.match(await qux.expect(/ KICK /), /^:foo!\S+ KICK #chan baz :bye$/);
    await foo.send("KICK #chan,#chan qux :x");
    assert.equal(await foo.expect(/ 461 /), `:${S} 461 foo KICK :Not enough parameters`);
    await foo.send("KICK #chan,#nope qux,qux :x");
    assert.match(await qux.expect(/ KICK /), /^:foo!\S+ KICK #chan qux :x$/);
    assert.equal(await foo.expect(/ 403 /), `:${S} 403 foo #nope :No such channel`);
  } finally {
    for (const client of clients) client.close();
    await server.shutdown();
  }
});
