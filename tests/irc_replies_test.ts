/**
 * IRC replies that were partial: WHOWAS (314/312/369, 406), 333 after the topic, 329 after 324,
 * `TOPIC #r :` clearing, a PART message reaching every front end, OPER without operators (491),
 * and exact JOIN/QUIT lines for an IRC reader when the core sums up a storm of joins.
 */

import assert from "node:assert/strict";
import { RawIrcClient } from "./helpers/irc.ts";
import { command, JsonClient, LineSocket, testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";
import type { Verifier } from "../core/moderator.ts";
import { PRESENCE_BURST, PRESENCE_INDIVIDUAL_MAX } from "../config/limits.ts";

const S = "irc.test";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, ...extra });
}

/** Joins `room` and waits for the end of its names. */
async function joinRoom(irc: RawIrcClient, room: string): Promise<void> {
  await irc.send(`JOIN ${room}`);
  await irc.expect(new RegExp(` 366 \\S+ ${room} `));
}

Deno.test("WHOWAS: 314 with ident, cloak and realname, 312, 369 for an IRC user who quit; netcat users too; 406 for nobody", async () => {
  const server = ircServer();
  const asker = await RawIrcClient.login(server, "nick1");
  try {
    const gone = await RawIrcClient.open(server);
    await gone.send("NICK nick2", "USER username 0 * :Realname");
    await gone.expect(/ 221 /);
    await gone.send("QUIT :bye");
    await gone.expectEof();
    gone.close();

    await asker.send("WHOWAS nick2");
    const user = await asker.expect(/ 314 /);
    assert.match(user, /^:irc\.test 314 nick1 nick2 ~username [0-9a-f]{10}\.sc \* :Realname$/);
    assert.match(
      await asker.expect(/ 312 /),
      /^:irc\.test 312 nick1 nick2 irc\.test :\w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT$/,
    );
    assert.equal(await asker.expect(/ 369 /), `:${S} 369 nick1 nick2 :End of WHOWAS`);

    await asker.send("WHOWAS nobody");
    assert.equal(await asker.expect(/ 406 /), `:${S} 406 nick1 nobody :There was no such nickname`);
    assert.equal(await asker.expect(/ 369 /), `:${S} 369 nick1 nobody :End of WHOWAS`);
    await asker.send("WHOWAS");
    assert.equal(await asker.expect(/ 431 /), `:${S} 431 nick1 :No nickname given`);

    // A netcat user's departure is remembered too, with sockchat's ident and realname.
    const nc = await LineSocket.connect(server);
    await nc.write("ned\n");
    await nc.readUntilText("ned");
    await nc.write("/quit\n");
    await nc.expectEof();
    nc.close();
    // Two spells under one nick: newest first, `count` bounds them.
    const again = await RawIrcClient.login(server, "ned");
    await again.send("QUIT");
    await again.expectEof();
    again.close();
    await asker.send("WHOWAS ned 1");
    assert.match(await asker.expect(/ 314 /), / 314 nick1 ned ~ned \S+ \* :ned tester$/);
    await asker.expect(/ 312 /);
    assert.match(await asker.expect(/ 3(14|69) /), / 369 nick1 ned /);
    await asker.send("WHOWAS NED");
    assert.match(await asker.expect(/ 314 /), / 314 nick1 ned ~ned /);
    await asker.expect(/ 312 /);
    assert.match(await asker.expect(/ 314 /), / 314 nick1 ned ~sc \S+ \* :sockchat user$/);
    await asker.expect(/ 312 /);
    await asker.expect(/ 369 nick1 NED /);

    // A nick given up for another is in WHOWAS too.
    const renamer = await RawIrcClient.login(server, "before");
    await renamer.send("NICK after");
    await renamer.expect(/ NICK :?after$/);
    await asker.send("WHOWAS before");
    assert.match(await asker.expect(/ 314 /), / 314 nick1 before ~before \S+ \* :before tester$/);
    renamer.close();
  } finally {
    asker.close();
    await server.shutdown();
  }
});

