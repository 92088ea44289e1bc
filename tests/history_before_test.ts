/**
 * Scroll-back, `/history [N] before ID`: the store's `before` read on every engine (its
 * boundaries, pruned ranges and byte budget), the command over NDJSON paged until exhausted
 * without gaps or duplicates, what each page is charged and when the address may read no more,
 * its refusals, what netcat shows, and the client's frame check.
 */

import assert from "node:assert/strict";
import type { HistorySlice, HistoryStore, StoredMessage } from "../core/ports.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { ThreadedHistory } from "../store/sqlite/threaded.ts";
import { CoreHarness, FakeReadBudget, one, only, type Peer, types } from "./helpers/core.ts";
import { JsonClient, LineSocket, testServer, within } from "./helpers/wire.ts";
import { ChatClient } from "../client/chat_client.ts";
import { Palette } from "../client/colors.ts";
import { Renderer } from "../client/render.ts";
import { RoomState } from "../client/room_state.ts";
import { Session } from "../client/session.ts";
import type { ClientUi, Status } from "../client/ui.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { parseServerFrame } from "../client/server_frame.ts";
import { renderPlain } from "../protocol/plain/render.ts";

type Frame<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

const message = (id: number, room = "#lobby"): StoredMessage => ({
  id,
  room,
  from: "ann",
  text: `m${id}`,
  ts: 1_700_000_000_000 + id,
});

/** Ten messages in #lobby (ids 1, 3, ..., 19) with #rust's between them (2, 4, ..., 20). */
const INTERLEAVED = Array.from(
  { length: 20 },
  (_, i) => message(i + 1, i % 2 === 0 ? "#lobby" : "#rust"),
);

/** What a before read gave, in short: the ids, whether more remain, and what it cost. */
const brief = (slice: HistorySlice) => ({
  ids: slice.messages.map((m) => m.id),
  missed: slice.missed,
  bytes: slice.bytes,
});

/** The same reads on one engine, as each engine answers them. */
async function beforeReads(store: HistoryStore): Promise<unknown[]> {
  await store.append(INTERLEAVED);
  const row = 64 + "m11".length + "ann".length + "#lobby".length;
  return [
    brief(await store.before("#LOBBY", 1000, 3)), // past the newest: the newest three
    brief(await store.before("#lobby", 11, 3)), // 5, 7, 9 and more below
    brief(await store.before("#lobby", 7, 10)), // 1, 3, 5: the start, nothing older
    brief(await store.before("#lobby", 1, 10)), // before the first id: nothing
    brief(await store.before("#lobby", 0, 10)),
    brief(await store.before("#nowhere", 50, 10)),
    // Room for two rows: the third is read, charged and left out, and more remain.
    brief(await store.before("#lobby", 1000, 10, 2 * row + 1)),
  ];
}

Deno.test("before: every engine reads the same page, newest first within the budget, oldest first out", async () => {
  const memory = await beforeReads(new MemoryHistory());
  const sqlite = new SqliteHistory({ path: ":memory:", retention: 1000, upkeepIntervalMs: 0 });
  const threaded = new ThreadedHistory({ path: ":memory:", retention: 1000, upkeepIntervalMs: 0 });
  try {
    assert.deepEqual(await beforeReads(sqlite), memory);
    assert.deepEqual(await beforeReads(threaded), memory);
  } finally {
    sqlite.close();
    await threaded.close();
  }
  // A row costs 64 bytes and its text, nick and room; counting one past the page, 16.
  const row = 64 + "m15".length + "ann".length + "#lobby".length;
  const row1 = 64 + "m5".length + "ann".length + "#lobby".length;
  assert.deepEqual(memory, [
    { ids: [15, 17, 19], missed: 1, bytes: 3 * row + 4 * 16 },
    { ids: [5, 7, 9], missed: 1, bytes: 3 * row1 + 4 * 16 },
    { ids: [1, 3, 5], missed: 0, bytes: 3 * row1 + 3 * 16 },
    { ids: [], missed: 0, bytes: 0 },
    { ids: [], missed: 0, bytes: 0 },
    { ids: [], missed: 0, bytes: 0 },
    { ids: [17, 19], missed: 1, bytes: 3 * row + 3 * 16 },
  ]);
});

