/**
 * What a new user walking the README with irssi and WeeChat ran into: 433's text by its cause,
 * no NOTICE repeating a KICK, NickServ/ChanServ naming an unknown command, 329 kept when a room
 * is claimed, CHATHISTORY and 403 saying why, and markers around a JOIN's history replay.
 *
 * @module
 */

import assert from "node:assert/strict";
import { capped, RawIrcClient } from "./helpers/irc.ts";
import { testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";
import { ROOM_NAME_MAX_LENGTH } from "../config/limits.ts";

const S = "irc.test";

function ircServer(): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, flood: null });
}

/** Every line `irc` gets after sending `lines`, up to the PONG that follows them. */
async function answers(irc: RawIrcClient, ...lines: string[]): Promise<string[]> {
  const from = irc.seen.length;
  const token = `t${from}`;
  await irc.send(...lines, `PING ${token}`);
  await irc.expect(new RegExp(`PONG ${S} :${token}$`));
  return irc.seen.slice(from, -1);
}

Deno.test("IRC walkthrough: 433 says why: in use, a lookalike of a nick in use, or registered", async () => {
  const server = ircServer();
  const alice = await RawIrcClient.login(server, "alice");
  const guest = await RawIrcClient.login(server, "rawuser");
  try {
    assert.deepEqual(await answers(guest, "NICK alice"), [
      `:${S} 433 rawuser alice :Nickname is already in use`,
    ]);
    assert.deepEqual(await answers(guest, "NICK a1ice"), [
      `:${S} 433 rawuser a1ice :Nickname is already in use (looks the same as alice)`,
    ]);
    await answers(alice, "PRIVMSG NickServ :REGISTER correct-horse");
    // Registered, and its owner is online: in use is why it cannot be had now.
    const online = await answers(guest, "NICK alice");
    assert.equal(online[0], `:${S} 433 rawuser alice :Nickname is already in use`);
    // Registered, nobody holds it: the password proves it.
    await answers(alice, "NICK alice2");
    const offline = await answers(guest, "NICK alice");
    assert.equal(
      offline[0],
      `:${S} 433 rawuser alice :Nickname is registered: /msg NickServ IDENTIFY alice PASSWORD`,
    );
  } finally {
    alice.close();
    guest.close();
    await server.shutdown();
  }
});