Deno.test("333 after 332 on JOIN and TOPIC; 329 after 324; TOPIC #r : clears the topic on every front end", async () => {
  const server = ircServer();
  const ann = await RawIrcClient.login(server, "ann");
  const ben = await RawIrcClient.login(server, "ben");
  const jo = await JsonClient.login(server, "jo");
  try {
    await joinRoom(ann, "#t");
    await command(jo, "/join #t");
    const before = Math.floor(Date.now() / 1000);
    await ann.send("TOPIC #t :the topic");
    await ann.expect(/ TOPIC #t :the topic$/);
    await ben.send("JOIN #t");
    assert.equal(await ben.expect(/ 332 /), `:${S} 332 ben #t :the topic`);
    const whoTime = await ben.expect(/ 333 /);
    const match = /^:irc\.test 333 ben #t ann (\d+)$/.exec(whoTime);
    assert.ok(match, whoTime);
    assert.ok(Math.abs(Number(match[1]) - before) <= 2, whoTime);
    await ben.expect(/ 366 /);
    await ben.send("TOPIC #t");
    assert.equal(await ben.expect(/ 332 /), `:${S} 332 ben #t :the topic`);
    assert.equal(await ben.expect(/ 333 /), whoTime);

    await ben.send("MODE #t");
    assert.equal(await ben.expect(/ 324 /), `:${S} 324 ben #t +n`);
    const created = await ben.expect(/ 329 /);
    const at = /^:irc\.test 329 ben #t (\d+)$/.exec(created);
    assert.ok(at, created);
    assert.ok(Math.abs(Number(at[1]) - before) <= 5, created);

    // An empty trailing parameter clears; no parameter asks.
    await ben.send("TOPIC #t :");
    assert.match(await ann.expect(/ TOPIC /), /^:ben!~ben@\S+ TOPIC #t :$/);
    assert.match(await ben.expect(/ TOPIC /), /^:ben!~ben@\S+ TOPIC #t :$/);
    let cleared = await jo.expect("topic");
    while (cleared.by !== "ben") cleared = await jo.expect("topic");
    assert.equal(cleared.topic, "");
    await ben.send("TOPIC #t");
    assert.equal(await ben.expect(/ 33[12] /), `:${S} 331 ben #t :No topic is set`);
    assert.equal(server.hub.room("#t")?.topic, "");
  } finally {
    ann.close();
    ben.close();
    jo.close();
    await server.shutdown();
  }
});

Deno.test("PART #r :message: IRC, NDJSON and netcat members see the message, cleaned", async () => {
  const server = ircServer();
  const ian = await RawIrcClient.login(server, "ian");
  const ivy = await RawIrcClient.login(server, "ivy");
  const jo = await JsonClient.login(server, "jo");
  const nc = await LineSocket.connect(server);
  try {
    await nc.write("ned\n");
    await nc.readUntilText("ned");
    await joinRoom(ian, "#p");
    await joinRoom(ivy, "#p");
    await command(jo, "/join #p");
    await nc.write("/join #p\n");
    await nc.readUntilText("You are in #p");
    await ian.send("PART #p :see you \x1b[2Jlater");
    assert.match(await ian.expect(/ PART /), /^:ian!~ian@\S+ PART #p :see you later$/);
    assert.match(await ivy.expect(/ PART /), /^:ian!~ian@\S+ PART #p :see you later$/);
    const left = await jo.expect("leave");
    assert.deepEqual([left.nick, left.reason, left.message], ["ian", "part", "see you later"]);
    const line = await nc.readUntilText("see you later)\r\n");
    assert.match(line, /\* ian left #p \(left: see you later\)\r\n$/);
    assert.ok(!line.includes("\x1b"), line);

    // The native /leave takes the message too.
    await command(jo, "/leave #p gone home");
    assert.match(await ivy.expect(/ PART /), /^:jo!~sc@\S+ PART #p :gone home$/);
    await ivy.send("PART #p");
    assert.match(await ivy.expect(/ PART /), /^:ivy!~ivy@\S+ PART #p$/);
  } finally {
    ian.close();
    ivy.close();
    jo.close();
    nc.close();
    await server.shutdown();
  }
});

Deno.test("OPER with no operator secret configured is 491, and stays open", async () => {
  const server = ircServer();
  const irc = await RawIrcClient.login(server, "eve");
  try {
    await irc.send("OPER eve anything");
    assert.equal(await irc.expect(/ 491 /), `:${S} 491 eve :No O-lines for your host`);
    await irc.send("PING alive");
    await irc.expect(/PONG/);
  } finally {
    irc.close();
    await server.shutdown();
  }
  // With a secret, a wrong one is still 464 (irc_session_test has the rest).
  const operSecret: Verifier = { matches: (given) => given === "opensesame" };
  const opered = ircServer({ operSecret });
  const other = await RawIrcClient.login(opered, "fay");
  try {
    await other.send("OPER fay wrong");
    assert.match(await other.expect(/ 464 | 491 /), / 464 fay /);
  } finally {
    other.close();
    await opered.shutdown();
  }
});

Deno.test("presence storm: the summary's joins and quits reach an IRC reader as exact JOIN and QUIT lines", async () => {
  const server = ircServer({ maxConnsPerIp: 100 });
  const watch = await RawIrcClient.login(server, "watch");
  const late = await RawIrcClient.login(server, "late");
  const people: JsonClient[] = [];
  try {
    await joinRoom(watch, "#storm");
    // Spend the room's burst, then go past what is told one by one: the rest is summed up.
    const count = PRESENCE_BURST + PRESENCE_INDIVIDUAL_MAX + 3;
    let lateNames = "";
    for (let i = 0; i < count; i++) {
      const json = await JsonClient.login(server, `p${i}`);
      people.push(json);
      await command(json, "/join #storm");
      if (i === count - 4) {
        // An IRC reader joining in the storm: those its NAMES listed are not news to it.
        await late.send("JOIN #storm");
        lateNames = await late.expect(/ 353 late = #storm /);
      }
    }
    // One who was told on their own quits inside the window: the summary counts them as gone.
    people[0].close();
    const joins = new Set<string>();
    let quit = "";
    while (joins.size < count || quit === "") {
      const line = await watch.expect(/ (JOIN|QUIT) /, 8000);
      const join = /^:(p\d+)!\S+ JOIN #storm$/.exec(line);
      if (join) joins.add(join[1]);
      if (/^:p0!\S+ QUIT /.test(line)) quit = line;
    }
    assert.equal(joins.size, count);
    assert.match(quit, /^:p0!~sc@\S+ QUIT :/);
    // Each exactly once, whether told on its own or in the summary.
    await watch.send("PING done");
    await watch.expect(/PONG \S+ :done$/);
    const lines = watch.seen.filter((l) => /^:p\d+!\S+ (JOIN #storm|QUIT )/.test(l));
    assert.equal(lines.length, count + 1, lines.join("\n"));
    // The late reader: every member either in its NAMES or in a JOIN line, never both.
    await late.send("PING done");
    await late.expect(/PONG \S+ :done$/);
    const lateJoins = late.seen.flatMap((l) => /^:(p\d+)!\S+ JOIN #storm$/.exec(l)?.[1] ?? []);
    for (let i = 0; i < count; i++) {
      const listed = new RegExp(`[ :]p${i}( |$)`).test(lateNames);
      const joined = lateJoins.filter((nick) => nick === `p${i}`).length;
      assert.equal(Number(listed) + joined, 1, `p${i}: listed ${listed}, joined ${joined}`);
    }
    assert.ok(lateJoins.length > 0, "some joins came after the late reader's");
    // No summary NOTICE for an IRC reader: it got the lines instead.
    assert.deepEqual(watch.seen.filter((l) => / NOTICE watch :\* \d+ joined/.test(l)), []);
    await watch.send("NAMES #storm");
    const names = await watch.expect(/ 353 /);
    for (let i = 1; i < count; i++) assert.match(names, new RegExp(`[ :]p${i}( |$)`));
    assert.doesNotMatch(names, /[ :]p0( |$)/);
    // NDJSON members get the line, without the lists.
    const info = await people[count - 1].expect("info", 8000);
    assert.equal(info.joined, undefined);
    assert.equal(info.left, undefined);
    assert.match(info.text, /joined #storm/);
  } finally {
    watch.close();
    late.close();
    for (const p of people) p.close();
    await server.shutdown();
  }
});
