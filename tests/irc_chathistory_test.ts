import assert from "node:assert/strict";
import { RawIrcClient } from "./helpers/irc.ts";
import { testServer } from "./helpers/wire.ts";
import { CoreHarness, FakeReadBudget, type Peer, settled } from "./helpers/core.ts";
import type { ChatServer } from "../server.ts";
import type { StoredMessage } from "../core/ports.ts";
import type { HistoryAnswer, HistoryQuery } from "../core/history_slice.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { parseChathistory } from "../protocol/irc/commands/history.ts";

// IRCv3 draft/chathistory served from the store (contract §5.9): each subcommand on the slices
// irctest's server_tests/chathistory.py expects, msgid and timestamp references, limits, the
// FAIL codes, batches for clients with `batch` and bare lines for the others.

const S = "irc.test";
/** A whole second, an hour ago: every seeded message is a second after the previous one. */
const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
/** Ids of the ten seeded `#chan` messages: 101..110 (irctest's echo_messages[0..9]). */
const ID0 = 101;
const iso = (ms: number) => new Date(ms).toISOString();
const idOf = (i: number) => ID0 + i;
const tsOf = (i: number) => T0 + i * 1000;
/** echo_messages[from:to] as ids, Python slice style. */
const slice = (from: number, to = 10) => {
  const out: number[] = [];
  for (let i = from < 0 ? 10 + from : from; i < (to < 0 ? 10 + to : to); i++) out.push(idOf(i));
  return out;
};

/** A database holding `#chan`'s ten messages (and whatever else is given), closed again. */
async function seeded(extra: StoredMessage[] = []): Promise<{ dir: string; db: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-chathistory-" });
  const db = `${dir}/chat.db`;
  const store = new SqliteHistory({ path: db, retention: 1000, upkeepIntervalMs: 0 });
  const chan: StoredMessage[] = [];
  for (let i = 0; i < 10; i++) {
    chan.push({ id: idOf(i), room: "#chan", from: "alice", text: `message ${i}`, ts: tsOf(i) });
  }
  store.append([...extra, ...chan].sort((a, b) => a.id - b.id));
  store.close();
  return { dir, db };
}

function ircServer(db: string, extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ db, irc: { host: "127.0.0.1", port: 0, serverName: S }, ...extra });
}

/** Registers with `caps` (none: no CAP at all), joins `rooms` and reads past their replays. */
async function client(
  server: ChatServer,
  nick: string,
  caps: string[],
  rooms: string[] = ["#chan"],
): Promise<RawIrcClient> {
  const irc = await RawIrcClient.open(server);
  if (caps.length > 0) {
    await irc.send("CAP LS 302", `CAP REQ :${caps.join(" ")}`);
    await irc.expect(/ CAP \* ACK /);
    await irc.send(`NICK ${nick}`, `USER ${nick} 0 * :${nick}`, "CAP END");
  } else {
    await irc.send(`NICK ${nick}`, `USER ${nick} 0 * :${nick}`);
  }
  await irc.expect(/ 221 /);
  for (const room of rooms) {
    await irc.send(`JOIN ${room}`);
    await irc.expect(new RegExp(` 366 ${nick} ${room} `));
  }
  await sync(irc);
  return irc;
}

/** Reads up to the answer to a PING: everything sent before it has been read. */
async function sync(irc: RawIrcClient, token = "sync"): Promise<string[]> {
  await irc.send(`PING ${token}`);
  const lines: string[] = [];
  while (true) {
    const line = await irc.readLine("a line before PONG");
    if (line === null) throw new Error("EOF before PONG");
    if (line === `:${S} PONG ${S} :${token}`) return lines;
    lines.push(line);
  }
}

/** One history batch: its opening and closing lines and the lines between. */
interface Batch {
  start: string;
  lines: string[];
  end: string;
  ids: number[];
}

/** Sends a CHATHISTORY line and reads its batch. */
async function history(irc: RawIrcClient, line: string): Promise<Batch> {
  await irc.send(line);
  const start = await irc.readLine("BATCH +");
  const opened = /^:irc\.test BATCH \+(\S+) /.exec(start ?? "");
  if (start === null || opened === null) throw new Error(`not a batch for ${line}: ${start}`);
  const lines: string[] = [];
  while (true) {
    const next = await irc.readLine("BATCH -");
    if (next === null) throw new Error("EOF inside a batch");
    if (next === `:${S} BATCH -${opened[1]}`) {
      return {
        start,
        lines,
        end: next,
        ids: lines.map((l) => Number(/msgid=(\d+)/.exec(l)?.[1] ?? NaN)),
      };
    }
    lines.push(next);
  }
}

