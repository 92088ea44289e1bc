/**
 * The SQLite store on its own thread (store/sqlite/threaded.ts): a stalled disk does not stall
 * the server's event loop, appends still resolve only once committed, and the engine keeps
 * every promise of the one it runs (reads, topics, the id counter, failures in words, batches
 * too big for shared memory, a close that finishes its writes).
 */

import assert from "node:assert/strict";
import type { StoredMessage } from "../core/ports.ts";
import { SLOW_FAULT_MS } from "../store/sqlite/db.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { ThreadedHistory } from "../store/sqlite/threaded.ts";
import { REPLY_BYTES, REQUEST_BYTES } from "../store/sqlite/thread_protocol.ts";
import { decodeBatch, encodeBatch } from "../store/sqlite/batch_codec.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";

/** Runs `body` while a 1 ms interval measures how late the event loop runs it; the worst lag. */
async function worstLoopLag(body: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  try {
    await body();
  } finally {
    clearInterval(timer);
  }
  return worst;
}

const message = (id: number, text = `m${id}`, room = "#lobby"): StoredMessage => ({
  id,
  room,
  from: "ann",
  text,
  ts: 1_700_000_000_000 + id,
});

Deno.test("a stalled disk does not stall the server: the event loop runs on while a commit takes 300 ms", async () => {
  const dir = await Deno.makeTempDir();
  const server = testServer({ db: `${dir}/chat.db`, storeFault: "slow" });
  try {
    const alice = await JsonClient.login(server, "alice");
    let acked = 0;
    const lag = await worstLoopLag(async () => {
      const started = performance.now();
      await alice.send({ type: "msg", text: "through a slow disk", ref: "s" });
      await alice.expect("ack", 5000);
      acked = performance.now() - started;
    });
    assert.ok(acked >= SLOW_FAULT_MS * 0.9, `the ack waited for the commit (${acked} ms)`);
    assert.ok(lag < 100, `the event loop was held up for ${lag.toFixed(1)} ms`);
    alice.close();
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the same stall on the server thread holds its event loop (what the store thread prevents)", async () => {
  const store = new SqliteHistory({ path: ":memory:", retention: 10, fault: "slow" });
  try {
    const lag = await worstLoopLag(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      store.append([message(1)]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    assert.ok(lag >= SLOW_FAULT_MS * 0.9, `lag ${lag} ms`);
  } finally {
    store.close();
  }
});

Deno.test("the threaded store appends, reads, keeps topics and ids, and closes after its writes", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/h.db`;
  try {
    const store = new ThreadedHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    assert.equal(store.nextId(), 1);
    await store.append([message(1), message(2, "zwei ✓"), message(3, "other", "#rust")]);
    const recent = await store.recent("#LOBBY", 10);
    assert.deepEqual(recent.messages.map((m) => m.text), ["m1", "zwei ✓"]);
    assert.deepEqual((await store.after("#lobby", 1, 10)).messages.map((m) => m.id), [2]);
    await store.setTopic("#rust", "crabs");
    assert.equal(await store.topic("#Rust"), "crabs");
    store.saveNextId(50); // a direct message's id: written by close
    // Appends asked for before close are committed before the file is closed.
    const last = store.append([message(4)]);
    await store.close();
    await last;
    const reopened = new ThreadedHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    assert.equal(reopened.nextId(), 50);
    assert.equal((await reopened.recent("#lobby", 10)).messages.length, 3);
    await reopened.close();
    await assert.rejects(reopened.recent("#lobby", 1), /closed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed commit on the store thread is refused in words, and the store stays usable", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/full.db`;
  try {
    new SqliteHistory({ path, retention: 10, upkeepIntervalMs: 0 }).close();
    const store = new ThreadedHistory({ path, retention: 10, fault: "full", upkeepIntervalMs: 0 });
    const big = "x".repeat(60_000);
    await assert.rejects(store.append([message(1, big)]), {
      name: "StoreError",
      message: "the disk is full",
    });
    assert.deepEqual((await store.recent("#lobby", 5)).messages, [], "nothing half-written");
    await assert.rejects(store.append([message(2, big)]), /the disk is full/);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a batch, and a read, too big for shared memory go whole, as messages", async () => {
  const store = new ThreadedHistory({ path: ":memory:", retention: 1000, upkeepIntervalMs: 0 });
  try {
    const text = "y".repeat(64 * 1024);
    const count = Math.ceil(REQUEST_BYTES / text.length) + 2;
    const batch = Array.from({ length: count }, (_, i) => message(i + 1, text));
    assert.ok(encodeBatch(batch, 0).length > REQUEST_BYTES);
    await store.append(batch);
    await store.append([message(count + 1)]); // and shared memory still works after it
    // Over 4 MiB of reply: it comes as a message too.
    const slice = await store.recent("#lobby", 1000);
    assert.ok(JSON.stringify(slice).length > REPLY_BYTES);
    assert.equal(slice.messages.length, count + 1);
    assert.equal(slice.messages[0].text.length, text.length);
  } finally {
    await store.close();
  }
});

Deno.test("upkeep runs on the store thread and spares the rooms in use", async () => {
  let now = 1_000;
  const dir = await Deno.makeTempDir();
  const path = `${dir}/age.db`;
  try {
    // Rooms touched long ago: a topic in each, no messages.
    const setup = new SqliteHistory({ path, retention: 10, now: () => now, upkeepIntervalMs: 0 });
    setup.setTopic("#old", "forgotten");
    setup.setTopic("#live", "kept");
    setup.close();
    now = Date.now();
    const store = new ThreadedHistory({
      path,
      retention: 10,
      maxAgeMs: 60_000,
      upkeepIntervalMs: 0,
      roomsInUse: () => ["#live"],
    });
    assert.equal(await store.upkeep(), false);
    assert.equal(await store.topic("#old"), "", "an unused room past the age limit is forgotten");
    assert.equal(await store.topic("#live"), "kept", "a room in use is kept");
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("packed batches keep every field, in any script, and refuse a truncated or foreign buffer", () => {
  const batch: StoredMessage[] = [
    message(1, "héllo 👋 مرحبا"),
    { ...message(2, "/me waves"), action: true },
    message(3, "", "#Ｒust"),
  ];
  const bytes = encodeBatch(batch, 77);
  assert.deepEqual(decodeBatch(bytes), { messages: batch, nextId: 77 });
  assert.throws(() => decodeBatch(bytes.subarray(0, bytes.length - 3)), SyntaxError);
  assert.throws(() => decodeBatch(new TextEncoder().encode("[1, 2]")), RangeError);
});

Deno.test("job numbers go round past 2^31 - 1 without a job taken for answered or failed", async () => {
  const store = new ThreadedHistory({
    path: ":memory:",
    retention: 100,
    upkeepIntervalMs: 0,
    jobsBefore: 0x7fffffff - 2,
  });
  try {
    for (let i = 1; i <= 5; i++) await store.append([message(i)]);
    assert.equal((await store.recent("#lobby", 10)).messages.length, 5);
  } finally {
    await store.close();
  }
});

Deno.test("replies too big for shared memory are never lost, however they race their wake-up", async () => {
  const store = new ThreadedHistory({ path: ":memory:", retention: 10_000, upkeepIntervalMs: 0 });
  try {
    const text = "x".repeat(4000);
    const batch = Array.from({ length: 1200 }, (_, i) => message(i + 1, text));
    await store.append(batch.slice(0, 600));
    await store.append(batch.slice(600));
    for (let i = 0; i < 150; i++) {
      const slice = await within(store.recent("#lobby", 1200), `big read ${i}`, 10_000);
      assert.equal(slice.messages.length, 1200);
    }
  } finally {
    await store.close();
  }
});
