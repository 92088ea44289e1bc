/**
 * Final fixes (final-a): room bans match the ident and the cloak users show on IRC, on every
 * front end; two live sessions of one account do not take the nick from each other forever; a
 * resume pass is tied to the registration it was given under.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RawIrcClient } from "./helpers/irc.ts";
import { command, JsonClient, testServer } from "./helpers/wire.ts";

/** The cloak in `line`'s source (`:nick!~ident@cloak ...`). */
function cloakIn(line: string): string {
  return line.slice(line.indexOf("@") + 1, line.indexOf(" "));
}

/** An IRC client registered as `nick` with USER `ident`. */
async function ircAs(
  server: ReturnType<typeof testServer>,
  nick: string,
  ident: string,
): Promise<RawIrcClient> {
  const client = await RawIrcClient.open(server);
  await client.send(`NICK ${nick}`, `USER ${ident} 0 * :${nick}`);
  await client.expect(/ 221 /);
  return client;
}

Deno.test("room bans on IRC: a mask on the ident or the cloak (irssi's /kb *!*sc@cloak) keeps native and IRC users out", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const op = await RawIrcClient.login(server, "op");
  const bob = await JsonClient.login(server, "bob");
  const carl = await ircAs(server, "carl", "sc");
  const dave = await ircAs(server, "dave", "banme");
  try {
    await op.send("JOIN #r");
    const cloak = cloakIn(await op.expect(/ JOIN #r$/));
    await op.expect(/ 366 op #r /);
    for (const mask of [`*!*sc@${cloak}`, `*!*@${cloak}`, "*!~sc@*", "*!*sc@*"]) {
      await op.send(`MODE #r +b ${mask}`);
      await op.expect(/ MODE #r \+b /);
      const refused = await command(bob, "/join #r");
      assert.equal(refused.type === "error" && refused.code, "room_banned", mask);
      await carl.send("JOIN #r");
      assert.match(await carl.expect(/ 474 /), /^:irc\.test 474 carl #r :/, mask);
      await op.send(`MODE #r -b ${mask}`);
      await op.expect(/ MODE #r -b /);
    }
    for (const mask of ["*!~banme@*", "*!banme@*"]) {
      await op.send(`MODE #r +b ${mask}`);
      await op.expect(/ MODE #r \+b /);
      await dave.send("JOIN #r");
      assert.match(await dave.expect(/ 474 /), /^:irc\.test 474 dave #r :/, mask);
      await op.send(`MODE #r -b ${mask}`);
      await op.expect(/ MODE #r -b /);
    }
    // A ban on an ident that is not theirs lets them in.
    await op.send("MODE #r +b *!~other@*");
    await op.expect(/ MODE #r \+b /);
    await carl.send("JOIN #r");
    await carl.expect(/ 366 carl #r /);
    // A ban set on a member already in: they stay, but may not speak (404), as before.
    await op.send(`MODE #r +b *!~sc@${cloak}`);
    await carl.expect(/ MODE #r \+b /);
    await carl.send("PRIVMSG #r :still here");
    assert.match(await carl.expect(/ 404 /), /^:irc\.test 404 carl #r :/);
  } finally {
    for (const c of [op, bob, carl, dave]) c.close();
    await server.shutdown();
  }
});

Deno.test("room bans natively: /mode #r +b on the cloak or the ident keeps native and IRC users out", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const ann = await JsonClient.login(server, "ann");
  const bob = await JsonClient.login(server, "bob");
  const carl = await ircAs(server, "carl", "banme");
  const watcher = await RawIrcClient.login(server, "watcher");
  try {
    await watcher.send("JOIN #lobby");
    const cloak = cloakIn(await watcher.expect(/ JOIN #lobby$/));
    const joined = await command(ann, "/join #n");
    assert.notEqual(joined.type, "error");
    // Each mask, and whether it bans bob (native: ~sc) and carl (IRC: ~banme); both share a cloak.
    const cases: [string, boolean, boolean][] = [
      [`*!*@${cloak}`, true, true],
      [`*!*sc@${cloak}`, true, false],
      ["*!sc@*", true, false],
      // Last: bob gets in and stays.
      ["*!~banme@*", false, true],
    ];
    for (const [mask, bobOut, carlOut] of cases) {
      const set = await command(ann, `/mode #n +b ${mask}`, "#n");
      assert.equal(set.type, "mode", JSON.stringify(set));
      const bobJoin = await command(bob, "/join #n");
      assert.equal(bobJoin.type === "error" && bobJoin.code === "room_banned", bobOut, mask);
      await carl.send("JOIN #n");
      if (carlOut) assert.match(await carl.expect(/ 474 /), /^:irc\.test 474 carl #n :/, mask);
      else {
        await carl.expect(/ 366 carl #n /);
        await carl.send("PART #n");
        await carl.expect(/ PART #n/);
      }
      await command(ann, `/mode #n -b ${mask}`, "#n");
    }
  } finally {
    for (const c of [ann, bob, carl, watcher]) c.close();
    await server.shutdown();
  }
});
