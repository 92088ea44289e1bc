/**
 * The history store's bounds, at their boundaries: the server-wide byte cap (oldest messages of
 * any room first), the age limit, forgetting rooms empty for longer than it, an id counter that
 * never goes back, upkeep that reports failures instead of throwing them, and store errors that
 * name their cause.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { StoredMessage } from "../core/ports.ts";
import { SqliteHistory, type SqliteHistoryOptions } from "../store/sqlite/history.ts";
import { describeStoreError, StoreError } from "../store/store_error.ts";
import { eventually } from "./helpers/wire.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

function message(id: number, room: string, ts: number, size = 100): StoredMessage {
  return { id, room, from: "n", text: `${id} `.padEnd(size, "x"), ts };
}

async function withDb(run: (path: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await run(`${dir}/history.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function open(path: string, options: Partial<SqliteHistoryOptions> = {}): SqliteHistory {
  return new SqliteHistory({ path, retention: 100_000, upkeepIntervalMs: 0, ...options });
}

/** Every id left in these rooms. */
function ids(store: SqliteHistory, rooms: string[]): number[] {
  return rooms.flatMap((r) => store.recent(r, 1_000_000).messages.map((m) => m.id))
    .sort((a, b) => a - b);
}

Deno.test("the byte cap deletes the oldest messages of any room first and keeps the file at the cap", async () => {
  await withDb((path) => {
    const cap = 512 * 1024;
    const rooms = ["#a", "#b", "#c"];
    const store = open(path, { maxBytes: cap, now: () => T0 });
    let id = 1;
    // Under the cap, nothing is deleted.
    while (store.usedBytes() < cap / 2) store.append([message(id++, rooms[id % 3], T0, 1000)]);
    assert.equal(ids(store, rooms).length, id - 1);
    // Four times the cap in all. The cap is looked at once per 1/64 of it appended (8 KiB).
    while (id < 2000) {
      store.append([message(id++, rooms[id % 3], T0, 1000)]);
      assert.ok(store.usedBytes() <= cap + 12 * 1024, `in use ${store.usedBytes()} at ${id - 1}`);
    }
    const left = ids(store, rooms);
    assert.ok(left.length > 300 && left.length < 520, `${left.length} messages left`);
    // What is left is exactly the newest messages, whatever their room.
    assert.deepEqual(left, Array.from({ length: left.length }, (_, i) => id - left.length + i));
    // A resume from before the hole hears of it.
    assert.ok(store.after("#a", 3, 10).missed >= 1);
    store.close();
    // One commit may take the file past the cap by its own size, no more.
    assert.ok(Deno.statSync(path).size <= cap + 16 * 1024, `file ${Deno.statSync(path).size}`);
    const again = open(path, { maxBytes: cap });
    assert.equal(again.nextId(), id);
    again.close();
  });
});

Deno.test("a cap lowered across a restart is worked down by upkeep, in bounded steps", async () => {
  await withDb((path) => {
    const store = open(path, { maxBytes: 0 });
    for (let id = 1; id <= 4000; id++) store.append([message(id, "#a", T0, 1000)]);
    store.close();
    const smaller = open(path, { maxBytes: 1024 * 1024 });
    assert.ok(smaller.usedBytes() > 4 * 1024 * 1024);
    let runs = 1;
    while (smaller.upkeep()) runs++;
    assert.ok(runs > 1, "more than one run");
    assert.ok(smaller.usedBytes() <= 1024 * 1024);
    assert.equal(ids(smaller, ["#a"]).at(-1), 4000, "the newest stay");
    smaller.close();
  });
});

Deno.test("without a cap the same load keeps everything", async () => {
  await withDb((path) => {
    const store = open(path, { maxBytes: 0 });
    for (let id = 1; id < 1000; id++) store.append([message(id, "#a", T0, 1000)]);
    assert.equal(ids(store, ["#a"]).length, 999);
    assert.ok(store.usedBytes() > 512 * 1024);
    store.close();
  });
});

Deno.test("the age limit deletes messages older than it, and keeps one exactly that old", async () => {
  await withDb((path) => {
    let now = T0 + 19 * DAY;
    const store = open(path, { maxAgeMs: 10 * DAY, now: () => now });
    for (let i = 0; i < 20; i++) store.append([message(i + 1, "#r", T0 + i * DAY)]);
    store.upkeep();
    // Cut-off T0 + 9 days: the message sent at that instant stays.
    assert.deepEqual(ids(store, ["#r"]), Array.from({ length: 11 }, (_, i) => 10 + i));
    assert.equal(store.after("#r", 5, 100).missed, 1, "a resume from before the cut hears of it");
    // Everything ages out; the id counter does not go back.
    now = T0 + 100 * DAY;
    store.upkeep();
    assert.deepEqual(ids(store, ["#r"]), []);
    assert.equal(store.nextId(), 21);
    store.close();
    const again = open(path);
    assert.equal(again.nextId(), 21, "and not after a restart either");
    again.close();
  });
});

