/**
 * The store reads IRC history needs (contract §5.9): `afterOldest` (the oldest page after an
 * id, for `CHATHISTORY AFTER` and gap-free paging forward) and `idAt` (a `timestamp=` reference
 * as an id), on every engine with the same answers: boundaries, pruned ranges, the byte budget
 * and an empty room.
 */

import assert from "node:assert/strict";
import type { HistorySlice, HistoryStore, StoredMessage } from "../core/ports.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { DelayedHistory } from "../store/memory/delayed.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { ThreadedHistory } from "../store/sqlite/threaded.ts";

const T0 = 1_700_000_000_000;

/** Message `id` in `room`; its ts is T0 + 10 per pair of ids, so two ids share each ts. */
const message = (id: number, room = "#lobby"): StoredMessage => ({
  id,
  room,
  from: "ann",
  text: `m${id}`,
  ts: T0 + 10 * Math.floor(id / 2),
});

/** Ten messages in #lobby (ids 1, 3, ..., 19) with #rust's between them (2, 4, ..., 20). */
const INTERLEAVED = Array.from(
  { length: 20 },
  (_, i) => message(i + 1, i % 2 === 0 ? "#lobby" : "#rust"),
);

const brief = (slice: HistorySlice) => ({
  ids: slice.messages.map((m) => m.id),
  missed: slice.missed,
  bytes: slice.bytes,
});

/** Runs `reads` on a fresh store of every engine; returns each engine's answers by name. */
async function onEveryEngine(
  retention: number,
  reads: (store: HistoryStore) => Promise<unknown>,
): Promise<Record<string, unknown>> {
  const sqlite = new SqliteHistory({ path: ":memory:", retention, upkeepIntervalMs: 0 });
  const threaded = new ThreadedHistory({ path: ":memory:", retention, upkeepIntervalMs: 0 });
  try {
    return {
      memory: await reads(new MemoryHistory({ retention })),
      delayed: await reads(new DelayedHistory(new MemoryHistory({ retention }))),
      sqlite: await reads(sqlite),
      threaded: await reads(threaded),
    };
  } finally {
    sqlite.close();
    await threaded.close();
  }
}

/** Every engine answered `expected`. */
function allSay(results: Record<string, unknown>, expected: unknown): void {
  for (const [engine, got] of Object.entries(results)) assert.deepEqual(got, expected, engine);
}

Deno.test("afterOldest: every engine reads the oldest page after an id, oldest first, within the budget", async () => {
  const row = (text: string) => 64 + text.length + "ann".length + "#lobby".length;
  const results = await onEveryEngine(1000, async (store) => {
    await store.append(INTERLEAVED);
    return [
      brief(await store.afterOldest("#LOBBY", 0, 3)), // from the start: 1, 3, 5 and more
      brief(await store.afterOldest("#lobby", 5, 3)), // 7, 9, 11 (not the newest three)
      brief(await store.afterOldest("#lobby", 4, 2)), // an id of another room: from 5
      brief(await store.afterOldest("#lobby", 13, 10)), // 15, 17, 19: the end, nothing newer
      brief(await store.afterOldest("#lobby", 19, 10)), // the newest: nothing
      brief(await store.afterOldest("#lobby", 1000, 10)),
      brief(await store.afterOldest("#nowhere", 0, 10)),
      // Room for two rows: the third is read, charged and left out, and more remain.
      brief(await store.afterOldest("#lobby", 0, 10, 2 * row("m1") + 1)),
    ];
  });
  allSay(results, [
    { ids: [1, 3, 5], missed: 1, bytes: 3 * row("m1") + 4 * 16 },
    { ids: [7, 9, 11], missed: 1, bytes: 2 * row("m7") + row("m11") + 4 * 16 },
    { ids: [5, 7], missed: 1, bytes: 2 * row("m5") + 3 * 16 },
    { ids: [15, 17, 19], missed: 0, bytes: 3 * row("m15") + 3 * 16 },
    { ids: [], missed: 0, bytes: 0 },
    { ids: [], missed: 0, bytes: 0 },
    { ids: [], missed: 0, bytes: 0 },
    { ids: [1, 3], missed: 1, bytes: 3 * row("m1") + 3 * 16 },
  ]);
});

