/**
 * Siblings of the Hardening II findings: the same mistakes in other places, found by a review
 * after the fixes, each pinned by a test that failed before its fix.
 */

import assert from "node:assert/strict";
import { MAX_IGNORES, MAX_ROOMS_LISTED } from "../config/limits.ts";
import { User } from "../core/user.ts";
import { createLogger } from "../log/logger.ts";
import { LogThrottle } from "../log/throttle.ts";
import { MAX_ROOMS_COUNTED } from "../store/sqlite/bounds.ts";
import { MAX_COUNTED, SqliteHistory } from "../store/sqlite/history.ts";
import { CoreHarness, one, only } from "./helpers/core.ts";
import { eventually, LineSocket, testServer } from "./helpers/wire.ts";

const sink = { deliver() {}, close() {} };

Deno.test("an ignore list cannot be grown past its cap by a troll cycling through nicks", () => {
  const victim = new User("victim", sink);
  victim.ignores.addNick("troll", "troll");
  for (let i = 0; i < 3 * MAX_IGNORES; i++) {
    const troll = new User("troll", sink);
    assert.ok(victim.ignores.has(troll), "the ignored nick is followed");
    troll.rename(`troll${i}`);
    troll.online = false;
    victim.ignores.wentAway(troll);
  }
  assert.equal(victim.ignores.size, 1, "only what the victim asked for counts");
  // The victim can still ignore someone new, and the latest nick left behind is still ignored.
  victim.ignores.addNick("other", "other");
  assert.ok(victim.ignores.has(new User(`troll${3 * MAX_IGNORES - 1}`, sink)));
});

Deno.test("a topic set by someone you ignore does not reach you", () => {
  const chat = new CoreHarness();
  const victim = chat.login("victim");
  const troll = chat.login("troll");
  const other = chat.login("other");
  victim.run("/ignore troll");
  victim.take();
  troll.run("/topic victim is an idiot");
  assert.deepEqual(only(victim.take(), "topic"), []);
  assert.equal(one(other.take(), "topic").topic, "victim is an idiot");
});

Deno.test("/rooms sorts the rooms at most once a second, and lists only rooms that exist", () => {
  const chat = new CoreHarness();
  const a = chat.login("a");
  const b = chat.login("b");
  a.run("/join #one");
  b.run("/join #two");
  b.run("/join #gone");
  const names = () => chat.hub.busiestRooms(MAX_ROOMS_LISTED).rooms.map((r) => r.name);
  assert.deepEqual(names(), ["#lobby", "#one", "#two", "#gone"]);
  // #two becomes busier than #one, but within the second the order is reused; a room that
  // emptied is left out at once.
  a.run("/join #two");
  b.run("/leave #gone");
  assert.deepEqual(names(), ["#lobby", "#one", "#two"]);
  chat.advance(1000);
  assert.deepEqual(names(), ["#lobby", "#two", "#one"]);
});

Deno.test("a history read's count stops at MAX_COUNTED, and the count is charged", () => {
  const store = new SqliteHistory({ path: ":memory:", retention: 1_000_000, maxBytes: 0 });
  try {
    const batch = Array.from({ length: MAX_COUNTED + 500 }, (_, i) => ({
      id: i + 1,
      room: "#huge",
      from: "w",
      text: "x",
      ts: i,
    }));
    store.append(batch);
    const slice = store.recent("#huge", 10, 0);
    assert.equal(slice.messages.length, 0);
    assert.equal(slice.missed, MAX_COUNTED, "a lower bound, not a walk over the whole room");
    assert.ok(slice.bytes >= MAX_COUNTED * 16, "the walk it did is charged");
  } finally {
    store.close();
  }
});

Deno.test("the store's per-room prune counters stay bounded however many rooms are written", () => {
  const store = new SqliteHistory({ path: ":memory:", retention: 100, maxBytes: 0 });
  try {
    const rooms = MAX_ROOMS_COUNTED + 200;
    store.append(Array.from({ length: rooms }, (_, i) => ({
      id: i + 1,
      room: `#r${i}`,
      from: "w",
      text: "x",
      ts: i,
    })));
    assert.ok(store.roomsCounted <= MAX_ROOMS_COUNTED, `${store.roomsCounted} counted`);
    // Nothing was lost by forgetting the counters: every room still has its message.
    assert.equal(store.recent("#r0", 5).messages.length, 1);
  } finally {
    store.close();
  }
});

Deno.test("refusals from one address are logged once per window, with a count", async () => {
  const lines: Record<string, unknown>[] = [];
  const server = testServer({
    maxLoginsPerMinute: 1,
    logger: createLogger({ format: "json", write: (line) => lines.push(JSON.parse(line)) }),
  });
  const kept = await LineSocket.connect(server);
  for (let i = 0; i < 50; i++) {
    const refused = await LineSocket.connect(server);
    await refused.readLine();
    refused.close();
  }
  await eventually(() => true, "nothing");
  const refusals = lines.filter((line) => line.event === "refused");
  assert.equal(refusals.length, 1, `${refusals.length} refusal lines for 50 refusals`);
  kept.close();
  await server.shutdown();
});

Deno.test("a log throttle says how many lines it left out, and forgets the oldest keys", () => {
  const throttle = new LogThrottle(1000, 2);
  assert.equal(throttle.take("a", 0), 0);
  assert.equal(throttle.take("a", 10), null);
  assert.equal(throttle.take("a", 20), null);
  assert.equal(throttle.take("a", 1000), 2);
  throttle.take("b", 0);
  throttle.take("c", 0);
  assert.equal(throttle.size, 2);
});