Deno.test("before: pruned messages are not there to page to, so nothing older remains", async () => {
  const check = async (store: HistoryStore) => {
    // Retention 4 keeps 61..64 (SQLite prunes a room every 64 messages added).
    await store.append(Array.from({ length: 64 }, (_, i) => message(i + 1)));
    return [
      brief(await store.before("#lobby", 63, 10)),
      brief(await store.before("#lobby", 61, 10)),
      brief(await store.before("#lobby", 30, 10)),
    ].map((b) => [b.ids, b.missed]);
  };
  const memory = new MemoryHistory({ retention: 4 });
  const sqlite = new SqliteHistory({ path: ":memory:", retention: 4, upkeepIntervalMs: 0 });
  const threaded = new ThreadedHistory({ path: ":memory:", retention: 4, upkeepIntervalMs: 0 });
  try {
    const expected = [[[61, 62], 0], [[], 0], [[], 0]];
    assert.deepEqual(await check(memory), expected);
    assert.deepEqual(await check(sqlite), expected);
    assert.deepEqual(await check(threaded), expected);
  } finally {
    sqlite.close();
    await threaded.close();
  }
});

// --- the command, in the core ---

/** Says each text and commits them; returns their ids. */
function sayAll(chat: CoreHarness, peer: Peer, texts: string[]): number[] {
  for (const text of texts) peer.say(text);
  chat.flush();
  return only(peer.take(), "ack").map((a) => a.id);
}

Deno.test("core /history N before ID: the N before it, no gap, and an info saying where older ones start", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const ids = sayAll(chat, alice, ["a", "b", "c", "d", "e"]);
  alice.run(`/history 2 before ${ids[3]}`, "h");
  const frames = alice.take();
  assert.deepEqual(types(frames), ["msg", "msg", "info"]);
  assert.deepEqual(only(frames, "msg").map((m) => [m.text, m.history]), [["b", true], ["c", true]]);
  const end = one(frames, "info");
  assert.deepEqual(end, {
    type: "info",
    room: "#lobby",
    more: true,
    before: ids[1],
    text: `* History of #lobby before ${ids[3]}: 2 messages. Older ones: /history 2 before ${
      ids[1]
    }.`,
    ref: "h",
  });
  alice.run(`/history 2 before ${ids[1]}`);
  const last = alice.take();
  assert.deepEqual(only(last, "msg").map((m) => m.text), ["a"]);
  assert.equal(one(last, "info").more, false);
  assert.equal(one(last, "info").before, undefined);
  assert.match(one(last, "info").text, /: 1 message\. Nothing older is stored\.$/);
});

Deno.test("core /history N: its closing info says whether older ones remain and where they start", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const ids = sayAll(chat, alice, ["one", "two", "three"]);
  alice.run("/history 2");
  const end = one(alice.take(), "info");
  assert.deepEqual([end.room, end.more, end.before], ["#lobby", true, ids[1]]);
  assert.equal(end.text, "* End of history for #lobby (2 messages).");
  alice.run("/history 3");
  const all = one(alice.take(), "info");
  assert.deepEqual([all.more, all.before], [false, undefined]);
});