Deno.test("a long backlog of old messages is deleted in batches, across upkeep runs", async () => {
  await withDb((path) => {
    const store = open(path, { maxAgeMs: DAY, now: () => T0 + 2 * DAY });
    const batch: StoredMessage[] = [];
    for (let id = 1; id <= 20_000; id++) batch.push(message(id, "#r", T0, 10));
    store.append(batch);
    let runs = 1;
    while (store.upkeep()) runs++;
    assert.ok(runs > 1, "more than one run");
    assert.deepEqual(ids(store, ["#r"]), []);
    store.close();
  });
});

Deno.test("rooms empty and unused for longer than the age limit are forgotten, and only those", async () => {
  await withDb((path) => {
    let now = T0;
    const store = open(path, {
      maxAgeMs: 10 * DAY,
      now: () => now,
      roomInUse: (key) => key === "#busy",
    });
    for (const room of ["#old", "#busy", "#talk"]) store.setTopic(room, `about ${room}`);
    store.append([message(1, "#talk", T0 + 5 * DAY), message(2, "#talk", T0 + 5 * DAY)]);
    now = T0 + 10 * DAY;
    store.upkeep();
    assert.equal(store.topic("#old"), "about #old", "exactly the age limit: kept");
    now = T0 + 10 * DAY + 1;
    store.upkeep();
    assert.equal(store.topic("#old"), "", "forgotten");
    assert.equal(store.topic("#busy"), "about #busy", "has members");
    assert.equal(store.topic("#talk"), "about #talk", "has messages");
    // #talk's messages age out; the room is empty from then on, and forgotten one age later.
    now = T0 + 15 * DAY + 1;
    store.upkeep();
    assert.deepEqual(ids(store, ["#talk"]), []);
    assert.equal(store.topic("#talk"), "about #talk");
    now = T0 + 25 * DAY + 1;
    store.upkeep();
    assert.equal(store.topic("#talk"), "about #talk");
    now = T0 + 25 * DAY + 2;
    store.upkeep();
    assert.equal(store.topic("#talk"), "");
    // A resume into the forgotten room still hears that it missed something.
    assert.equal(store.after("#talk", 1, 100).missed, 1);
    store.close();
  });
});

Deno.test("upkeep runs on its timer and reports failures instead of throwing them", async () => {
  await withDb(async (path) => {
    const seed = open(path);
    seed.append([message(1, "#r", Date.now() - 3 * DAY)]);
    seed.moderation.bans.save({ kind: "nick", target: "x", until: 1, reason: "", by: "op" });
    seed.close();
    const errors: StoreError[] = [];
    const stuck = open(path, {
      maxAgeMs: DAY,
      fault: "read-only",
      upkeepIntervalMs: 10,
      onUpkeepError: (error) => errors.push(error),
    });
    await eventually(() => errors.length >= 2, "two failed upkeep steps");
    assert.ok(errors.every((e) => e instanceof StoreError));
    assert.equal(errors[0].message, "the database is read-only");
    assert.equal(stuck.recent("#r", 10).messages.length, 1, "reads go on");
    stuck.saveNextId(50);
    assert.equal(stuck.nextId(), 50, "the id counter needs no write");
    stuck.close();
    const store = open(path, { maxAgeMs: DAY, upkeepIntervalMs: 10 });
    await eventually(() => store.recent("#r", 10).messages.length === 0, "the age sweep");
    assert.deepEqual(store.moderation.bans.load(), [], "expired bans are purged by upkeep");
    store.close();
  });
});

Deno.test("a full disk fails an append with an error that names it; the store stays usable", async () => {
  await withDb((path) => {
    open(path).close();
    const store = open(path, { fault: "full" });
    let failure: unknown = null;
    for (let id = 1; id < 100 && failure === null; id++) {
      try {
        store.append([message(id, "#r", T0, 2000)]);
      } catch (error) {
        failure = error;
      }
    }
    assert.ok(failure instanceof StoreError);
    assert.equal(failure.message, "the disk is full");
    assert.ok(store.recent("#r", 100).messages.length > 0, "reads go on");
    store.close();
  });
});

Deno.test("opening a database whose schema is current writes nothing", async () => {
  await withDb((path) => {
    open(path).close();
    const holder = new DatabaseSync(path);
    holder.exec("BEGIN IMMEDIATE");
    try {
      // With the write lock held elsewhere, any write would wait 5 s and fail.
      const started = performance.now();
      const store = open(path, { maxBytes: 1024 * 1024, maxAgeMs: DAY });
      assert.equal(store.nextId(), 1);
      store.close();
      assert.ok(performance.now() - started < 2000);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
  });
});

Deno.test("SQLite errors become one clause naming the cause", () => {
  assert.equal(describeStoreError(new Error("database or disk is full")), "the disk is full");
  assert.equal(
    describeStoreError(new Error("attempt to write a readonly database")),
    "the database is read-only",
  );
  assert.equal(
    describeStoreError(new Error("database is locked")),
    "the database is locked by another program",
  );
  assert.equal(describeStoreError(new Error("odd")), "the database failed (odd)");
});
