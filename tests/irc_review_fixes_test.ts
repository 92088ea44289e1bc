import assert from "node:assert/strict";
import { RawIrcClient } from "./helpers/irc.ts";
import { testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";

const S = "irc.test";

function ircServer(): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S } });
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
