/**
 * Final fixes (final-a): room bans match the ident and the cloak users show on IRC, on every
 * front end; two live sessions of one account do not take the nick from each other forever; a
 * resume pass is tied to the registration it was given under.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  MAX_STORED_TS_AHEAD_MS,
  TAKEOVER_COOLDOWN_MS,
  TAKEOVER_PROBE_MS,
} from "../config/limits.ts";
import type { KeyProof } from "../core/identity.ts";
import { createLogger } from "../log/logger.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { cloakOf } from "../core/cloak.ts";
import { CoreHarness } from "./helpers/core.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { command, JsonClient, testServer } from "./helpers/wire.ts";

/** A key proof for `name`: the core compares fingerprints only. */
function keyOf(name: string): KeyProof {
  return { source: "ssh", fingerprint: `SHA256:${name.padEnd(43, "A")}` };
}

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

Deno.test("takeover: the owner replaces a live session at once; taking the nick straight back within the cooldown is refused (nick_taken), and the new holder is never closed", () => {
  const core = new CoreHarness();
  const first = core.login("dave", { key: keyOf("dave") });
  first.run("/register");
  // A second client of the account logs in at once: the first takeover always goes through.
  const second = core.login("dave", { key: keyOf("dave") });
  assert.equal(first.sink.closedWith, "replaced");
  first.take();
  // The first client reconnects 1 s later: refused, and the second keeps the nick.
  core.advance(1_000);
  const refused = core.refusal("dave", { key: keyOf("dave") });
  assert.equal(refused.code, "nick_taken");
  assert.ok(!refused.fatal);
  assert.match(refused.message, /another session of this account/);
  assert.equal(second.sink.closedWith, null);
  assert.equal(core.hub.user("dave"), second.user);
  // Nor does it take the nick by /nick from another nick.
  const third = core.login("dave_", { key: keyOf("dave") });
  third.run("/nick dave");
  assert.ok(third.take().some((f) => f.type === "error" && f.code === "nick_taken"));
  assert.equal(second.sink.closedWith, null);
  assert.equal(third.user.nick, "dave_");
  // After the cooldown the holder may be replaced again.
  core.advance(TAKEOVER_COOLDOWN_MS);
  third.run("/nick dave");
  assert.equal(second.sink.closedWith, "replaced");
  assert.equal(core.hub.user("dave"), third.user);
});

/** Gives `sink` a transport that can ping its client, who answers when `alive()` says so. */
function pingable(sink: object, alive: () => boolean): { probes: number } {
  const seen = { probes: 0 };
  let answeredAt = -Infinity;
  let at = 0;
  Object.assign(sink, {
    probe: () => {
      seen.probes++;
      if (alive()) answeredAt = at + 100; // the pong, a round trip later
      return true;
    },
    // The probe's answer, if any, is the last thing heard; before it, nothing for a long time.
    quietMs: () => Math.max(0, at - answeredAt),
  });
  return Object.assign(seen, { tick: (ms: number) => void (at += ms) });
}

Deno.test("takeover: a session that took the nick over and then died is asked first, and replaced once it has not answered for TAKEOVER_PROBE_MS (a connection that drops twice in a minute costs its owner seconds, not the minute)", () => {
  const core = new CoreHarness();
  const first = core.login("dave", { key: keyOf("dave") });
  first.run("/register");
  const second = core.login("dave", { key: keyOf("dave") }); // the owner's reconnect
  const probe = pingable(second.sink, () => false) as { probes: number; tick(ms: number): void };
  core.advance(1_000);
  probe.tick(1_000);
  // The owner's next reconnect, while the second connection is dead but not yet noticed.
  const asked = core.refusal("dave", { key: keyOf("dave") });
  assert.equal(asked.code, "nick_taken");
  assert.match(asked.message, /try again in 5 s/);
  assert.equal(probe.probes, 1);
  // Too soon: still waiting for the answer, not asked again.
  core.advance(TAKEOVER_PROBE_MS - 1_000);
  probe.tick(TAKEOVER_PROBE_MS - 1_000);
  assert.equal(core.refusal("dave", { key: keyOf("dave") }).code, "nick_taken");
  assert.equal(probe.probes, 1);
  // No answer in TAKEOVER_PROBE_MS: a ghost, replaced.
  core.advance(1_000);
  probe.tick(1_000);
  const third = core.login("dave", { key: keyOf("dave") });
  assert.equal(second.sink.closedWith, "replaced");
  assert.equal(core.hub.user("dave"), third.user);
});