const HISTORY_CAPS = ["message-tags", "server-time", "batch", "draft/chathistory"];

Deno.test("CHATHISTORY is offered: CAP LS lists batch and draft/chathistory, 005 CHATHISTORY and MSGREFTYPES", async () => {
  const { dir, db } = await seeded();
  const server = ircServer(db);
  const irc = await RawIrcClient.open(server);
  try {
    await irc.send("CAP LS 302");
    const ls = await irc.expect(/ CAP \* LS /);
    assert.match(ls, /(?:^|[ :])batch(?: |$)/);
    assert.match(ls, /draft\/chathistory/);
    await irc.send("NICK bar", "USER bar 0 * :bar", "CAP END");
    await irc.expect(/ 221 /);
    const isupport = irc.seen.filter((l) => / 005 /.test(l)).join("\n");
    assert.match(isupport, / CHATHISTORY=100 /);
    assert.match(isupport, / draft\/CHATHISTORY=100 /);
    assert.match(isupport, / MSGREFTYPES=msgid,timestamp /);
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY LATEST, BEFORE, AFTER, BETWEEN and AROUND with msgid refs give irctest's slices", async () => {
  const { dir, db } = await seeded();
  const server = ircServer(db);
  const irc = await client(server, "bar", HISTORY_CAPS);
  try {
    const ids = async (line: string) => (await history(irc, line)).ids;
    const m = (i: number) => `msgid=${idOf(i)}`;
    assert.deepEqual(await ids("CHATHISTORY LATEST #chan * 20"), slice(0));
    assert.deepEqual(await ids("CHATHISTORY LATEST #chan * 5"), slice(-5));
    assert.deepEqual(await ids("CHATHISTORY LATEST #chan * 1"), slice(-1));
    assert.deepEqual(await ids(`CHATHISTORY LATEST #chan ${m(4)} 20`), slice(5));
    assert.deepEqual(await ids(`CHATHISTORY BEFORE #chan ${m(6)} 20`), slice(0, 6));
    assert.deepEqual(await ids(`CHATHISTORY BEFORE #chan ${m(6)} 2`), slice(4, 6));
    assert.deepEqual(await ids(`CHATHISTORY AFTER #chan ${m(3)} 20`), slice(4));
    // The oldest after the reference, not the newest: paging forward.
    assert.deepEqual(await ids(`CHATHISTORY AFTER #chan ${m(3)} 3`), slice(4, 7));
    assert.deepEqual(await ids(`CHATHISTORY BETWEEN #chan ${m(0)} ${m(9)} 20`), slice(1, -1));
    assert.deepEqual(await ids(`CHATHISTORY BETWEEN #chan ${m(9)} ${m(0)} 20`), slice(1, -1));
    assert.deepEqual(await ids(`CHATHISTORY BETWEEN #chan ${m(0)} ${m(9)} 3`), slice(1, 4));
    assert.deepEqual(await ids(`CHATHISTORY BETWEEN #chan ${m(9)} ${m(0)} 3`), slice(-4, -1));
    assert.deepEqual(await ids(`CHATHISTORY AROUND #chan ${m(7)} 1`), [idOf(7)]);
    assert.deepEqual(await ids(`CHATHISTORY AROUND #chan ${m(7)} 3`), slice(6, 9));
    // BEFORE * is LATEST (as Kiwi asks for the newest page).
    assert.deepEqual(await ids("CHATHISTORY BEFORE #chan * 2"), slice(-2));
    // Subcommands are case-insensitive.
    assert.deepEqual(await ids("CHATHISTORY latest #chan * 1"), slice(-1));
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY with timestamp refs: exclusive bounds, both directions", async () => {
  const { dir, db } = await seeded();
  const server = ircServer(db);
  const irc = await client(server, "bar", HISTORY_CAPS);
  try {
    const ids = async (line: string) => (await history(irc, line)).ids;
    const t = (i: number) => `timestamp=${iso(tsOf(i))}`;
    assert.deepEqual(await ids(`CHATHISTORY LATEST #chan ${t(4)} 20`), slice(5));
    assert.deepEqual(await ids(`CHATHISTORY BEFORE #chan ${t(6)} 20`), slice(0, 6));
    assert.deepEqual(await ids(`CHATHISTORY BEFORE #chan ${t(6)} 2`), slice(4, 6));
    assert.deepEqual(await ids(`CHATHISTORY AFTER #chan ${t(3)} 20`), slice(4));
    assert.deepEqual(await ids(`CHATHISTORY AFTER #chan ${t(3)} 3`), slice(4, 7));
    assert.deepEqual(await ids(`CHATHISTORY BETWEEN #chan ${t(0)} ${t(9)} 20`), slice(1, -1));
    assert.deepEqual(await ids(`CHATHISTORY BETWEEN #chan ${t(9)} ${t(0)} 20`), slice(1, -1));
    assert.deepEqual(await ids(`CHATHISTORY BETWEEN #chan ${t(0)} ${t(9)} 3`), slice(1, 4));
    assert.deepEqual(await ids(`CHATHISTORY BETWEEN #chan ${t(9)} ${t(0)} 3`), slice(-4, -1));
    assert.deepEqual(await ids(`CHATHISTORY AROUND #chan ${t(7)} 3`), slice(6, 9));
    // A time between two messages: AFTER starts at the next one, BEFORE ends at the previous.
    const half = `timestamp=${iso(tsOf(3) + 500)}`;
    assert.deepEqual(await ids(`CHATHISTORY AFTER #chan ${half} 2`), slice(4, 6));
    assert.deepEqual(await ids(`CHATHISTORY BEFORE #chan ${half} 2`), slice(2, 4));
    // A fraction given to the microsecond is cut to the millisecond.
    const micro = `timestamp=${iso(tsOf(3)).replace("Z", "999Z")}`;
    assert.deepEqual(await ids(`CHATHISTORY AFTER #chan ${micro} 1`), slice(4, 5));
    // Mixed references: a msgid and a timestamp.
    assert.deepEqual(
      await ids(`CHATHISTORY BETWEEN #chan msgid=${idOf(2)} ${t(6)} 20`),
      slice(3, 6),
    );
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY lines: the batch, msgid on each, time, the room's own spelling, ascending ids", async () => {
  const { dir, db } = await seeded();
  const server = ircServer(db);
  const irc = await client(server, "bar", HISTORY_CAPS);
  try {
    const batch = await history(irc, "CHATHISTORY LATEST #CHAN * 2");
    const id = /^:irc\.test BATCH \+(\S+) chathistory #chan$/.exec(batch.start)?.[1];
    assert.ok(id, batch.start);
    assert.deepEqual(batch.lines, [
      `@batch=${id};msgid=${idOf(8)};time=${
        iso(tsOf(8))
      } :alice!~sc@gone.sc PRIVMSG #chan :message 8`,
      `@batch=${id};msgid=${idOf(9)};time=${
        iso(tsOf(9))
      } :alice!~sc@gone.sc PRIVMSG #chan :message 9`,
    ]);
    assert.equal(batch.end, `:${S} BATCH -${id}`);
    // Each reply is its own batch.
    const again = await history(irc, "CHATHISTORY LATEST #chan * 1");
    assert.notEqual(/BATCH \+(\S+)/.exec(again.start)?.[1], id);
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY limits: 0, junk and over 100 are clamped to 100; AFTER pages through 150", async () => {
  const big: StoredMessage[] = [];
  for (let i = 0; i < 150; i++) {
    big.push({ id: 1001 + i, room: "#big", from: "alice", text: `big ${i}`, ts: T0 - 600_000 + i });
  }
  const { dir, db } = await seeded(big);
  const server = ircServer(db);
  const irc = await client(server, "bar", HISTORY_CAPS, ["#big"]);
  try {
    const newest = Array.from({ length: 100 }, (_, i) => 1051 + i);
    for (const limit of ["0", "abc", "500", "-3", "101"]) {
      assert.deepEqual((await history(irc, `CHATHISTORY LATEST #big * ${limit}`)).ids, newest);
    }
    assert.equal((await history(irc, "CHATHISTORY LATEST #big * 100")).ids.length, 100);
    const first = await history(irc, "CHATHISTORY AFTER #big msgid=1000 100");
    assert.deepEqual(first.ids, Array.from({ length: 100 }, (_, i) => 1001 + i));
    const second = await history(irc, `CHATHISTORY AFTER #big msgid=${first.ids[99]} 100`);
    assert.deepEqual(second.ids, Array.from({ length: 50 }, (_, i) => 1101 + i));
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY refusals: INVALID_PARAMS, INVALID_TARGET for unknown and unjoined rooms, 461, a nick's empty batch", async () => {
  const { dir, db } = await seeded();
  const server = ircServer(db);
  const irc = await client(server, "bar", HISTORY_CAPS, []);
  const other = await client(server, "qux", [], ["#real"]);
  try {
    const fail = async (line: string) => {
      await irc.send(line);
      return await irc.expect(/ FAIL | 461 /);
    };
    assert.equal(
      await fail("CHATHISTORY LATEST #nonexistent * 10"),
      `:${S} FAIL CHATHISTORY INVALID_TARGET LATEST #nonexistent :No such channel #nonexistent`,
    );
    // A real room one is not in: its history is its members' (irctest testInvalidTargets).
    assert.equal(
      await fail("CHATHISTORY LATEST #real * 10"),
      `:${S} FAIL CHATHISTORY INVALID_TARGET LATEST #real :You are not in #real: JOIN it to read its history`,
    );
    assert.equal(
      await fail("CHATHISTORY BEFORE #chan msgid=1 10"),
      `:${S} FAIL CHATHISTORY INVALID_TARGET BEFORE #chan :No such channel #chan`,
    );
    assert.equal(
      await fail("CHATHISTORY FROBNICATE #real * 10"),
      `:${S} FAIL CHATHISTORY INVALID_PARAMS FROBNICATE :Unknown command`,
    );
    assert.equal(
      await fail("CHATHISTORY LATEST #real *"),
      `:${S} FAIL CHATHISTORY INVALID_PARAMS LATEST :Insufficient parameters`,
    );
    assert.equal(
      await fail("CHATHISTORY LATEST #real * 10 extra"),
      `:${S} FAIL CHATHISTORY INVALID_PARAMS LATEST :Too many parameters`,
    );
    assert.equal(
      await fail("CHATHISTORY AFTER #real msgid=abc 10"),
      `:${S} FAIL CHATHISTORY INVALID_PARAMS AFTER msgid=abc :Invalid message reference`,
    );
    assert.equal(
      await fail("CHATHISTORY AFTER #real * 10"),
      `:${S} FAIL CHATHISTORY INVALID_PARAMS AFTER * :Invalid message reference`,
    );
    assert.equal(
      await fail("CHATHISTORY BEFORE #real timestamp=yesterday 10"),
      `:${S} FAIL CHATHISTORY INVALID_PARAMS BEFORE timestamp=yesterday :Invalid timestamp`,
    );
    assert.equal(
      await fail(`CHATHISTORY BETWEEN #real msgid=1 timestamp=2020-13-45T00:00:00.000Z 10`),
      `:${S} FAIL CHATHISTORY INVALID_PARAMS BETWEEN timestamp=2020-13-45T00:00:00.000Z :Invalid timestamp`,
    );
    assert.equal(
      await fail("CHATHISTORY TARGETS msgid=1 timestamp=2020-01-01T00:00:00.000Z 10"),
      `:${S} FAIL CHATHISTORY INVALID_PARAMS TARGETS msgid=1 :Invalid timestamp`,
    );
    assert.equal(
      await fail("CHATHISTORY"),
      `:${S} 461 bar CHATHISTORY :Not enough parameters`,
    );
    // A nick: direct messages are never stored, so its history is an empty batch.
    const dm = await history(irc, "CHATHISTORY LATEST QUX * 10");
    assert.match(dm.start, /^:irc\.test BATCH \+\S+ chathistory qux$/);
    assert.deepEqual(dm.lines, []);
  } finally {
    irc.close();
    other.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY without the batch cap: bare lines in order; without message-tags: no tags", async () => {
  const { dir, db } = await seeded();
  const server = ircServer(db);
  const tagged = await client(server, "bar", ["message-tags", "server-time", "draft/chathistory"]);
  const plain = await client(server, "baz", []);
  try {
    await sync(tagged); // baz's JOIN
    await tagged.send("CHATHISTORY LATEST #chan * 2");
    assert.deepEqual(await sync(tagged), [
      `@msgid=${idOf(8)};time=${iso(tsOf(8))} :alice!~sc@gone.sc PRIVMSG #chan :message 8`,
      `@msgid=${idOf(9)};time=${iso(tsOf(9))} :alice!~sc@gone.sc PRIVMSG #chan :message 9`,
    ]);
    await plain.send("CHATHISTORY AFTER #chan msgid=" + idOf(7) + " 5");
    assert.deepEqual(await sync(plain), [
      ":alice!~sc@gone.sc PRIVMSG #chan :message 8",
      ":alice!~sc@gone.sc PRIVMSG #chan :message 9",
    ]);
  } finally {
    tagged.close();
    plain.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY replays an action as CTCP ACTION, a notice as NOTICE, and a text with newlines as lines without the blank ones", async () => {
  const kinds: StoredMessage[] = [
    { id: 201, room: "#chan", from: "alice", text: "waves", ts: T0 + 20_000, action: true },
    { id: 202, room: "#chan", from: "alice", text: "hear ye", ts: T0 + 21_000, notice: true },
    { id: 203, room: "#chan", from: "alice", text: "one\n\ntwo", ts: T0 + 22_000 },
  ];
  const { dir, db } = await seeded(kinds);
  const server = ircServer(db);
  const irc = await client(server, "bar", HISTORY_CAPS);
  try {
    const batch = await history(irc, "CHATHISTORY LATEST #chan * 3");
    const id = /BATCH \+(\S+)/.exec(batch.start)?.[1];
    const time = (ms: number) => `time=${iso(ms)}`;
    assert.deepEqual(batch.lines, [
      `@batch=${id};msgid=201;${
        time(T0 + 20_000)
      } :alice!~sc@gone.sc PRIVMSG #chan :\x01ACTION waves\x01`,
      `@batch=${id};msgid=202;${time(T0 + 21_000)} :alice!~sc@gone.sc NOTICE #chan :hear ye`,
      `@batch=${id};msgid=203;${time(T0 + 22_000)} :alice!~sc@gone.sc PRIVMSG #chan :one`,
      `@batch=${id};${time(T0 + 22_000)} :alice!~sc@gone.sc PRIVMSG #chan :two`,
    ]);
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY TARGETS: the reader's rooms whose newest message is strictly inside the window, earliest first", async () => {
  const lone: StoredMessage[] = [
    { id: 50, room: "#early", from: "alice", text: "first", ts: T0 - 5000 },
  ];
  const { dir, db } = await seeded(lone);
  const server = ircServer(db);
  const irc = await client(server, "bar", HISTORY_CAPS, ["#chan", "#early", "#empty"]);
  try {
    const targets = async (line: string) => {
      const batch = await history(irc, line);
      assert.match(batch.start, /^:irc\.test BATCH \+\S+ draft\/chathistory-targets$/);
      return batch.lines.map((l) => l.replace(/^@batch=\S+ /, ""));
    };
    const all = "timestamp=2020-01-01T00:00:00.000Z timestamp=2262-01-01T00:00:00.000Z";
    assert.deepEqual(await targets(`CHATHISTORY TARGETS ${all} 100`), [
      `:${S} CHATHISTORY TARGETS #early ${iso(T0 - 5000)}`,
      `:${S} CHATHISTORY TARGETS #chan ${iso(tsOf(9))}`,
    ]);
    assert.deepEqual(await targets(`CHATHISTORY TARGETS ${all} 1`), [
      `:${S} CHATHISTORY TARGETS #early ${iso(T0 - 5000)}`,
    ]);
    // Exclusive: a room whose newest message is at the bound is left out.
    assert.deepEqual(
      await targets(`CHATHISTORY TARGETS timestamp=${iso(T0 - 5000)} ${all.split(" ")[1]} 100`),
      [`:${S} CHATHISTORY TARGETS #chan ${iso(tsOf(9))}`],
    );
    // A window holding some of #chan's messages but not its newest does not list it.
    assert.deepEqual(
      await targets(`CHATHISTORY TARGETS timestamp=${iso(tsOf(0))} timestamp=${iso(tsOf(9))} 9`),
      [],
    );
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY with the address's history allowance spent is MESSAGE_ERROR, not an empty batch", async () => {
  const { dir, db } = await seeded();
  // Four bytes of history per address: the join's replay spends it.
  const server = ircServer(db, { historyReadRate: 1 });
  const irc = await client(server, "bar", HISTORY_CAPS);
  try {
    await irc.send("CHATHISTORY LATEST #chan * 10");
    assert.equal(
      await irc.expect(/ FAIL /),
      `:${S} FAIL CHATHISTORY MESSAGE_ERROR LATEST #chan :Try again in a few seconds`,
    );
    await irc.send(
      "CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00.000Z timestamp=2262-01-01T00:00:00.000Z 10",
    );
    assert.equal(
      await irc.expect(/ FAIL /),
      `:${S} FAIL CHATHISTORY MESSAGE_ERROR TARGETS * :Try again in a few seconds`,
    );
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

// The core's read path, without IRC.

/** Ten messages in #chan from alice, a second apart, on the harness's clock; their ids. */
function tenMessages(core: CoreHarness): number[] {
  const alice = core.login("alice");
  alice.run("/join #chan");
  const ids: number[] = [];
  for (let i = 0; i < 10; i++) {
    alice.say(`message ${i}`, "#chan");
    core.flush();
    core.advance(1000);
  }
  for (const frame of alice.take()) if (frame.type === "ack") ids.push(frame.id);
  return ids;
}

function answer(core: CoreHarness, peer: Peer, room: string, q: HistoryQuery): HistoryAnswer {
  return settled(core.hub.historySlice(peer.user, room, q));
}

Deno.test("historySlice: ids ascending, ignored senders left out, not_in_room, store_failed, rate_limited", () => {
  const reads = new FakeReadBudget();
  const core = new CoreHarness({ historyReads: reads });
  const ids = tenMessages(core);
  const bob = core.login("bob");
  bob.run("/join #chan");
  bob.take();
  const got = answer(core, bob, "#CHAN", { kind: "after", ref: { id: ids[3] }, limit: 3 });
  assert.deepEqual(got.ok ? got.messages.map((m) => m.id) : got, ids.slice(4, 7));
  assert.equal(got.ok && got.room, "#chan");
  // Nothing was sent to bob: the session shows the slice itself.
  assert.deepEqual(bob.take(), []);
  // Every read is charged to bob's address.
  assert.ok(reads.charges.some((c) => c.address === bob.user.address && c.bytes > 0));

  bob.run("/ignore alice");
  bob.take();
  const ignored = answer(core, bob, "#chan", { kind: "latest", since: null, limit: 5 });
  assert.deepEqual(ignored.ok && ignored.messages, []);
  bob.run("/unignore alice");

  assert.deepEqual(answer(core, bob, "#elsewhere", { kind: "latest", since: null, limit: 5 }), {
    ok: false,
    reason: "not_in_room",
  });

  core.store.fail("the disk is on fire", true);
  assert.deepEqual(answer(core, bob, "#chan", { kind: "latest", since: null, limit: 5 }), {
    ok: false,
    reason: "store_failed",
  });
  core.store.fail(null);

  reads.allowance.set(bob.user.address, 0);
  assert.deepEqual(answer(core, bob, "#chan", { kind: "latest", since: null, limit: 5 }), {
    ok: false,
    reason: "rate_limited",
  });
});

Deno.test("historySlice: a queue too full for one message is rate_limited; a partial fit keeps the end nearest the anchor", () => {
  const core = new CoreHarness({ replayBudgetBytes: 500 });
  const ids = tenMessages(core);
  const bob = core.login("bob");
  bob.run("/join #chan");
  bob.take();
  // Each history frame is ~100 bytes of NDJSON: 500 bytes take fewer than ten.
  const after = answer(core, bob, "#chan", { kind: "after", ref: { id: 0 }, limit: 10 });
  assert.ok(after.ok && after.messages.length > 0 && after.messages.length < 10);
  assert.deepEqual(
    after.ok && after.messages.map((m) => m.id),
    ids.slice(0, after.ok ? after.messages.length : 0),
  );
  const latest = answer(core, bob, "#chan", { kind: "latest", since: null, limit: 10 });
  assert.ok(latest.ok);
  assert.deepEqual(latest.messages.map((m) => m.id), ids.slice(10 - latest.messages.length));
  bob.sink.queuedBytes = 490;
  assert.deepEqual(answer(core, bob, "#chan", { kind: "latest", since: null, limit: 10 }), {
    ok: false,
    reason: "rate_limited",
  });
});

Deno.test("historySlice: timestamps of equal time and limits past the page size are handled", () => {
  const core = new CoreHarness();
  const alice = core.login("alice");
  alice.run("/join #chan");
  // Three messages in the same millisecond, then one a second later.
  for (const text of ["a", "b", "c"]) alice.say(text, "#chan");
  core.flush();
  core.advance(1000);
  alice.say("d", "#chan");
  core.flush();
  const start = core.clock.now() - 1000;
  const texts = (q: HistoryQuery) => {
    const got = answer(core, alice, "#chan", q);
    return got.ok ? got.messages.map((m) => m.text) : got;
  };
  // AFTER a time: strictly later; BEFORE a time: strictly earlier; AROUND: includes that time.
  assert.deepEqual(texts({ kind: "after", ref: { ts: start }, limit: 10 }), ["d"]);
  assert.deepEqual(texts({ kind: "before", ref: { ts: start + 1000 }, limit: 10 }), [
    "a",
    "b",
    "c",
  ]);
  assert.deepEqual(texts({ kind: "around", ref: { ts: start }, limit: 1 }), ["a"]);
  assert.deepEqual(texts({ kind: "latest", since: { ts: start - 1 }, limit: 10_000 }), [
    "a",
    "b",
    "c",
    "d",
  ]);
});

Deno.test("parseChathistory: references, limits and refusals", () => {
  assert.deepEqual(parseChathistory(["AFTER", "#r", "msgid=3", "3"]), {
    kind: "query",
    target: "#r",
    query: { kind: "after", ref: { id: 3 }, limit: 3 },
  });
  assert.deepEqual(
    parseChathistory(["between", "#r", "timestamp=2020-01-01T00:00:00Z", "msgid=9", "7"]),
    {
      kind: "query",
      target: "#r",
      query: { kind: "between", from: { ts: Date.UTC(2020, 0, 1) }, to: { id: 9 }, limit: 7 },
    },
  );
  assert.deepEqual(
    parseChathistory([
      "TARGETS",
      "timestamp=2020-01-01T00:00:00.5Z",
      "timestamp=2020-01-02T00:00:00.000Z",
      "0",
    ]),
    {
      kind: "targets",
      from: Date.UTC(2020, 0, 1) + 500,
      to: Date.UTC(2020, 0, 2),
      limit: 100,
    },
  );
  assert.equal(parseChathistory(["AFTER", "#r", "msgid=1", "2", "3"]).kind, "invalid");
  assert.equal(parseChathistory(["AROUND", "#r", "*", "2"]).kind, "invalid");
  assert.equal(parseChathistory(["LATEST", "#r", "timestamp=2020-01-01", "2"]).kind, "invalid");
});

Deno.test("JOIN replays recent history as PRIVMSGs, except to a client with draft/chathistory (it asks itself)", async () => {
  const { dir, db } = await seeded();
  const server = ircServer(db);
  const asks = await client(server, "bar", HISTORY_CAPS, []);
  const old = await client(server, "baz", ["server-time"], []);
  try {
    await asks.send("JOIN #chan");
    const joined = await sync(asks);
    assert.ok(joined.some((l) => / 366 bar #chan /.test(l)), joined.join("\n"));
    assert.deepEqual(joined.filter((l) => / PRIVMSG /.test(l)), []);
    await old.send("JOIN #chan");
    const replayed = (await sync(old)).filter((l) => / PRIVMSG /.test(l));
    assert.equal(replayed.length, 10);
    assert.equal(
      replayed[0],
      `@time=${iso(tsOf(0))} :alice!~sc@gone.sc PRIVMSG #chan :message 0`,
    );
  } finally {
    asks.close();
    old.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY to a draft/multiline reader: a text with newlines is a multiline batch nested in the history batch", async () => {
  const lines: StoredMessage[] = [
    { id: 203, room: "#chan", from: "alice", text: "one\n\ntwo", ts: T0 + 22_000 },
  ];
  const { dir, db } = await seeded(lines);
  const server = ircServer(db);
  const irc = await client(server, "bar", [...HISTORY_CAPS, "draft/multiline"]);
  try {
    const batch = await history(irc, "CHATHISTORY LATEST #chan * 2");
    const id = /BATCH \+(\S+)/.exec(batch.start)?.[1];
    const from = "alice!~sc@gone.sc";
    assert.deepEqual(batch.lines.map((l) => l.replace(/(^|;)time=[^; ]+/, "$1time=T")), [
      `@batch=${id};msgid=${idOf(9)};time=T :${from} PRIVMSG #chan :message 9`,
      `@batch=${id};msgid=203;time=T :${from} BATCH +m203 draft/multiline #chan`,
      `@batch=m203 :${from} PRIVMSG #chan :one`,
      `@batch=m203 :${from} PRIVMSG #chan :`,
      `@batch=m203 :${from} PRIVMSG #chan :two`,
      `@batch=${id} :${from} BATCH -m203`,
    ]);
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY with a label: the chathistory batch nested in the labeled-response batch", async () => {
  const { dir, db } = await seeded();
  const server = ircServer(db);
  const irc = await client(server, "bar", [...HISTORY_CAPS, "labeled-response"]);
  try {
    await irc.send("@label=h1 CHATHISTORY LATEST #chan * 1");
    const lines = await sync(irc);
    const outer = /^@label=h1 :irc\.test BATCH \+(\S+) labeled-response$/.exec(lines[0] ?? "");
    assert.ok(outer, lines.join("\n"));
    const inner = new RegExp(`^@batch=${outer[1]} :irc\\.test BATCH \\+(\\S+) chathistory #chan$`)
      .exec(lines[1] ?? "");
    assert.ok(inner, lines.join("\n"));
    assert.equal(lines.length, 5);
    assert.match(lines[2], new RegExp(`^@batch=${inner[1]};msgid=${idOf(9)};`));
    assert.equal(lines[3], `@batch=${outer[1]} :${S} BATCH -${inner[1]}`);
    assert.equal(lines[4], `:${S} BATCH -${outer[1]}`);
    // An error is the one labeled line.
    await irc.send("@label=h2 CHATHISTORY LATEST #nowhere * 1");
    assert.equal(
      await irc.expect(/FAIL/),
      `@label=h2 :${S} FAIL CHATHISTORY INVALID_TARGET LATEST #nowhere :No such channel #nowhere`,
    );
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHATHISTORY counts the replay budget in IRC lines: many-line messages are cut to what the queue may take, newest kept", async () => {
  // Twenty messages of a hundred one-letter lines: small frames, but a hundred IRC lines each,
  // every one with the sender's mask and tags (about 8 KB per message on this wire).
  const tall: StoredMessage[] = [];
  for (let i = 0; i < 20; i++) {
    const text = Array.from({ length: 100 }, () => `${i}`).join("\n");
    tall.push({ id: 301 + i, room: "#tall", from: "alice", text, ts: T0 + 30_000 + i });
  }
  const { dir, db } = await seeded(tall);
  // A 64 KB queue: one reply may queue 32 KB.
  const server = ircServer(db, { maxQueueBytes: 64 * 1024 });
  const irc = await client(server, "bar", HISTORY_CAPS, ["#tall"]);
  try {
    const batch = await history(irc, "CHATHISTORY LATEST #tall * 20");
    const ids = batch.ids.filter((id) => !Number.isNaN(id));
    assert.ok(ids.length > 0 && ids.length < 20, `${ids.length} messages`);
    // The newest ones, each whole: a hundred lines per message.
    assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => 321 - ids.length + i));
    assert.equal(batch.lines.length, ids.length * 100);
    const bytes = batch.lines.reduce((n, l) => n + new TextEncoder().encode(l).length + 2, 0);
    assert.ok(bytes <= 32 * 1024, `${bytes} bytes`);
    await sync(irc); // still connected
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PING is answered after the echoes of messages sent before it (irctest collects echoes up to its PONG)", async () => {
  // A database file: its store commits on a thread of its own, after the line was handled.
  const { dir, db } = await seeded();
  const server = ircServer(db);
  const irc = await client(server, "bar", [...HISTORY_CAPS, "echo-message"]);
  try {
    for (let i = 0; i < 5; i++) {
      await irc.send(`PRIVMSG #chan :echo ${i}`, `PING after${i}`);
      const lines = [await irc.readLine(), await irc.readLine()];
      assert.match(lines[0] ?? "", new RegExp(` PRIVMSG #chan :echo ${i}$`), lines.join("\n"));
      assert.equal(lines[1], `:${S} PONG ${S} :after${i}`);
    }
  } finally {
    irc.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
