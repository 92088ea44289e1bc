/**
 * The IRCv3 notify caps on the wire: away-notify, account-notify, invite-notify and setname,
 * each with the cap and without it, and across front ends (an NDJSON user's /away reaches an
 * IRC reader). Raw lines, real sockets on port 0.
 */

import assert from "node:assert/strict";
import { ircWith, RawIrcClient } from "./helpers/irc.ts";
import { Client, registerKiwi } from "./helpers/irc_framework.ts";
import { command, JsonClient, testServer, within } from "./helpers/wire.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { CoreHarness, one } from "./helpers/core.ts";
import type { ChatServer } from "../server.ts";

const S = "irc.test";

function ircServer(): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S } });
}

/**
 * Everything `irc` has been sent up to now: a PING's answer comes after whatever was queued for
 * it before, so lines not seen by then were never sent.
 */
async function drained(irc: RawIrcClient, token: string): Promise<string[]> {
  await irc.send(`PING ${token}`);
  await irc.expect(new RegExp(`PONG \\S+ :${token}$`));
  return irc.seen;
}

/** Joins `room` and waits for the end of its names. */
async function joinRoom(irc: RawIrcClient, room: string): Promise<void> {
  await irc.send(`JOIN ${room}`);
  await irc.expect(new RegExp(` 366 \\S+ ${room} `));
}

