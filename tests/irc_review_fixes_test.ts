import assert from "node:assert/strict";
import { RawIrcClient } from "./helpers/irc.ts";
import { testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";

const S = "irc.test";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, ...extra });
}

Deno.test("IRC review: a USER realname with escapes, BEL and U+202E reaches WHOIS 311 clean and cut", async () => {
  const server = ircServer();
  const evil = await RawIrcClient.open(server);
  const other = await RawIrcClient.login(server, "watcher");
  try {
    await evil.send("NICK mal", `USER mal 0 * :\x1b]0;x\x07Mal\u202Elory\x1b[2J`);
    await evil.expect(/ 221 /);
    await other.send("WHOIS mal");
    assert.match(await other.expect(/ 311 /), /^:irc\.test 311 watcher mal ~mal \S+ \* :Mallory$/);
    await evil.send("QUIT");
    const long = await RawIrcClient.open(server);
    try {
      await long.send("NICK lng", `USER lng 0 * :${"r".repeat(300)}`);
      await long.expect(/ 221 /);
      await other.send("WHOIS lng");
      const line = await other.expect(/ 311 /);
      assert.equal(line.slice(line.lastIndexOf(":") + 1), "r".repeat(100));
    } finally {
      long.close();
    }
  } finally {
    evil.close();
    other.close();
    await server.shutdown();
  }
});

Deno.test("IRC review: PRIVMSG past TARGMAX is 407 and sends nothing; repeated targets get one copy", async () => {
  const server = ircServer();
  const sender = await RawIrcClient.login(server, "snd");
  const reader = await RawIrcClient.login(server, "rdr");
  try {
    await sender.send("JOIN #a");
    await sender.expect(/ 366 /);
    await reader.send("JOIN #a");
    await reader.expect(/ 366 /);
    await sender.send(`PRIVMSG ${Array(160).fill("#a").join(",")} :spam`);
    assert.equal(await sender.expect(/ 407 /), `:${S} 407 snd #a :Too many targets`);
    await sender.send("PRIVMSG #a,#A,#a,rdr :once");
    await sender.send("PRIVMSG #a :marker");
    // The direct message and the room copy may come in either order: collect up to the marker.
    const got: string[] = [];
    while (true) {
      const line = await reader.expect(/ PRIVMSG /);
      if (line.endsWith("#a :marker")) break;
      got.push(line.slice(line.indexOf(" PRIVMSG ") + 9));
    }
    assert.deepEqual(got.sort(), ["#a :once", "rdr :once"]);
    assert.equal(reader.seen.filter((l) => l.endsWith("spam")).length, 0);
  } finally {
    sender.close();
    reader.close();
    await server.shutdown();
  }
});

Deno.test("IRC review: every room of a JOIN list after the first is charged to flood control", async () => {
  const server = ircServer({ flood: { messagesPerSecond: 20, messageBurst: 5 } });
  const irc = await RawIrcClient.login(server, "jn");
  try {
    const rooms = Array.from({ length: 25 }, (_, i) => `#r${i}`);
    const started = performance.now();
    await irc.send(`JOIN ${rooms.join(",")}`);
    await irc.expect(/ 366 jn #r24 /);
    // 20 rooms past the burst at 20/s: about a second, as 25 JOIN lines would take.
    assert.ok(performance.now() - started >= 700, `${performance.now() - started} ms`);
    assert.equal(server.hub.user("jn")?.rooms.size, 25);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC review: MODE #r +b mask sets a ban through the core; MODE #r b and +b list it (367, 368)", async () => {
  const server = ircServer();
  const op = await RawIrcClient.login(server, "opr");
  try {
    await op.send("JOIN #r");
    await op.expect(/ 366 /);
    await op.send("MODE #r +b bad*!*@*");
    assert.match(await op.expect(/ MODE #r /), /^:opr!\S+ MODE #r \+b bad\*!\*@\*$/);
    for (const query of ["MODE #r b", "MODE #r +b"]) {
      await op.send(query);
      assert.match(
        await op.expect(/ 367 /),
        /^:irc\.test 367 opr #r bad\*!\*@\* opr \d{10}$/,
      );
      assert.equal(await op.expect(/ 368 /), `:${S} 368 opr #r :End of channel ban list`);
    }
    assert.equal(server.hub.room("#r")?.modes.bans.length, 1);
  } finally {
    op.close();
    await server.shutdown();
  }
});

Deno.test("IRC review: every room of a NAMES list after the first is charged to flood control", async () => {
  const server = ircServer({ flood: { messagesPerSecond: 20, messageBurst: 5 } });
  const irc = await RawIrcClient.login(server, "nm");
  try {
    await irc.send("JOIN #n");
    await irc.expect(/ 366 /);
    const started = performance.now();
    await irc.send(`NAMES ${Array(25).fill("#n").join(",")}`);
    for (let i = 0; i < 25; i++) await irc.expect(/ 366 nm #n /);
    // 20 entries past the burst at 20/s: about a second, as 25 NAMES lines would take.
    assert.ok(performance.now() - started >= 700, `${performance.now() - started} ms`);
  } finally {
    irc.close();
    await server.shutdown();
  }
});
