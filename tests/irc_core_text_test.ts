/**
 * What the core does for IRC's sake with message text and time (contract §4.5, §5.9, §7.5):
 * `ts` never goes back as ids go up, whatever the clock does; notices are a message kind,
 * stored and replayed as such on every engine; IRC formatting codes are kept in the store and
 * stripped by every non-IRC encoder.
 */

import assert from "node:assert/strict";
import type { HistoryStore, StoredMessage } from "../core/ports.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { ThreadedHistory } from "../store/sqlite/threaded.ts";
import { packBatch, unpackBatch } from "../store/sqlite/batch_codec.ts";
import { CoreHarness, only } from "./helpers/core.ts";
import {
  hasIrcFormatting,
  sanitizeFormattedText,
  sanitizeMessageText,
  stripIrcFormatting,
} from "../security/unicode.ts";
import { TEXT_MAX_COMBINING_RUN } from "../config/security_limits.ts";
import { NDJSON } from "../protocol/ndjson/encode.ts";
import { PLAIN } from "../protocol/plain/encode.ts";
import { withoutFormatting } from "../protocol/without_formatting.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { JsonClient, LineSocket, lineWith, plainLogin, testServer } from "./helpers/wire.ts";

Deno.test("relay: ts never goes back as ids go up, even when the clock steps back", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  alice.say("before");
  chat.flush();
  chat.clock.advance(-60_000); // the clock is set back a minute
  alice.say("after");
  alice.say("and again");
  chat.flush();
  chat.clock.advance(120_000);
  alice.say("later");
  chat.flush();
  const got = only(bob.take(), "msg");
  assert.deepEqual(got.map((m) => m.text), ["before", "after", "and again", "later"]);
  const start = got[0].ts;
  assert.deepEqual(got.map((m) => m.ts), [start, start, start, start + 60_000]);
  // The author's acks carry the same times, and the store keeps them: a time finds its id.
  assert.deepEqual(only(alice.take(), "ack").map((a) => a.ts), got.map((m) => m.ts));
  assert.equal(chat.store.idAt("#lobby", start), got[0].id);
  assert.equal(chat.store.idAt("#lobby", start + 1), got[3].id);
});

Deno.test("relay: a notice goes out as a msg with notice set, and is replayed as one", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  chat.hub.say(alice.user, "#lobby", "heads up", "n1", "notice");
  chat.hub.say(alice.user, "#lobby", "waves", "a1", "action");
  chat.hub.say(alice.user, "#lobby", "plain", "t1");
  chat.flush();
  const live = only(bob.take(), "msg").map((m) => [m.text, m.notice, m.action]);
  assert.deepEqual(live, [
    ["heads up", true, undefined],
    ["waves", undefined, true],
    ["plain", undefined, undefined],
  ]);
  const carol = chat.login("carol", {}, true);
  const replayed = only(carol.take(), "msg").map((m) => [m.text, m.notice, m.action, m.history]);
  assert.deepEqual(replayed, [
    ["heads up", true, undefined, true],
    ["waves", undefined, true, true],
    ["plain", undefined, undefined, true],
  ]);
});

const KINDS: StoredMessage[] = [
  { id: 1, room: "#lobby", from: "ann", text: "text", ts: 10 },
  { id: 2, room: "#lobby", from: "ann", text: "action", ts: 11, action: true },
  { id: 3, room: "#lobby", from: "ann", text: "notice", ts: 12, notice: true },
];

Deno.test("store: the kind (text, action, notice) survives every engine and the batch codec", async () => {
  assert.deepEqual(unpackBatch(packBatch(KINDS, 7)), { messages: KINDS, nextId: 7 });
  const check = async (store: HistoryStore) => {
    await store.append(KINDS);
    for (
      const slice of [
        await store.recent("#lobby", 10),
        await store.after("#lobby", 0, 10),
        await store.before("#lobby", 10, 10),
        await store.afterOldest("#lobby", 0, 10),
      ]
    ) assert.deepEqual(slice.messages, KINDS);
  };
  const sqlite = new SqliteHistory({ path: ":memory:", retention: 100, upkeepIntervalMs: 0 });
  const threaded = new ThreadedHistory({ path: ":memory:", retention: 100, upkeepIntervalMs: 0 });
  try {
    await check(new MemoryHistory());
    await check(sqlite);
    await check(threaded);
  } finally {
    sqlite.close();
    await threaded.close();
  }
});

