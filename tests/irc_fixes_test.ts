/**
 * Fixes from the review of the IRC front end and room modes: Excess Flood, params with spaces,
 * the netcat kick line, join checks at login and on resume, relay timestamps across a restart,
 * and SASL's account proof.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RawIrcClient } from "./helpers/irc.ts";
import { plainLogin, plainUntil, testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";
import { FloodGuard, type FloodGuardOptions } from "../security/token_bucket.ts";
import { CoreHarness, ManualClock, RecordingSink, START_MS } from "./helpers/core.ts";
import { Hub } from "../core/hub.ts";
import { BanList } from "../core/moderation.ts";
import type { PasswordHasher } from "../core/ports.ts";
import { PROTOCOL_VERSION } from "../protocol/frames.ts";
import { ACCOUNT_PROOF_TTL_MS } from "../config/limits.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";

const S = "irc.test";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, ...extra });
}

/** Reads lines until EOF; true if the server closed within the wait. */
async function closes(client: RawIrcClient): Promise<boolean> {
  while (true) {
    const line = await client.readLine("EOF");
    if (line === null) return true;
    client.seen.push(line);
  }
}

Deno.test("IRC fixes: a client that pipelines lines past the lag is closed as an Excess Flood", async () => {
  const flood: FloodGuardOptions = { messageBurst: 20, messagesPerSecond: 5, maxLagMs: 1000 };
  const server = ircServer({ flood });
  const irc = await RawIrcClient.login(server, "flooder");
  const bystander = await RawIrcClient.login(server, "calm");
  try {
    // The old guard charged nothing while a line waited: 300 lines took a minute, never closed.
    await irc.send(...Array.from({ length: 300 }, (_, i) => `PING p${i}`));
    const error = await irc.expect(/^ERROR /);
    assert.match(error, /^ERROR :Closing Link: \S+\.sc \(Excess Flood\)$/);
    assert.ok(await closes(irc));
    // Well before the 300th line: a debt past a second is not worked off.
    assert.ok(!irc.seen.some((line) => line.endsWith(" p299")), "the flood ran to its end");
    await bystander.send("WHOIS flooder");
    await bystander.expect(/ 401 calm flooder /);
  } finally {
    irc.close();
    bystander.close();
    await server.shutdown();
  }
});

