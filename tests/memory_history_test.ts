/**
 * The in-memory store keeps the SQLite store's contract: the same calls give the same slices
 * (messages, missed, bytes read) on both, so core tests on memory say something about SQLite.
 */

import assert from "node:assert/strict";
import type { HistoryStore, StoredMessage } from "../core/ports.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { StoreError } from "../store/store_error.ts";

function message(id: number, room = "#lobby", text = `message ${id}`): StoredMessage {
  return { id, room, from: "alice", text, ts: 1000 + id };
}

/** Runs `check` on a memory store and on a SQLite one in memory, both with `retention`. */
function onBoth(retention: number, check: (store: HistoryStore) => void): void {
  const memory = new MemoryHistory({ retention });
  const sqlite = new SqliteHistory({ path: ":memory:", retention, upkeepIntervalMs: 0 });
  try {
    check(memory);
    check(sqlite);
  } finally {
    sqlite.close();
  }
}

Deno.test("memory store: recent and after give what the SQLite store gives", () => {
  const results: unknown[] = [];
  onBoth(1000, (store) => {
    store.append([1, 2, 3, 4, 5].map((id) => message(id)));
    store.append([message(6, "#Other")]);
    results.push([
      store.recent("#lobby", 3),
      store.recent("#LOBBY", 10, 150),
      store.after("#lobby", 2, 10),
      store.after("#lobby", 0, 2, 200),
      store.recent("#other", 5),
      store.nextId(),
    ]);
  });
  assert.deepEqual(results[0], results[1]);
});

Deno.test("memory store: a read stops at maxBytes, charging the row that crossed it", () => {
  const store = new MemoryHistory();
  store.append([message(1), message(2)]);
  const one = store.recent("#lobby", 10, 100);
  assert.deepEqual(one.messages.map((m) => m.id), [2]);
  assert.equal(one.missed, 1);
  assert.ok(one.bytes > 100);
});

Deno.test("memory store: a resume across messages dropped by retention counts a miss", () => {
  const store = new MemoryHistory({ retention: 2 });
  store.append([1, 2, 3, 4].map((id) => message(id)));
  assert.equal(store.size("#lobby"), 2);
  const slice = store.after("#lobby", 1, 10);
  assert.deepEqual(slice.messages.map((m) => m.id), [3, 4]);
  assert.equal(slice.missed, 1);
  assert.equal(store.after("#lobby", 2, 10).missed, 0);
});

Deno.test("memory store: ids never go back, whether used by a message or a DM", () => {
  const store = new MemoryHistory();
  store.append([message(3)]);
  assert.equal(store.nextId(), 4);
  store.saveNextId(10);
  assert.equal(store.nextId(), 10);
  assert.throws(() => store.append([message(3)]), StoreError);
});

Deno.test("memory store: a failing store refuses writes with the cause, and reads on request", () => {
  const store = new MemoryHistory();
  store.fail("the disk is full");
  assert.throws(() => store.append([message(1)]), new StoreError("the disk is full"));
  assert.throws(() => store.setTopic("#lobby", "x"), StoreError);
  assert.throws(() =>
    store.moderation.bans.save({ kind: "nick", target: "t", until: 0, reason: "", by: "op" })
  );
  assert.equal(store.recent("#lobby", 5).messages.length, 0);
  store.fail("the disk could not be read or written (I/O error)", true);
  assert.throws(() => store.recent("#lobby", 5), StoreError);
  store.fail(null);
  store.append([message(1)]);
  assert.equal(store.size("#lobby"), 1);
});

Deno.test("memory store: expired bans and mutes are purged, lasting ones kept", () => {
  const store = new MemoryHistory();
  store.moderation.bans.save({ kind: "nick", target: "a", until: 100, reason: "", by: "op" });
  store.moderation.bans.save({ kind: "nick", target: "b", until: 0, reason: "", by: "op" });
  store.moderation.mutes.save({ kind: "nick", target: "c", until: 100, by: "op" });
  store.moderation.purgeExpired(100);
  assert.deepEqual(store.moderation.bans.load().map((b) => b.target), ["b"]);
  assert.deepEqual(store.moderation.mutes.load(), []);
});