Deno.test("core /history before ID: a page cut by the replay budget goes on from where it stopped", () => {
  const probe = new CoreHarness();
  const speaker = probe.login("alice");
  const probeIds = sayAll(probe, speaker, ["aaaa", "bbbb", "cccc", "dddd"]);
  speaker.run(`/history 1 before ${probeIds[3]}`);
  const oneFrame = new TextEncoder().encode(JSON.stringify(one(speaker.take(), "msg"))).length;
  // The store reads two rows (79 bytes each as stored), but only one fits on the wire.
  const budget = Math.max(2 * (64 + "aaaa".length + "alice".length + "#lobby".length), oneFrame) +
    1;
  assert.ok(2 * oneFrame > budget);
  const chat = new CoreHarness({ replayBudgetBytes: budget });
  const alice = chat.login("alice");
  const ids = sayAll(chat, alice, ["aaaa", "bbbb", "cccc", "dddd"]);
  const seen: number[] = [];
  let cursor = ids[3];
  for (let pages = 0; pages < 5; pages++) {
    alice.run(`/history 3 before ${cursor}`);
    const frames = alice.take();
    assert.ok(!types(frames).includes("gap"));
    const msgs = only(frames, "msg");
    assert.equal(msgs.length, 1);
    seen.unshift(...msgs.map((m) => m.id));
    const end = one(frames, "info");
    if (!end.more) break;
    assert.equal(end.before, msgs[0].id);
    cursor = end.before as number;
  }
  assert.deepEqual(seen, ids.slice(0, 3));
});

Deno.test("core /history before ID: a store that cannot be read says so, and does not end scroll-back", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const ids = sayAll(chat, alice, ["one", "two"]);
  chat.store.fail("the disk is on fire", true);
  alice.run(`/history 5 before ${ids[1]}`, "h");
  const frames = alice.take();
  assert.deepEqual(types(frames), ["error:store_failed", "info"]);
  const end = one(frames, "info");
  assert.deepEqual([end.more, end.before, end.ref], [true, ids[1], "h"]);
});

Deno.test("core /history before ID: a page is charged what it read, and a spent address is refused", () => {
  const reads = new FakeReadBudget();
  const chat = new CoreHarness({ historyReads: reads });
  const alice = chat.login("alice", { address: "198.51.100.1" });
  const ids = sayAll(chat, alice, ["one", "two", "three"]);
  reads.charges.length = 0;
  alice.run(`/history 5 before ${ids[2]}`);
  const expected = chat.store.before("#lobby", ids[2], 5).bytes;
  assert.deepEqual(reads.charges, [{ address: "198.51.100.1", bytes: expected }]);
  alice.take();
  reads.allowance.set("198.51.100.1", 0);
  alice.run(`/history 5 before ${ids[2]}`, "h");
  const refused = one(alice.take(), "error");
  assert.deepEqual([refused.code, refused.ref], ["rate_limited", "h"]);
});

Deno.test("core /history before ID: hidden messages move the page on, as they are read", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  const [first] = sayAll(chat, alice, ["first"]);
  const hiddenIds = sayAll(chat, bob, ["x", "y"]);
  const [last] = sayAll(chat, alice, ["last"]);
  alice.run("/ignore bob");
  alice.take();
  alice.run(`/history 2 before ${last}`);
  const end = one(alice.take(), "info");
  assert.deepEqual([end.more, end.before], [true, hiddenIds[0]]);
  alice.run(`/history 2 before ${end.before}`);
  const frames = alice.take();
  assert.deepEqual(only(frames, "msg").map((m) => m.id), [first]);
  assert.equal(one(frames, "info").more, false);
});

Deno.test("core /history before: bad ids, bad shapes and rooms you are not in are refused in words", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const refusal = (line: string, room?: string) => {
    if (room !== undefined) alice.room = room;
    alice.run(line, "r");
    alice.room = "#lobby";
    const error = one(alice.take(), "error");
    assert.equal(error.ref, "r");
    return [error.code, error.message];
  };
  const badId = (n: number) =>
    `ID is the id of a message (a whole number from 1), as in /history ${n} before 41.`;
  assert.deepEqual(refusal("/history before abc"), ["bad_command", badId(20)]);
  assert.deepEqual(refusal("/history 5 before 0"), ["bad_command", badId(5)]);
  assert.deepEqual(refusal("/history 5 before -3"), ["bad_command", badId(5)]);
  assert.deepEqual(refusal("/history 5 before 1.5"), ["bad_command", badId(5)]);
  assert.deepEqual(refusal("/history before 99999999999999999999"), ["bad_command", badId(20)]);
  const usage = "Usage: /history [N] [before ID], as in /history 20 or /history 20 before 41.";
  assert.deepEqual(refusal("/history 5 before"), ["bad_command", usage]);
  assert.deepEqual(refusal("/history 5 6"), ["bad_command", usage]);
  assert.deepEqual(refusal("/history before 4 5"), ["bad_command", usage]);
  assert.deepEqual(
    refusal("/history 0 before 4")[1],
    "Ask for at least 1 message, as in /history 20.",
  );
  assert.deepEqual(
    refusal("/history 501 before 4")[1],
    "/history replays at most 500 messages: /history 500.",
  );
  assert.deepEqual(refusal("/history before 4", "#rust"), ["not_in_room", "You are not in #rust."]);
});

