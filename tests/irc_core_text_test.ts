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