Deno.test("afterOldest: paging forward from an id gives every later message once, in order", async () => {
  const results = await onEveryEngine(1000, async (store) => {
    await store.append(INTERLEAVED);
    const seen: number[] = [];
    let last = 2;
    for (let pages = 0; pages < 10; pages++) {
      const page = await store.afterOldest("#rust", last, 3);
      seen.push(...page.messages.map((m) => m.id));
      last = page.messages.at(-1)?.id ?? last;
      if (page.missed === 0) break;
    }
    return seen;
  });
  allSay(results, [4, 6, 8, 10, 12, 14, 16, 18, 20]);
});

Deno.test("afterOldest: a page after pruned messages starts at the oldest one stored", async () => {
  // Retention 4 keeps 61..64 (SQLite prunes a room every 64 messages added).
  const results = await onEveryEngine(4, async (store) => {
    await store.append(Array.from({ length: 64 }, (_, i) => message(i + 1)));
    return [
      await store.afterOldest("#lobby", 30, 2),
      await store.afterOldest("#lobby", 0, 10),
      await store.afterOldest("#lobby", 62, 10),
    ].map((slice) => [slice.messages.map((m) => m.id), slice.missed]);
  });
  allSay(results, [[[61, 62], 1], [[61, 62, 63, 64], 0], [[63, 64], 0]]);
});

Deno.test("afterOldest: messages come back whole (room, nick, text, ts, action)", async () => {
  const results = await onEveryEngine(1000, async (store) => {
    await store.append([{ ...message(1), action: true }, message(2)]);
    return (await store.afterOldest("#lobby", 0, 10)).messages;
  });
  allSay(results, [{ ...message(1), action: true }, message(2)]);
});

Deno.test("idAt: the first id at or after a time, on every engine", async () => {
  const results = await onEveryEngine(1000, async (store) => {
    await store.append(INTERLEAVED);
    return [
      await store.idAt("#lobby", 0), // before everything: the first
      await store.idAt("#LOBBY", T0), // exactly the first ts
      await store.idAt("#lobby", T0 + 10), // ids 2 and 3 share it; #lobby's is 3
      await store.idAt("#rust", T0 + 10), // and #rust's is 2
      await store.idAt("#lobby", T0 + 11), // between: the next one (5)
      await store.idAt("#lobby", T0 + 90), // #lobby's last (19, at T0 + 90)
      await store.idAt("#lobby", T0 + 91), // after the newest: the next id
      await store.idAt("#rust", T0 + 100), // #rust's newest (20, at T0 + 100)
      await store.idAt("#nowhere", 0), // an empty room: the next id
    ];
  });
  allSay(results, [1, 1, 3, 2, 5, 19, 21, 20, 21]);
});

Deno.test("idAt: many messages in one millisecond resolve to the first of them", async () => {
  const results = await onEveryEngine(1000, async (store) => {
    const burst = Array.from({ length: 50 }, (_, i) => ({ ...message(i + 1), ts: T0 + 5 }));
    await store.append([
      { ...message(0), id: 100, ts: T0 },
      ...burst.map((m, i) => ({
        ...m,
        id: 101 + i,
      })),
      { ...message(0), id: 151, ts: T0 + 6 },
    ]);
    return [
      await store.idAt("#lobby", T0 + 1),
      await store.idAt("#lobby", T0 + 5),
      await store.idAt("#lobby", T0 + 6),
    ];
  });
  allSay(results, [101, 101, 151]);
});

Deno.test("idAt: a time in a pruned range resolves to the oldest message stored", async () => {
  const results = await onEveryEngine(4, async (store) => {
    await store.append(Array.from({ length: 64 }, (_, i) => message(i + 1)));
    // 61..64 remain: ids 60 and 61 share T0 + 300, 62 and 63 T0 + 310, 64 is at T0 + 320.
    return [
      await store.idAt("#lobby", 0),
      await store.idAt("#lobby", T0 + 100),
      await store.idAt("#lobby", T0 + 301),
      await store.idAt("#lobby", T0 + 320),
    ];
  });
  allSay(results, [61, 61, 62, 64]);
});