Deno.test("takeover: a session that took the nick over and answers the probe keeps it for the cooldown", () => {
  const core = new CoreHarness();
  const first = core.login("dave", { key: keyOf("dave") });
  first.run("/register");
  const second = core.login("dave", { key: keyOf("dave") });
  const probe = pingable(second.sink, () => true) as { probes: number; tick(ms: number): void };
  core.advance(1_000);
  probe.tick(1_000);
  assert.equal(core.refusal("dave", { key: keyOf("dave") }).code, "nick_taken");
  core.advance(TAKEOVER_PROBE_MS);
  probe.tick(TAKEOVER_PROBE_MS);
  // It answered: another live client of the account, kept.
  const refused = core.refusal("dave", { key: keyOf("dave") });
  assert.equal(refused.code, "nick_taken");
  assert.equal(second.sink.closedWith, null);
  assert.equal(probe.probes, 1);
  // After the cooldown it may be replaced again.
  core.advance(TAKEOVER_COOLDOWN_MS);
  core.login("dave", { key: keyOf("dave") });
  assert.equal(second.sink.closedWith, "replaced");
});

Deno.test("takeover: a ghost holding the account's nick longer than the cooldown is still replaced, by login and by /nick", () => {
  const core = new CoreHarness();
  const ghost = core.login("erin", { key: keyOf("erin") });
  ghost.run("/register");
  const other = core.login("erin_", { key: keyOf("erin") });
  core.advance(TAKEOVER_COOLDOWN_MS);
  other.run("/nick erin");
  assert.equal(ghost.sink.closedWith, "replaced");
  assert.equal(core.hub.user("erin"), other.user);
  core.advance(TAKEOVER_COOLDOWN_MS);
  const back = core.login("erin", { key: keyOf("erin") });
  assert.equal(other.sink.closedWith, "replaced");
  assert.equal(core.hub.user("erin"), back.user);
});

Deno.test("takeover on IRC: a client that takes the account's nick over keeps it; another client of the account (PASS nick:password) then gets 433, stays connected as its alternative nick", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const made = await JsonClient.login(server, "dave");
  try {
    assert.match(JSON.stringify(await command(made, "/register davepass1")), /registered/);
    const first = await RawIrcClient.open(server);
    const second = await RawIrcClient.open(server);
    try {
      // The first IRC client takes the nick over from the NDJSON session at once.
      await first.send("PASS dave:davepass1", "NICK dave", "USER dave 0 * :dave");
      await first.expect(/ 001 dave /);
      const gone = await made.next("the NDJSON session's end");
      assert.ok(
        gone === null || gone.type === "error" || gone.type === "bye",
        JSON.stringify(gone),
      );
      // The second, straight after: 433, not a takeover.
      await second.send("PASS dave:davepass1", "NICK dave", "USER dave 0 * :dave");
      assert.match(await second.expect(/ 433 /), / 433 \S+ dave :/);
      // The client picks its alternative nick and is in.
      await second.send("NICK dave_");
      await second.expect(/ 001 dave_ /);
      // The first is still connected, and still dave.
      await first.send("PING :still");
      await first.expect(/ PONG \S+ :?still/);
    } finally {
      first.close();
      second.close();
    }
  } finally {
    made.close();
    await server.shutdown();
  }
});