Deno.test("IRC walkthrough: KICK's answer is the KICK line only (labeled too); MODE, INVITE, TOPIC, PART, JOIN add no NOTICE", async () => {
  const server = ircServer();
  const alice = await capped(server, "alice", "labeled-response batch");
  const bob = await RawIrcClient.login(server, "bob");
  try {
    await answers(alice, "JOIN #kb");
    await answers(bob, "JOIN #kb");
    await alice.expect(/^:bob!\S+ JOIN #kb/);
    const kick = await answers(alice, "KICK #kb bob :bye");
    assert.deepEqual(kick, [
      `:alice!~alice@${kick[0].split("@")[1].split(" ")[0]} KICK #kb bob :bye`,
    ]);
    await answers(bob, "JOIN #kb");
    await alice.expect(/^:bob!\S+ JOIN #kb/);
    const labeled = await answers(alice, "@label=k1 KICK #kb bob");
    assert.equal(labeled.length, 1, labeled.join("\n"));
    assert.match(labeled[0], /^@label=k1 :alice!\S+ KICK #kb bob/);
    const rest = await answers(
      alice,
      "MODE #kb +m",
      "INVITE bob #kb",
      "TOPIC #kb :top",
      "PART #kb",
      "JOIN #kb",
    );
    assert.deepEqual(rest.filter((line) => / NOTICE /.test(line)), [], rest.join("\n"));
    assert.ok(rest.some((line) => / 341 alice bob #kb$/.test(line)), rest.join("\n"));
  } finally {
    alice.close();
    bob.close();
    await server.shutdown();
  }
});

Deno.test("IRC walkthrough: services name an unknown command; GHOST/REGAIN nick password is IDENTIFY", async () => {
  const server = ircServer();
  const alice = await RawIrcClient.login(server, "alice");
  const guest = await RawIrcClient.login(server, "rawuser");
  const NS = ":NickServ!service@services.sc NOTICE";
  try {
    assert.deepEqual(await answers(guest, "PRIVMSG NickServ :INFO dave"), [
      `${NS} rawuser :Unknown command INFO. /msg NickServ HELP for the commands`,
    ]);
    assert.deepEqual(await answers(guest, "PRIVMSG ChanServ :INFO #room"), [
      ":ChanServ!service@services.sc NOTICE rawuser :Unknown command INFO. " +
      "/msg ChanServ HELP for the commands",
    ]);
    const ghost = await answers(guest, "PRIVMSG NickServ :GHOST alice");
    assert.equal(ghost.length, 1);
    assert.match(
      ghost[0],
      /GHOST needs the nick and its password: \/msg NickServ GHOST alice PASSWORD/,
    );
    assert.match(ghost[0], /IDENTIFY alice PASSWORD, which takes the nick over from a ghost/);
    // HELP still lists the commands.
    assert.match((await answers(guest, "PRIVMSG NickServ :HELP"))[0], /REGISTER <password>/);
    await answers(alice, "PRIVMSG NickServ :REGISTER correct-horse", "JOIN #g");
    await answers(guest, "JOIN #g");
    alice.close();
    await guest.expect(/^:alice!\S+ QUIT /);
    // The nick's password proves it, as IDENTIFY alice correct-horse does.
    await guest.send("PRIVMSG NickServ :REGAIN alice correct-horse");
    assert.match(await guest.expect(/ NICK /), /^:rawuser!\S+ NICK :alice$/);
    await guest.expect(/ 900 alice /);
    assert.equal(server.hub.user("alice")?.verified, true);
  } finally {
    alice.close();
    guest.close();
    await server.shutdown();
  }
});

Deno.test("IRC walkthrough: claiming a room keeps its creation time (329)", async () => {
  const server = ircServer();
  const alice = await RawIrcClient.login(server, "alice");
  const realNow = Date.now;
  try {
    await answers(alice, "PRIVMSG NickServ :REGISTER correct-horse");
    // The room was made an hour ago (Room.created reads the wall clock), claimed now.
    Date.now = () => realNow() - 3_600_000;
    try {
      await answers(alice, "JOIN #old");
    } finally {
      Date.now = realNow;
    }
    const before = (await answers(alice, "MODE #old")).find((line) => / 329 /.test(line));
    assert.ok(before !== undefined);
    await answers(alice, "PRIVMSG ChanServ :REGISTER #old");
    const after = (await answers(alice, "MODE #old")).find((line) => / 329 /.test(line));
    assert.equal(after, before);
  } finally {
    Date.now = realNow;
    alice.close();
    await server.shutdown();
  }
});

Deno.test("IRC walkthrough: CHATHISTORY's INVALID_TARGET and 403 for a long name say why", async () => {
  const server = ircServer();
  const alice = await RawIrcClient.login(server, "alice");
  const guest = await RawIrcClient.login(server, "rawuser");
  try {
    await answers(alice, "JOIN #lobby2");
    assert.deepEqual(await answers(guest, "CHATHISTORY LATEST #lobby2 * 10"), [
      `:${S} FAIL CHATHISTORY INVALID_TARGET LATEST #lobby2 :You are not in #lobby2: JOIN it to read its history`,
    ]);
    assert.deepEqual(await answers(guest, "CHATHISTORY LATEST #nosuch * 10"), [
      `:${S} FAIL CHATHISTORY INVALID_TARGET LATEST #nosuch :No such channel #nosuch`,
    ]);
    const long = "#" + "x".repeat(ROOM_NAME_MAX_LENGTH + 1);
    assert.deepEqual(await answers(guest, `JOIN ${long}`), [
      `:${S} 403 rawuser ${long} :A channel name needs 1 to ${ROOM_NAME_MAX_LENGTH} characters after the #.`,
    ]);
  } finally {
    alice.close();
    guest.close();
    await server.shutdown();
  }
});

Deno.test("IRC walkthrough: a JOIN's history replay is marked by NOTICEs, only when it sends something", async () => {
  const server = ircServer();
  const alice = await RawIrcClient.login(server, "alice");
  const bob = await RawIrcClient.login(server, "bob");
  try {
    await answers(alice, "JOIN #r");
    // Nothing to replay: no markers.
    const empty = await answers(bob, "JOIN #r");
    assert.deepEqual(empty.filter((line) => / NOTICE /.test(line)), [], empty.join("\n"));
    await answers(bob, "PART #r");
    await answers(alice, "PRIVMSG #r :one", "PRIVMSG #r :two");
    const joined = await answers(bob, "JOIN #r");
    const from = joined.findIndex((line) => / 366 bob #r /.test(line));
    assert.deepEqual(joined.slice(from + 1), [
      `:${S} NOTICE #r :* Replaying recent messages of #r`,
      ":alice!~sc@gone.sc PRIVMSG #r :one",
      ":alice!~sc@gone.sc PRIVMSG #r :two",
      `:${S} NOTICE #r :* End of replay of #r (2 messages)`,
    ]);
  } finally {
    alice.close();
    bob.close();
    await server.shutdown();
  }
});
