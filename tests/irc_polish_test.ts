/**
 * What irssi, WeeChat and the bench found wrong on the IRC front end: human text not always
 * trailing, hints naming sockchat's `/identify`, SASL numerics naming `*` after NICK, MODE on an
 * empty claimed room, a blank TOPIC, NAMELEN out of the 005 order, and the sender looked up
 * twice per rendered message.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RawIrcClient } from "./helpers/irc.ts";
import { testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";
import type { ChatView } from "../protocol/session.ts";
import { IrcRenderer } from "../protocol/irc/render.ts";
import type { IrcCap } from "../protocol/irc/caps.ts";
import { ircHint } from "../protocol/irc/commands/services.ts";

/** What an IrcRenderer asks for the line an echo answers. */
type Pending = ConstructorParameters<typeof IrcRenderer>[0]["pending"];

const S = "irc.test";

function ircServer(): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S } });
}

/** Logs `nick` in, joins `room` and waits for its 366. */
async function joined(server: ChatServer, nick: string, room: string): Promise<RawIrcClient> {
  const irc = await RawIrcClient.login(server, nick);
  await irc.send(`JOIN ${room}`);
  await irc.expect(new RegExp(` 366 ${nick} `));
  return irc;
}

Deno.test("IRC polish: a one-word PRIVMSG, NOTICE, CTCP and multiline line is written trailing", async () => {
  const server = ircServer();
  const ann = await joined(server, "ann", "#r");
  const bob = await joined(server, "bob", "#r");
  try {
    await ann.send("PRIVMSG #r oneword", "NOTICE #r :noticed", "PRIVMSG bob :\x01VERSION\x01");
    assert.match(await bob.expect(/ PRIVMSG #r /), /^:ann!~ann@\S+ PRIVMSG #r :oneword$/);
    assert.match(await bob.expect(/ NOTICE #r /), /^:ann!~ann@\S+ NOTICE #r :noticed$/);
    const ctcp = await bob.expect(/ PRIVMSG bob /);
    assert.ok(ctcp.endsWith(" PRIVMSG bob :\x01VERSION\x01"), ctcp);
    // A message of two lines, one word each: each line is trailing too.
    await ann.send(
      "BATCH +m1 draft/multiline #r",
      "@batch=m1 PRIVMSG #r :one",
      "@batch=m1 PRIVMSG #r :two",
      "BATCH -m1",
    );
    assert.match(await bob.expect(/ PRIVMSG #r :?one/), /^:ann!~ann@\S+ PRIVMSG #r :one$/);
    assert.match(await bob.expect(/ PRIVMSG #r :?two/), /^:ann!~ann@\S+ PRIVMSG #r :two$/);
  } finally {
    ann.close();
    bob.close();
    await server.shutdown();
  }
});

Deno.test("IRC polish: the core's hints name NickServ, not /identify (REGISTER's answer, 433's NOTICE)", async () => {
  const server = ircServer();
  const kit = await RawIrcClient.login(server, "kit");
  const other = await RawIrcClient.open(server);
  try {
    await kit.send("PRIVMSG NickServ :REGISTER correct-horse");
    const registered = await kit.expect(/NOTICE kit/);
    assert.match(registered, /\/msg NickServ IDENTIFY kit PASSWORD when you log in without it/);
    assert.doesNotMatch(registered, /\/identify/);
    // The nick is taken by a password account: 433, and a NOTICE an IRC user can follow.
    await other.send("NICK kit", "USER kit 0 * :kit");
    await other.expect(/ 433 \* kit /);
    const hint = await other.expect(/ NOTICE /);
    assert.match(hint, /\/msg NickServ IDENTIFY kit PASSWORD/);
    assert.doesNotMatch(hint, /\/identify/);
  } finally {
    other.close();
    kit.close();
    await server.shutdown();
  }
});

Deno.test("IRC polish: IDENTIFY [nick] password is NickServ IDENTIFY (irssi sends /identify raw)", async () => {
  const server = ircServer();
  const kit = await RawIrcClient.login(server, "kit");
  await kit.send("NS REGISTER correct-horse");
  await kit.expect(/NOTICE kit/);
  kit.close();
  const lee = await RawIrcClient.login(server, "lee");
  try {
    await lee.send("IDENTIFY kit correct-horse");
    assert.match(await lee.expect(/ NICK /), /^:lee!~lee@\S+ NICK :kit$/);
    await lee.expect(/ 900 kit /);
    assert.equal(server.hub.user("kit")?.verified, true);
    // Without arguments: NickServ's help, from NickServ.
    await lee.send("IDENTIFY");
    assert.match(await lee.expect(/ NOTICE kit /), /^:NickServ!service@services\.sc NOTICE kit :/);
  } finally {
    lee.close();
    await server.shutdown();
  }
});

Deno.test("IRC polish: ircHint rewrites the core's slash commands for IRC users", () => {
  assert.equal(
    ircHint(
      "* kit is now registered to your password (/identify it when you log in without it).",
      "kit",
    ),
    "* kit is now registered to your password (/msg NickServ IDENTIFY kit PASSWORD when you log in without it).",
  );
  assert.equal(
    ircHint(
      "* This server requires an account: you are in no room. /register PASSWORD makes one for this " +
        "nick (or /register binds it to your key); /identify NICK PASSWORD proves one you have.",
      "ann",
    ),
    "* This server requires an account: you are in no room. /msg NickServ REGISTER PASSWORD makes " +
      "one for this nick; /msg NickServ IDENTIFY NICK PASSWORD proves one you have.",
  );
  assert.equal(
    ircHint(
      "Only registered users can talk here: /register (your key) or /register PASSWORD makes this nick yours.",
      "a",
    ),
    "Only registered users can talk here: /msg NickServ REGISTER PASSWORD makes this nick yours.",
  );
  assert.equal(
    ircHint("Only a registered, proven nick can claim a room: /register first.", "a"),
    "Only a registered, proven nick can claim a room: /msg NickServ REGISTER PASSWORD first.",
  );
  assert.equal(ircHint("/unregister #r releases it", "a"), "/msg ChanServ DROP #r releases it");
  assert.equal(ircHint("no hint here", "a"), "no hint here");
});

Deno.test("IRC polish: SASL's 900 and 903 name the NICK already given, not *", async () => {
  const server = ircServer();
  const sam = await RawIrcClient.login(server, "sam");
  await sam.send("NS REGISTER s3cret-pass");
  await sam.expect(/NOTICE sam/);
  sam.close();
  const irc = await RawIrcClient.open(server);
  try {
    await irc.send("CAP LS 302", "NICK sam", "USER sam 0 * :Sam", "CAP REQ :sasl");
    await irc.expect(/ ACK :sasl/);
    await irc.send("AUTHENTICATE PLAIN");
    await irc.expect(/^AUTHENTICATE \+$/);
    await irc.send(`AUTHENTICATE ${Buffer.from("\0sam\0s3cret-pass").toString("base64")}`);
    assert.match(
      await irc.expect(/ 900 /),
      /^:irc\.test 900 sam sam!~sam@\S+ sam :You are now logged in as sam$/,
    );
    assert.equal(await irc.expect(/ 903 /), `:${S} 903 sam :SASL authentication successful`);
    await irc.send("CAP END");
    await irc.expect(/ 001 sam /);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC polish: an empty claimed room answers MODE with 324/329 (key hidden), TOPIC/PART/KICK with 442; no room is 403", async () => {
  const server = ircServer();
  const kit = await RawIrcClient.login(server, "kit");
  const lee = await RawIrcClient.login(server, "lee");
  try {
    await kit.send("NS REGISTER correct-horse");
    await kit.expect(/NOTICE kit/);
    await kit.send("JOIN #kits");
    await kit.expect(/ 366 /);
    await kit.send("MODE #kits +tk sesame");
    await kit.expect(/ MODE #kits /);
    await kit.send("CS REGISTER #kits");
    await kit.expect(/NOTICE kit/);
    await kit.send("PART #kits");
    await kit.expect(/ PART #kits/);
    assert.equal(server.hub.room("#kits"), undefined, "the claimed room is empty and not live");
    await lee.send("MODE #kits");
    assert.equal(await lee.expect(/ 324 /), `:${S} 324 lee #kits +ntk *`);
    assert.match(await lee.expect(/ 329 /), /^:irc\.test 329 lee #kits \d+$/);
    await lee.send("MODE #kits b");
    assert.equal(await lee.expect(/ 368 /), `:${S} 368 lee #kits :End of channel ban list`);
    await lee.send("MODE #kits +m");
    assert.match(await lee.expect(/ 442 /), /^:irc\.test 442 lee #kits :/);
    await lee.send("TOPIC #kits");
    assert.match(await lee.expect(/ 442 /), /^:irc\.test 442 lee #kits :/);
    // Nobody is in it, so neither is the client: PART and KICK are 442 as well.
    await lee.send("PART #kits");
    assert.match(await lee.expect(/ 442 /), /^:irc\.test 442 lee #kits :/);
    await lee.send("KICK #kits kit");
    assert.match(await lee.expect(/ 442 /), /^:irc\.test 442 lee #kits :/);
    await lee.send("NAMES #kits");
    assert.match(await lee.expect(/ 366 /), /^:irc\.test 366 lee #kits :/);
    await lee.send("MODE #nothere");
    assert.match(await lee.expect(/ 403 /), /^:irc\.test 403 lee #nothere :/);
    await lee.send("TOPIC #nothere", "PART #nothere", "KICK #nothere kit");
    for (let i = 0; i < 3; i++) {
      assert.match(await lee.expect(/ 403 /), /^:irc\.test 403 lee #nothere :/);
    }
  } finally {
    kit.close();
    lee.close();
    await server.shutdown();
  }
});

Deno.test("IRC polish: TOPIC #r with a blank text clears the topic instead of asking for it", async () => {
  const server = ircServer();
  const ann = await joined(server, "ann", "#t");
  try {
    await ann.send("TOPIC #t :hello there");
    await ann.expect(/ TOPIC #t :hello there$/);
    await ann.send("TOPIC #t :   ");
    assert.match(await ann.expect(/ (TOPIC|332|331) /), /^:ann!~ann@\S+ TOPIC #t :$/);
    assert.equal(server.hub.room("#t")?.topic, "");
  } finally {
    ann.close();
    await server.shutdown();
  }
});

Deno.test("IRC polish: NAMELEN is in 005 once, in its alphabetical place", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.open(server);
  try {
    await irc.register("ann");
    const tokens = irc.seen
      .filter((line) => line.startsWith(`:${S} 005 `))
      .flatMap((line) => line.split(" :")[0].split(" ").slice(3));
    const names = tokens.filter((t) => t.startsWith("NAMELEN="));
    assert.deepEqual(names, ["NAMELEN=100"]);
    assert.equal(tokens[tokens.indexOf("NAMELEN=100") + 1]?.split("=")[0], "NETWORK");
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC polish: a room message, a JOIN and an echo look their user up once, the account tag included", async () => {
  const server = ircServer();
  const ann = await RawIrcClient.login(server, "ann");
  try {
    await ann.send("NS REGISTER correct-horse");
    await ann.expect(/NOTICE ann/);
    const hub = server.hub;
    let lookups = 0;
    const chat: ChatView = new Proxy(hub, {
      get(target, prop) {
        if (prop === "user") {
          return (nick: string) => {
            lookups++;
            return target.user(nick);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    /** A renderer for `client` over the counting `chat`, with `caps` enabled. */
    const rendererFor = (
      client: string,
      caps: IrcCap[],
      pending: Pending = () => null,
    ): IrcRenderer =>
      new IrcRenderer({
        info: { serverName: S, version: "t", startedAt: 0, motd: "", isupport: [] },
        chat,
        client,
        asked: client,
        sasl: false,
        caps: new Set(caps),
        cloak: "x.sc",
        pending,
      });
    const renderer = rendererFor("bob", ["account-tag", "server-time", "message-tags"]);
    const text = renderer.render({
      type: "msg",
      id: 7,
      room: "#r",
      from: "ann",
      text: "hi",
      ts: 0,
    });
    assert.equal(lookups, 1);
    assert.match(text, /^@msgid=7;time=\S+;account=ann :ann!~ann@\S+ PRIVMSG #r :hi\r\n$/);
    // A JOIN with extended-join: one lookup for the mask, the account tag and the realname.
    lookups = 0;
    const joinLines = rendererFor("bob", ["account-tag", "extended-join"]).render({
      type: "join",
      room: "#r",
      nick: "ann",
      ts: 0,
    });
    assert.equal(lookups, 1);
    assert.match(joinLines, /^@account=ann :ann!~ann@\S+ JOIN #r ann :ann tester\r\n$/);
    // The echo of the reader's own message: one lookup too.
    lookups = 0;
    const echo = rendererFor(
      "ann",
      ["account-tag", "echo-message"],
      () => ({ command: "PRIVMSG", target: "#r", text: "mine", action: false }),
    ).render({ type: "ack", id: 8, room: "#r", ref: "r1", ts: 0 });
    assert.equal(lookups, 1);
    assert.match(echo, /^@account=ann :ann!~ann@\S+ PRIVMSG #r :mine\r\n$/);
  } finally {
    ann.close();
    await server.shutdown();
  }
});