Deno.test("away-notify: an NDJSON user's /away and /back reach an IRC reader with the cap, not one without", async () => {
  const server = ircServer();
  const bob = await ircWith(server, "bob", "away-notify");
  const cy = await ircWith(server, "cy", "");
  const jo = await JsonClient.login(server, "jo");
  try {
    await joinRoom(bob, "#r");
    await joinRoom(cy, "#r");
    await command(jo, "/join #r");
    await bob.expect(/^:jo!\S+ JOIN #r$/);

    await command(jo, "/away out for lunch", "#r");
    assert.match(await bob.expect(/ AWAY/), /^:jo!~sc@\S+\.sc AWAY :out for lunch$/);
    await command(jo, "/back", "#r");
    assert.match(await bob.expect(/ AWAY/), /^:jo!~sc@\S+\.sc AWAY$/);
    // /back when not away says nothing to the room.
    await command(jo, "/back", "#r");
    assert.equal((await drained(bob, "b1")).filter((l) => /^\S+ AWAY( |$)/.test(l)).length, 2);
    assert.deepEqual((await drained(cy, "c1")).filter((l) => /^\S+ AWAY( |$)/.test(l)), []);
  } finally {
    bob.close();
    cy.close();
    jo.close();
    await server.shutdown();
  }
});

Deno.test("away-notify: IRC AWAY reaches sharers but not the sender (it has 305/306); an away user's JOIN is followed by AWAY", async () => {
  const server = ircServer();
  const bob = await ircWith(server, "bob", "away-notify");
  const al = await ircWith(server, "al", "away-notify");
  const jo = await JsonClient.login(server, "jo");
  try {
    await joinRoom(bob, "#r");
    await joinRoom(al, "#r");
    await al.send("AWAY :brb");
    await al.expect(/ 306 al /);
    assert.match(await bob.expect(/ AWAY/), /^:al!~al@\S+ AWAY :brb$/);
    assert.deepEqual((await drained(al, "a1")).filter((l) => /^\S+ AWAY( |$)/.test(l)), []);

    // Away with no message (a native /away): IRC shows a message, since a bare AWAY is "back".
    await command(jo, "/away", "#lobby");
    await command(jo, "/join #r");
    await bob.expect(/^:jo!\S+ JOIN #r$/);
    assert.match(await bob.expect(/ AWAY/), /^:jo!\S+ AWAY :Away$/);
  } finally {
    bob.close();
    al.close();
    jo.close();
    await server.shutdown();
  }
});

Deno.test("account-notify: register, identify and a nick change away from the account; 900/901 to the user itself", async () => {
  const server = ircServer();
  const bob = await ircWith(server, "bob", "account-notify");
  const cy = await ircWith(server, "cy", "");
  const jo = await JsonClient.login(server, "jo");
  const kit = await ircWith(server, "kit", "account-notify");
  try {
    for (const irc of [bob, cy, kit]) await joinRoom(irc, "#r");
    await command(jo, "/join #r");
    await bob.expect(/^:jo!\S+ JOIN #r$/);

    await command(jo, "/register correct-horse", "#r");
    assert.match(await bob.expect(/ ACCOUNT /), /^:jo!~sc@\S+ ACCOUNT jo$/);
    await command(jo, "/nick joe", "#r");
    assert.match(await bob.expect(/ ACCOUNT /), /^:joe!~sc@\S+ ACCOUNT \*$/);
    // Back to the registered nick: not proven by the rename alone, so no account.
    await command(jo, "/nick jo", "#r");
    await command(jo, "/identify jo correct-horse", "#r");
    assert.match(await bob.expect(/ ACCOUNT /), /^:jo!~sc@\S+ ACCOUNT jo$/);

    // An IRC user registering through NickServ: 900 and its own ACCOUNT line.
    await kit.send("PRIVMSG NickServ :REGISTER hunter22");
    assert.match(
      await kit.expect(/ 900 /),
      /^:irc\.test 900 kit kit!~kit@\S+ kit :You are now logged in as kit$/,
    );
    assert.match(await kit.expect(/ ACCOUNT /), /^:kit!~kit@\S+ ACCOUNT kit$/);
    assert.match(await bob.expect(/ ACCOUNT /), /^:kit!~kit@\S+ ACCOUNT kit$/);
    await kit.send("NICK kat");
    assert.match(
      await kit.expect(/ 901 /),
      /^:irc\.test 901 kat kat!~kit@\S+ :You are now logged out$/,
    );
    assert.match(await bob.expect(/ ACCOUNT /), /^:kat!~kit@\S+ ACCOUNT \*$/);

    assert.deepEqual((await drained(cy, "c1")).filter((l) => / ACCOUNT /.test(l)), []);
  } finally {
    bob.close();
    cy.close();
    jo.close();
    kit.close();
    await server.shutdown();
  }
});

Deno.test("invite-notify: a room operator with the cap sees a member's INVITE; one without does not; the invitee always does", async () => {
  const server = ircServer();
  const op = await ircWith(server, "op", "invite-notify");
  const op2 = await ircWith(server, "op2", "");
  const mem = await ircWith(server, "mem", "");
  const guest = await ircWith(server, "guest", "");
  const jo = await JsonClient.login(server, "jo");
  try {
    await joinRoom(op, "#inv"); // the creator is its operator
    await joinRoom(op2, "#inv");
    await op.send("MODE #inv +o op2");
    await op2.expect(/ MODE #inv \+o op2/);
    await joinRoom(mem, "#inv");
    await mem.send("INVITE guest #inv");
    assert.match(await guest.expect(/ INVITE /), /^:mem!~mem@\S+ INVITE guest #inv$/);
    assert.match(await op.expect(/ INVITE /), /^:mem!~mem@\S+ INVITE guest #inv$/);
    assert.deepEqual((await drained(op2, "o1")).filter((l) => / INVITE /.test(l)), []);
    // The inviter hears of it once (its own answer), not as an operator's copy.
    assert.deepEqual((await drained(mem, "m1")).filter((l) => / INVITE /.test(l)), []);

    // An NDJSON operator never gets the copy: its clients would read "invites you".
    await command(jo, "/join #inv");
    await op.send("MODE #inv +o jo");
    await op.expect(/ MODE #inv \+o jo/);
    await mem.send("INVITE cy #inv");
    await mem.expect(/ 401 |NOTICE mem/); // no cy online: refused, nothing sent
    await mem.send("INVITE guest #inv");
    await op.expect(/ INVITE guest #inv$/);
    await jo.send({ type: "cmd", line: "/who", room: "#inv", ref: "w" });
    const frames: ServerFrame[] = [];
    for (let f = await jo.next(); f !== null; f = await jo.next()) {
      frames.push(f);
      if (f.type === "who") break;
    }
    assert.deepEqual(frames.filter((f) => f.type === "invite"), []);
  } finally {
    for (const c of [op, op2, mem, guest, jo]) c.close();
    await server.shutdown();
  }
});

Deno.test("setname: SETNAME changes the realname for WHOIS/WHO; SETNAME lines go to setname sharers and the sender only; FAIL INVALID_REALNAME", async () => {
  const server = ircServer();
  const sam = await ircWith(server, "sam", "setname");
  const bob = await ircWith(server, "bob", "setname");
  const cy = await ircWith(server, "cy", "");
  try {
    const isupport = (await drained(cy, "c0")).filter((l) => / 005 /.test(l)).join(" ");
    assert.match(isupport, / NAMELEN=100 /);
    for (const irc of [sam, bob, cy]) await joinRoom(irc, "#r");
    await sam.send("SETNAME :Samuel \x1b[31mVimes");
    assert.match(await sam.expect(/ SETNAME /), /^:sam!~sam@\S+ SETNAME :Samuel Vimes$/);
    assert.match(await bob.expect(/ SETNAME /), /^:sam!~sam@\S+ SETNAME :Samuel Vimes$/);
    assert.deepEqual((await drained(cy, "c1")).filter((l) => / SETNAME /.test(l)), []);
    await cy.send("WHOIS sam");
    assert.match(await cy.expect(/ 311 /), / 311 cy sam ~sam \S+ \* :Samuel Vimes$/);

    await sam.send("SETNAME :" + "x".repeat(101));
    assert.match(await sam.expect(/FAIL/), /^:irc\.test FAIL SETNAME INVALID_REALNAME :/);
    await sam.send("SETNAME :\x01\x02");
    assert.match(await sam.expect(/FAIL/), /^:irc\.test FAIL SETNAME INVALID_REALNAME :/);
    await sam.send("SETNAME");
    assert.match(await sam.expect(/ 461 /), / 461 sam SETNAME :Not enough parameters$/);

    // Without the cap: applied in silence (the spec), and sharers with it still hear it.
    await cy.send("SETNAME :Cyril");
    assert.match(await bob.expect(/ SETNAME /), /^:cy!~cy@\S+ SETNAME :Cyril$/);
    assert.deepEqual((await drained(cy, "c2")).filter((l) => / SETNAME |FAIL/.test(l)), []);
    await bob.send("WHO cy");
    assert.match(await bob.expect(/ 352 /), /:0 Cyril$/);
  } finally {
    for (const c of [sam, bob, cy]) c.close();
    await server.shutdown();
  }
});

Deno.test("irc-framework: away, back and account events from an NDJSON user", async () => {
  const server = ircServer();
  const client = new Client();
  const events: string[] = [];
  const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
  const jo = await JsonClient.login(server, "jo");
  try {
    await registerKiwi(client, server, "fw", { gecos: "framework" });
    const joined = new Promise<void>((resolve) => client.once("join", () => resolve()));
    client.join("#r");
    await within(joined, "join");
    await command(jo, "/join #r");
    const next = (event: string) =>
      new Promise<Record<string, unknown>>((resolve) =>
        client.once(event, (e: Record<string, unknown>) => resolve(e))
      );
    const away = next("away");
    await command(jo, "/away gone fishing", "#r");
    const a = await within(away, "away event");
    events.push(`away ${a.nick} ${a.message}`);
    const back = next("back");
    await command(jo, "/back", "#r");
    events.push(`back ${(await within(back, "back event")).nick}`);
    const account = next("account");
    await command(jo, "/register correct-horse", "#r");
    const acc = await within(account, "account event");
    events.push(`account ${acc.nick} ${acc.account}`);
    assert.deepEqual(events, ["away jo gone fishing", "back jo", "account jo jo"]);
  } finally {
    client.quit();
    await within(closed, "irc-framework close");
    jo.close();
    await server.shutdown();
  }
});

Deno.test("away frames: those who ignore the user, and everyone while the user is muted, get no away words", () => {
  const chat = new CoreHarness();
  const op = chat.operator("op");
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  const carol = chat.login("carol");
  alice.run("/ignore bob");
  chat.clear(op, alice, bob, carol);
  bob.run("/away the secret plan");
  assert.equal(one(carol.take(), "away").message, "the secret plan");
  assert.equal(one(alice.take(), "away").message, "", "away, without the words");
  bob.run("/back");
  assert.equal(one(alice.take(), "away").message, null);
  assert.equal(one(carol.take(), "away").message, null);
  op.run("/mute bob");
  chat.clear(op, alice, bob, carol);
  bob.run("/away listen to me");
  assert.equal(one(carol.take(), "away").message, "", "a mute is not lifted by /away");
});

Deno.test("setname: a muted user's SETNAME is FAIL CANNOT_CHANGE_REALNAME, and nobody hears it", async () => {
  const operSecret = { matches: (given?: string) => given === "opensesame" };
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, operSecret });
  const sam = await ircWith(server, "sam", "setname");
  const bob = await ircWith(server, "bob", "setname");
  const op = await JsonClient.login(server, "op");
  try {
    for (const irc of [sam, bob]) await joinRoom(irc, "#r");
    await command(op, "/oper opensesame");
    await command(op, "/mute sam");
    await sam.send("SETNAME :listen to me");
    assert.match(await sam.expect(/FAIL/), /^:irc\.test FAIL SETNAME CANNOT_CHANGE_REALNAME :/);
    assert.deepEqual((await drained(bob, "b1")).filter((l) => / SETNAME /.test(l)), []);
    await bob.send("WHOIS sam");
    assert.match(await bob.expect(/ 311 /), / :sam tester$/);
  } finally {
    for (const c of [sam, bob, op]) c.close();
    await server.shutdown();
  }
});

Deno.test("account-notify: an operator releasing someone's nick tells that holder's rooms ACCOUNT *, and the holder 901", async () => {
  const operSecret = { matches: (given?: string) => given === "opensesame" };
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, operSecret });
  const kit = await ircWith(server, "kit", "account-notify");
  const bob = await ircWith(server, "bob", "account-notify");
  const op = await JsonClient.login(server, "op");
  try {
    for (const irc of [kit, bob]) await joinRoom(irc, "#r");
    await kit.send("PRIVMSG NickServ :REGISTER hunter22");
    assert.match(await bob.expect(/ ACCOUNT /), /^:kit!\S+ ACCOUNT kit$/);
    await command(op, "/oper opensesame");
    await command(op, "/unregister kit");
    assert.match(await bob.expect(/ ACCOUNT /), /^:kit!\S+ ACCOUNT \*$/);
    assert.match(await kit.expect(/ 901 /), /^:irc\.test 901 kit kit!\S+ :You are now logged out$/);
  } finally {
    for (const c of [kit, bob, op]) c.close();
    await server.shutdown();
  }
});