// --- over the wire ---

/** Sends `/history line` and collects its replay up to the closing info (or the error). */
async function page(client: JsonClient, line: string, ref: string) {
  await client.send({ type: "cmd", line, room: "#lobby", ref });
  const frames: ServerFrame[] = [];
  while (true) {
    const frame = await client.next(`the answer to ${line}`);
    if (frame === null) throw new Error(`EOF waiting for the answer to ${line}`);
    frames.push(frame);
    if ((frame.type === "info" || frame.type === "error") && frame.ref === ref) return frames;
  }
}

Deno.test("NDJSON scroll-back pages from the join's replay to the start, with no gap and no duplicate", async () => {
  const server = testServer({ historyReplay: 5, flood: null });
  const alice = await JsonClient.login(server, "alice");
  try {
    const said: number[] = [];
    for (let i = 0; i < 47; i++) await alice.send({ type: "msg", room: "#lobby", text: `n${i}` });
    while (said.length < 47) said.push((await alice.expect("ack")).id);
    const carol = await JsonClient.login(server, "carol");
    try {
      // The join replays the newest 5 after a gap; scroll-back goes on from the oldest of them.
      const gap = await carol.expect("gap");
      assert.equal(gap.missed, 42);
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) seen.push((await carol.expect("msg")).id);
      let cursor = seen[0];
      let pages = 0;
      for (;;) {
        const frames = await page(carol, `/history 10 before ${cursor}`, `p${pages++}`);
        assert.ok(!frames.some((f) => f.type === "gap"), "a scroll-back page sends no gap");
        const msgs = frames.filter((f): f is Frame<"msg"> => f.type === "msg");
        assert.ok(msgs.every((m) => m.history === true && m.room === "#lobby"));
        seen.unshift(...msgs.map((m) => m.id));
        const end = frames.at(-1) as Frame<"info">;
        assert.equal(end.type, "info");
        if (!end.more) break;
        assert.equal(end.before, msgs[0].id);
        cursor = end.before as number;
      }
      assert.equal(pages, 5);
      assert.deepEqual(seen, said);
    } finally {
      carol.close();
    }
  } finally {
    alice.close();
    await server.shutdown();
  }
});

Deno.test("NDJSON scroll-back is charged to --history-read-rate: a spent address gets rate_limited", async () => {
  // 1,000 bytes a second, a burst of 4,000: a few pages of ten.
  const server = testServer({ historyReplay: 0, historyReadRate: 1000, flood: null });
  const alice = await JsonClient.login(server, "alice");
  try {
    for (let i = 0; i < 60; i++) await alice.send({ type: "msg", room: "#lobby", text: `n${i}` });
    let last = 0;
    for (let i = 0; i < 60; i++) last = (await alice.expect("ack")).id;
    let refused: Frame<"error"> | null = null;
    for (let i = 0; i < 20 && refused === null; i++) {
      const frames = await page(alice, `/history 10 before ${last}`, `p${i}`);
      const end = frames.at(-1);
      if (end?.type === "error") refused = end;
    }
    assert.ok(refused !== null, "the read budget ran out");
    assert.equal(refused.code, "rate_limited");
    assert.match(refused.message, /read a lot of history/);
  } finally {
    alice.close();
    await server.shutdown();
  }
});