// --- IRC formatting codes (§4.5) ---

const BOLD = "\x02";
const COLOUR = "\x03";

Deno.test("stripIrcFormatting removes every code and its colour digits, and nothing else", () => {
  const cases: [string, string][] = [
    ["plain text", "plain text"],
    [
      `${BOLD}bold${BOLD} ${COLOUR}04red${COLOUR} ${COLOUR}4,12on blue${COLOUR}99`,
      "bold red on blue",
    ],
    [`${COLOUR}3,x`, ",x"], // a comma without a background is text
    [`${COLOUR}123`, "3"], // two digits at most
    [`${COLOUR}1,234`, "4"],
    ["\x04ff8800orange\x04 \x04FF8800,000000both\x04zz", "orange bothzz"],
    ["\x0fr\x11m\x16v\x1di\x1es\x1fu", "rmvisu"],
    [`${COLOUR},5`, ",5"], // no foreground: the comma and digit are text
  ];
  for (const [text, stripped] of cases) {
    assert.equal(stripIrcFormatting(text), stripped, JSON.stringify(text));
    assert.equal(hasIrcFormatting(text), text !== stripped, JSON.stringify(text));
  }
  // No codes: the very same string back (no copy).
  const long = "x".repeat(10_000);
  assert.equal(stripIrcFormatting(long), long);
});

Deno.test("sanitizeFormattedText keeps the codes and removes every other control and escape", () => {
  const text = `${BOLD}hi${BOLD} ${COLOUR}04,12c${COLOUR} \x1b[31mred\x1b[0m \x1b]0;title\x07` +
    "\x00\x01\x05\x07\x08\x0b\x0c\x0e\x10\x12\x1b\x1c\x7f\x85\x9b2J\u202e\tend";
  assert.equal(
    sanitizeFormattedText(text),
    `${BOLD}hi${BOLD} ${COLOUR}04,12c${COLOUR} red  end`,
  );
  // sanitizeMessageText (topics, reasons, quoted text) keeps none.
  assert.equal(sanitizeMessageText(`${BOLD}hi${COLOUR}04`), "hi04");
});

Deno.test("stripIrcFormatting: marks a code kept apart are cut again once it is gone", () => {
  const marks = "\u0301".repeat(TEXT_MAX_COMBINING_RUN);
  const clean = sanitizeFormattedText(`a${marks}${BOLD}${marks}${BOLD}${marks}`);
  assert.equal(clean, `a${marks}${BOLD}${marks}${BOLD}${marks}`);
  assert.equal(stripIrcFormatting(clean), `a${marks}`);
});

Deno.test("core: codes are stored and relayed as sent; text of nothing but codes is empty", () => {
  const chat = new CoreHarness();
  const alice = chat.login("alice");
  const bob = chat.login("bob");
  const text = `${BOLD}bold${BOLD} ${COLOUR}04,12red${COLOUR}`;
  alice.say(`${text}\x1b[2J`, "#lobby", "r1");
  chat.flush();
  // The frame the core hands to every encoder keeps them (the IRC one relays them)...
  assert.deepEqual(only(bob.take(), "msg").map((m) => m.text), [text]);
  assert.deepEqual(chat.store.recent("#lobby", 10).messages.map((m) => m.text), [text]);
  // ...and the NDJSON and plain encoders take them out.
  const frame = { type: "msg", id: 1, room: "#lobby", from: "alice", text, ts: 0 } as const;
  assert.equal(
    new TextDecoder().decode(NDJSON.encode(frame)),
    JSON.stringify({ ...frame, text: "bold red" }) + "\n",
  );
  assert.equal(new TextDecoder().decode(PLAIN.encode(frame)), "<alice> bold red\r\n");
  // Codes alone, spaces or not, say nothing.
  alice.say(`${BOLD}${COLOUR}04,12 ${COLOUR}\x0f`, "#lobby", "r2");
  chat.flush();
  const refused = only(alice.take(), "error");
  assert.deepEqual(refused.map((e) => [e.code, e.ref]), [["empty_text", "r2"]]);
  // A direct message keeps them too (the same cleaning).
  alice.run(`/msg bob ${BOLD}psst`);
  assert.deepEqual(only(bob.take(), "dm").map((m) => m.text), [`${BOLD}psst`]);
});

