/**
 * The idle collector (runtime/idle_gc.ts): one full collection once a burst is over, never
 * while the heap is still growing, never for a small growth, never twice within its interval.
 */

import assert from "node:assert/strict";
import {
  IDLE_GC_MIN_GROWTH_BYTES,
  IDLE_GC_MIN_INTERVAL_MS,
  IDLE_GC_QUIET_BYTES,
  IDLE_GC_QUIET_MS,
} from "../config/limits.ts";
import { exposeGc, IdleCollector } from "../runtime/idle_gc.ts";

const MiB = 1024 * 1024;

function fake(heap: number) {
  const state = { heap, now: 0, collections: 0 };
  const collector = new IdleCollector({
    heapUsed: () => state.heap,
    now: () => state.now,
    collect: () => {
      state.collections++;
      state.heap = 10 * MiB;
    },
  });
  /** Moves the clock on by `ms`, one check a second. */
  const wait = (ms: number, growPerCheck = 0) => {
    for (let t = 0; t < ms; t += 1000) {
      state.now += 1000;
      state.heap += growPerCheck;
      collector.check();
    }
  };
  return { state, collector, wait };
}

Deno.test("after a burst, the heap is collected once it has been quiet long enough", () => {
  const { state, wait } = fake(10 * MiB);
  wait(20_000, 4 * MiB); // a login storm: the heap grows every second
  assert.equal(state.collections, 0, "never while it grows");
  wait(IDLE_GC_QUIET_MS - 1000);
  assert.equal(state.collections, 0, "not before the quiet period is over");
  wait(1000);
  assert.equal(state.collections, 1);
  assert.equal(state.heap, 10 * MiB);
});

Deno.test("growth within the quiet allowance still counts as quiet; more does not", () => {
  const { state, wait } = fake(10 * MiB);
  state.heap += IDLE_GC_MIN_GROWTH_BYTES;
  // The jump itself is the last growth; then a trickle, which is quiet.
  wait(IDLE_GC_QUIET_MS + 1000, IDLE_GC_QUIET_BYTES);
  assert.equal(state.collections, 1);
  const second = fake(10 * MiB);
  second.state.heap += IDLE_GC_MIN_GROWTH_BYTES;
  second.wait(IDLE_GC_QUIET_MS * 3, IDLE_GC_QUIET_BYTES + 1); // traffic
  assert.equal(second.state.collections, 0);
});

Deno.test("a growth just under the minimum is left to V8; at the minimum it is collected", () => {
  const under = fake(10 * MiB);
  under.state.heap += IDLE_GC_MIN_GROWTH_BYTES - 1;
  under.wait(IDLE_GC_QUIET_MS * 2);
  assert.equal(under.state.collections, 0);
  const at = fake(10 * MiB);
  at.state.heap += IDLE_GC_MIN_GROWTH_BYTES;
  at.wait(IDLE_GC_QUIET_MS * 2);
  assert.equal(at.state.collections, 1);
});

Deno.test("at most one collection per interval", () => {
  const { state, wait } = fake(10 * MiB);
  state.heap += 2 * IDLE_GC_MIN_GROWTH_BYTES;
  wait(IDLE_GC_QUIET_MS + 1000);
  assert.equal(state.collections, 1);
  state.heap += 2 * IDLE_GC_MIN_GROWTH_BYTES; // another burst at once
  wait(IDLE_GC_MIN_INTERVAL_MS - IDLE_GC_QUIET_MS - 1000);
  assert.equal(state.collections, 1, "not again within the interval");
  wait(IDLE_GC_QUIET_MS + 1000);
  assert.equal(state.collections, 2);
});

Deno.test("V8's own collector can be had at run time, and frees garbage", () => {
  const gc = exposeGc();
  assert.ok(gc !== null);
  let junk: unknown[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
  const before = Deno.memoryUsage().heapUsed;
  junk = null;
  gc();
  assert.equal(junk, null);
  assert.ok(Deno.memoryUsage().heapUsed < before - 4 * MiB, "the garbage was collected");
});