Deno.test("takeover on IRC with SASL: a login refused because another live session of the account holds the nick ends as a guest, told 901 (it had been told 900)", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const made = await JsonClient.login(server, "rex");
  try {
    assert.match(JSON.stringify(await command(made, "/register rexpass12")), /registered/);
    const first = await RawIrcClient.open(server);
    const second = await RawIrcClient.open(server);
    try {
      await first.send("PASS rex:rexpass12", "NICK rex", "USER rex 0 * :rex");
      await first.expect(/ 001 rex /);
      await second.send("CAP LS 302", "NICK rex", "USER rex 0 * :rex", "CAP REQ :sasl");
      await second.expect(/ ACK /);
      await second.send("AUTHENTICATE PLAIN");
      await second.expect(/AUTHENTICATE/);
      await second.send(`AUTHENTICATE ${btoa("\0rex\0rexpass12")}`);
      await second.expect(/ 903 /);
      await second.send("CAP END");
      assert.match(await second.expect(/ 433 /), / 433 \S+ rex :/);
      await second.send("NICK rex_");
      assert.match(await second.expect(/ 901 /), /^:irc\.test 901 rex_ rex_!~rex@\S+ :/);
      await second.expect(/ 001 rex_ /);
      assert.equal(server.hub.user("rex_")?.verified, false);
    } finally {
      first.close();
      second.close();
    }
  } finally {
    made.close();
    await server.shutdown();
  }
});

Deno.test("resume pass: one made under an account is not taken by someone who registered the nick anew after it was unregistered", () => {
  const core = new CoreHarness();
  const op = core.login("op");
  op.run("/join #k");
  op.run("/mode #k +k s3cret");
  const ivy = core.login("ivy", { key: keyOf("ivy") });
  ivy.run("/register");
  ivy.run("/join #k s3cret");
  ivy.quit("dropped");
  // Ivy comes back without resuming, drops the account, and goes.
  const back = core.login("ivy", { key: keyOf("ivy") });
  back.run("/unregister");
  back.quit();
  // Someone else registers the nick, within the pass's life, and resumes into #k.
  core.advance(1_000);
  const other = core.login("ivy", { key: keyOf("mallory") });
  other.run("/register");
  assert.ok(other.user.verified);
  other.quit();
  const request = { address: "203.0.113.66", key: keyOf("mallory"), resume: { "#k": 0 } };
  const resumed = core.login("ivy", request, true);
  const frames = resumed.take();
  assert.ok(!resumed.user.rooms.has(core.hub.room("#k")!), JSON.stringify(frames));
  assert.ok(frames.some((f) => f.type === "error" && f.code === "room_bad_key"));
});

Deno.test("relay F10: a stored ts from the far future is logged at warn by the server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_final_a_" });
  try {
    const path = `${dir}/chat.db`;
    const store = new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    const ts = Date.now() + MAX_STORED_TS_AHEAD_MS + 60_000;
    store.append([{ id: 1, room: "#lobby", from: "x", text: "from the future", ts }]);
    store.saveNextId(2);
    store.close();
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ format: "json", write: (line) => lines.push(JSON.parse(line)) });
    const server = testServer({ db: path, logger });
    const alice = await JsonClient.login(server, "alice");
    try {
      await alice.send({ type: "msg", room: "#lobby", text: "now" });
      await alice.expect("msg");
      const logged = lines.filter((line) => line.event === "stored_ts_in_future");
      assert.equal(logged.length, 1, JSON.stringify(lines));
      assert.equal(logged[0].level, "warn");
    } finally {
      alice.close();
      await server.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cloaks: an IPv4 user on a dual-stack listener (::ffff:a.b.c.d) is cloaked by their own address, and every spelling of one IPv6 /64 shares one cloak", () => {
  // Before, every mapped IPv4 address (and ::1) shared one cloak: one cloak ban banned them all.
  assert.notEqual(cloakOf("::ffff:127.0.0.2"), cloakOf("::ffff:127.0.0.3"));
  assert.notEqual(cloakOf("::ffff:127.0.0.2"), cloakOf("::1"));
  assert.equal(cloakOf("::ffff:127.0.0.2"), cloakOf("127.0.0.2"));
  // One /64 written two ways: one cloak (a cloak ban cannot be slipped inside one's own /64).
  assert.equal(cloakOf("2001:db8:1:0:1:2:3:4"), cloakOf("2001:db8:1::5"));
  // Two /64s: two cloaks.
  assert.notEqual(cloakOf("2001:db8::1:2:3:4:5"), cloakOf("2001:db8::"));
});