Deno.test("netcat /history N before ID: history lines, then where older ones start", async () => {
  const server = testServer({ flood: null });
  const alice = await JsonClient.login(server, "alice");
  const nc = await LineSocket.connect(server);
  try {
    const ids: number[] = [];
    for (const text of ["one", "two", "three"]) await alice.send({ type: "msg", text });
    while (ids.length < 3) ids.push((await alice.expect("ack")).id);
    await nc.write("bob\n");
    await nc.readUntilText("/quit leaves.\r\n");
    await nc.readUntilText("(history) <alice> three\r\n");
    await nc.write(`/history 1 before ${ids[2]}\n`);
    assert.equal(await nc.readLine(), "(history) <alice> two");
    assert.equal(
      await nc.readLine(),
      `* History of #lobby before ${ids[2]}: 1 message. Older ones: /history 1 before ${ids[1]}.`,
    );
    await nc.write(`/history before ${ids[1]}\n`);
    assert.equal(await nc.readLine(), "(history) <alice> one");
    assert.equal(
      await nc.readLine(),
      `* History of #lobby before ${ids[1]}: 1 message. Nothing older is stored.`,
    );
  } finally {
    nc.close();
    alice.close();
    await server.shutdown();
  }
});

Deno.test("the client's frame check keeps /history's more and before, and refuses them mistyped", () => {
  const end = {
    type: "info",
    room: "#lobby",
    text: "* History of #lobby before 41: 20 messages. Older ones: /history 20 before 21.",
    more: true,
    before: 21,
    ref: "h",
  };
  assert.deepEqual(parseServerFrame(end), { ok: true, frame: end });
  const { before: _, ...exhausted } = { ...end, more: false };
  assert.deepEqual(parseServerFrame(exhausted), { ok: true, frame: exhausted });
  assert.equal(parseServerFrame({ ...end, more: "yes" }).ok, false);
  assert.equal(parseServerFrame({ ...end, before: -1 }).ok, false);
  assert.equal(parseServerFrame({ ...end, before: "21" }).ok, false);
  // netcat and the terminal show its words.
  assert.equal(renderPlain(end as Frame<"info">), end.text);
});

/** A terminal front end that keeps what it is given. */
class RecordingUi implements ClientUi {
  readonly printed: string[] = [];
  print(text: string): void {
    this.printed.push(text);
  }
  fail(text: string): void {
    this.printed.push(text);
  }
  setStatus(_status: Status): void {}
  setPending(_texts: readonly string[]): void {}
  async *inputs(): AsyncGenerator<string> {}
  close(): void {}
}

Deno.test("the terminal client shows a scroll-back page and its end, and its JSON mode keeps more and before", async () => {
  const server = testServer({ historyReplay: 0 });
  const alice = await JsonClient.login(server, "alice");
  const ids: number[] = [];
  for (const text of ["one", "two", "three"]) await alice.send({ type: "msg", text });
  while (ids.length < 3) ids.push((await alice.expect("ack")).id);
  const run = async (json: boolean) => {
    const client = await ChatClient.connect({
      host: "127.0.0.1",
      port: server.addr.port,
      nick: "bob",
    });
    const state = new RoomState("bob");
    const ui = new RecordingUi();
    const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
    const s = new Session({ ui, state, renderer, json, showOwn: true, target: "test" });
    s.attach(client, false);
    const pumping = s.pump(client);
    try {
      const answered = s.submit(`/history 1 before ${ids[2]}`);
      assert.ok(answered instanceof Promise);
      await within(answered, "the answer to /history");
      return ui.printed.join("\n");
    } finally {
      await client.quit();
      await within(pumping, "the end of the connection");
      client.close();
    }
  };
  try {
    const shown = await run(false);
    assert.match(shown, /\(history\) <alice> two/);
    assert.ok(
      shown.includes(
        `* History of #lobby before ${ids[2]}: 1 message. Older ones: /history 1 before ${ids[1]}.`,
      ),
      shown,
    );
    assert.doesNotMatch(shown, /Ignored|breaks the protocol/);
    const json = (await run(true)).split("\n").map((line) => JSON.parse(line));
    const end = json.find((f) => f.type === "info" && f.room === "#lobby");
    assert.deepEqual([end.more, end.before], [true, ids[1]]);
  } finally {
    alice.close();
    await server.shutdown();
  }
});