Deno.test("encoders: every frame with people's text is stripped; other frames pass as they are", () => {
  const coded = `${BOLD}x${COLOUR}04y`;
  const frames: ServerFrame[] = [
    { type: "msg", id: 1, room: "#a", from: "b", text: coded, ts: 0 },
    { type: "dm", id: 1, from: "b", to: "c", text: coded, ts: 0 },
    { type: "topic", room: "#a", topic: coded, by: "b", ts: 0 },
    { type: "joined", room: "#a", topic: coded, members: [], count: 1 },
    { type: "leave", room: "#a", nick: "b", reason: "quit", message: coded, ts: 0 },
    { type: "rooms", rooms: [{ room: "#a", members: 1, topic: coded }] },
    {
      type: "welcome",
      v: 1,
      nick: "b",
      server: "s",
      rooms: [{ room: "#a", topic: coded, members: [], count: 1 }],
      limits: { maxFrame: 1, maxText: 1, maxNick: 1, maxRooms: 1 } as never,
    },
  ];
  for (const frame of frames) {
    const json = new TextDecoder().decode(NDJSON.encode(frame));
    assert.ok(!hasIrcFormatting(json) && !json.includes("\\u000"), json);
    assert.ok(json.includes('"xy"'), json);
    const plain = new TextDecoder().decode(PLAIN.encode(frame));
    assert.ok(!hasIrcFormatting(plain), plain);
  }
  const info: ServerFrame = { type: "info", text: "nothing to strip" };
  assert.equal(withoutFormatting(info), info);
  const msg: ServerFrame = { type: "msg", id: 1, room: "#a", from: "b", text: "plain", ts: 0 };
  assert.equal(withoutFormatting(msg), msg);
});

/** True if `text` holds a C0 or C1 control character or DEL. */
function hasControl(text: string): boolean {
  return [...text].some((c) => c < " " || (c >= "\x7f" && c <= "\x9f"));
}

Deno.test("wire: colours and escapes reach NDJSON and netcat readers clean; the store keeps the codes", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/chat.db`;
  const server = testServer({ db });
  const clients: LineSocket[] = [];
  try {
    const alice = await JsonClient.login(server, "alice");
    const bob = await JsonClient.login(server, "bob");
    const carol = await plainLogin(server, "carol");
    clients.push(alice, bob, carol);
    const text = `${BOLD}bold${BOLD} ${COLOUR}04,12red${COLOUR} \x1b[31mesc\x1b[0m\x1b]0;pwned\x07`;
    await alice.send({ type: "msg", room: "#lobby", text, ref: "m1" });
    await alice.send({ type: "cmd", line: `/msg bob ${COLOUR}9green`, room: "#lobby", ref: "d1" });
    // Raw lines: not one control character, not even JSON-escaped.
    const json = await lineWith(bob, '"type":"msg"');
    assert.equal((JSON.parse(json) as { text: string }).text, "bold red esc");
    assert.ok(!json.includes("\\u00") && !hasControl(json), json);
    const dm = await lineWith(bob, '"type":"dm"');
    assert.equal((JSON.parse(dm) as { text: string }).text, "green");
    const plain = await lineWith(carol, "<alice>");
    assert.equal(plain, "<alice> bold red esc");
    assert.ok(!hasControl(plain), plain);
  } finally {
    for (const c of clients) c.close();
    await server.shutdown();
  }
  const store = new SqliteHistory({ path: db, retention: 100, upkeepIntervalMs: 0 });
  try {
    assert.deepEqual(store.recent("#lobby", 10).messages.map((m) => m.text), [
      `${BOLD}bold${BOLD} ${COLOUR}04,12red${COLOUR} esc`,
    ]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