Deno.test("IRC fixes: a 20-line paste passes at once; a join sync past the burst is slowed, not closed", async () => {
  const flood: FloodGuardOptions = { messageBurst: 20, messagesPerSecond: 100, maxLagMs: 1000 };
  const server = ircServer({ flood });
  const irc = await RawIrcClient.login(server, "paster");
  try {
    let started = performance.now();
    await irc.send(...Array.from({ length: 20 }, (_, i) => `PING a${i}`));
    await irc.expect(/a19$/);
    assert.ok(performance.now() - started < 150, `${performance.now() - started} ms`);
    // irssi's sync of 15 rooms: JOIN, MODE, WHO, MODE b each (40 lines past the burst).
    const rooms = Array.from({ length: 15 }, (_, i) => `#s${i}`);
    started = performance.now();
    await irc.send(
      ...rooms.flatMap((r) => [`JOIN ${r}`, `MODE ${r}`, `WHO ${r}`, `MODE ${r} b`]),
    );
    await irc.expect(/ 368 paster #s14 /);
    assert.ok(performance.now() - started >= 300, `${performance.now() - started} ms`);
    await irc.send("PING alive");
    await irc.expect(/alive$/);
    assert.equal(server.hub.user("paster")?.rooms.size, 15);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("IRC fixes: a trailing param with spaces adds no arguments to KICK, NICK, KILL, INVITE or MODE", async () => {
  const server = ircServer();
  const op = await RawIrcClient.login(server, "opr");
  const bob = await RawIrcClient.login(server, "bob");
  const carol = await RawIrcClient.login(server, "carol");
  try {
    await op.send("JOIN #r");
    await op.expect(/ 366 opr #r /);
    for (const who of [bob, carol]) {
      await who.send("JOIN #r");
      await who.expect(/ 366 /);
    }
    // Not bob kicked with the reason "carol": no such nick.
    await op.send("KICK #r :bob carol");
    assert.equal(await op.expect(/ 401 /), `:${S} 401 opr bob_carol :No such nick/channel`);
    // A nick where the room goes is no room (an operator's /kick NICK would disconnect them).
    await op.send("KICK bob :x");
    assert.equal(await op.expect(/ 403 /), `:${S} 403 opr bob :No such channel`);
    await op.send("NICK :a b");
    assert.equal(await op.expect(/ 432 /), `:${S} 432 opr a_b :Erroneous nickname`);
    await op.send("KILL :bob carol");
    await op.expect(/ 401 opr bob_carol /);
    await op.send("INVITE dave :#r #s");
    await op.expect(/ 403 opr #r_#s /);
    await op.send("MODE #r +b :bob carol");
    await op.expect(/ 696 opr #r b \* /);
    assert.deepEqual(server.hub.room("#r")?.modes.bans, []);
    const members = [...server.hub.room("#r")?.members ?? []].map((u) => u.nick).sort();
    assert.deepEqual(members, ["bob", "carol", "opr"]);
    assert.equal(server.hub.user("opr")?.nick, "opr");
    // The reason is the trailing param: its spaces are kept.
    await op.send("KICK #r bob :two words");
    assert.match(await carol.expect(/ KICK /), /^:opr!\S+ KICK #r bob :two words$/);
  } finally {
    op.close();
    bob.close();
    carol.close();
    await server.shutdown();
  }
});

Deno.test("IRC fixes: a netcat user kicked from a room reads 'You were kicked', the others 'bob was kicked'", async () => {
  const server = ircServer();
  const op = await RawIrcClient.login(server, "opr");
  const bob = await plainLogin(server, "bob");
  const dan = await plainLogin(server, "dan");
  try {
    await op.send("JOIN #k");
    await op.expect(/ 366 opr #k /);
    for (const nc of [bob, dan]) {
      await nc.write("/join #k\n");
      await plainUntil(nc, /You joined #k|You are in #k|#k/);
    }
    await op.send("KICK #k bob :behave");
    assert.equal(
      (await plainUntil(bob, /kicked/)).trim(),
      "* You were kicked from #k by opr (behave)",
    );
    assert.match(await plainUntil(dan, /kicked/), /\* bob was kicked from #k by opr \(behave\)/);
  } finally {
    op.close();
    bob.close();
    dan.close();
    await server.shutdown();
  }
});

Deno.test("relay ts: a restart with the clock behind the last run's does not take ts back", () => {
  const store = new MemoryHistory();
  const later = START_MS + 3_600_000;
  store.append([{ id: 1, room: "#lobby", from: "old", text: "said an hour ahead", ts: later }]);
  // The harness's clock starts at START_MS: an hour behind the stored message.
  const core = new CoreHarness({ store });
  const alice = core.login("alice");
  alice.say("after the restart");
  core.flush();
  const { messages } = store.recent("#lobby", 2);
  assert.deepEqual(messages.map((m) => m.id), [1, 2]);
  assert.ok(messages[1].ts >= later, `${messages[1].ts} < ${later}`);
});

Deno.test("relay ts: SQLite's newestTs is the ts of the newest message, across close and reopen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_newest_ts_" });
  try {
    const path = `${dir}/chat.db`;
    const first = new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    assert.equal(first.newestTs(), 0);
    first.append([
      { id: 1, room: "#a", from: "x", text: "one", ts: 5_000 },
      { id: 2, room: "#b", from: "x", text: "two", ts: 7_000 },
    ]);
    first.close();
    const second = new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    assert.equal(second.newestTs(), 7_000);
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("account proof: SASL's check hashes once; the login takes the proof, once, for that account and address", async () => {
  let verifies = 0;
  const hasher: PasswordHasher = {
    hash: (password) => Promise.resolve(`h:${password}`),
    verify: (password, encoded) => {
      verifies++;
      return Promise.resolve(encoded === `h:${password}`);
    },
  };
  const clock = new ManualClock();
  const store = new MemoryHistory();
  const hub = new Hub({
    maxUsers: 10,
    maxFrame: 65536,
    serverName: "proof-test",
    store,
    replayBudgetBytes: 1 << 18,
    now: clock.now,
    bans: new BanList(store.moderation),
    hasher,
  });
  const here = "192.0.2.10";
  const hello = { version: PROTOCOL_VERSION, nick: "kai", address: here };
  const owner = await hub.login(new RecordingSink(), hello);
  assert.ok(owner.ok);
  await hub.register(owner.user, "correct-horse");
  assert.equal(hub.account("kai")?.kind, "password");
  hub.logout(owner.user, "quit");

  verifies = 0;
  const check = await hub.checkAccountPassword("kai", "correct-horse", here);
  assert.equal(check.kind, "ok");
  assert.equal(verifies, 1);
  if (check.kind !== "ok") return;
  const login = await hub.login(new RecordingSink(), { ...hello, accountProof: check.proof });
  assert.ok(login.ok, JSON.stringify(login));
  assert.ok(login.user.verified);
  assert.equal(verifies, 1, "the login hashed the password a second time");
  hub.logout(login.user, "quit");

  // Used once.
  const again = await hub.login(new RecordingSink(), { ...hello, accountProof: check.proof });
  assert.ok(!again.ok && again.error.code === "nick_registered");
  // Only from the address that proved it, and only for a minute.
  const other = await hub.checkAccountPassword("kai", "correct-horse", here);
  assert.equal(other.kind, "ok");
  if (other.kind !== "ok") return;
  const elsewhere = await hub.login(new RecordingSink(), {
    ...hello,
    address: "198.51.100.9",
    accountProof: other.proof,
  });
  assert.ok(!elsewhere.ok && elsewhere.error.code === "nick_registered");
  const late = await hub.checkAccountPassword("kai", "correct-horse", here);
  if (late.kind !== "ok") throw new Error(late.kind);
  clock.advance(ACCOUNT_PROOF_TTL_MS + 1);
  const stale = await hub.login(new RecordingSink(), { ...hello, accountProof: late.proof });
  assert.ok(!stale.ok && stale.error.code === "nick_registered");
  // A wrong password is charged to the address's lockout as before, and mints nothing.
  const wrong = await hub.checkAccountPassword("kai", "battery", here);
  assert.deepEqual(wrong, { kind: "wrong", failures: 1 });
});

Deno.test("FloodGuard.delay: a held line's lag counts from the start of a run of reads that went on", () => {
  let t = 0;
  const options = { messageBurst: 2, messagesPerSecond: 1, maxLagMs: 3000, now: () => t };
  const guard = new FloodGuard(options);
  guard.arrived(true); // a read that filled the buffer: more is waiting
  assert.equal(guard.delay(10), 0);
  assert.equal(guard.delay(10), 0);
  assert.equal(guard.delay(10), 1000); // past the burst: wait, charged nothing yet
  t = 1000;
  assert.equal(guard.delay(10), 0);
  guard.arrived(true); // the next read goes on with the same run: its lag counts from t = 0
  assert.equal(guard.delay(10), 1000);
  t = 2000;
  assert.equal(guard.delay(10), 0);
  assert.equal(guard.delay(10), 1000); // handled at 3000: exactly the most lag allowed
  t = 3000;
  assert.equal(guard.delay(10), 0);
  assert.equal(guard.delay(10), null); // 4 s behind: Excess Flood

  // The same lines in reads that each ended (the client paused): every run starts afresh.
  t = 0;
  const paced = new FloodGuard(options);
  paced.arrived(false);
  assert.equal(paced.delay(10), 0);
  assert.equal(paced.delay(10), 0);
  for (let second = 1; second <= 10; second++) {
    t = second * 1000 - 1000;
    paced.arrived(false);
    assert.equal(paced.delay(10), t === 0 ? 1000 : 0);
  }
});
