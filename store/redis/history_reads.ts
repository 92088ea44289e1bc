/**
 * The Redis history's reads: a room's stream read up to the node's watermark, with the counts
 * the SQLite store gives (store/sqlite/history.ts). Each entry carries its number in the room
 * (`n`), so how many messages lie between two entries is a subtraction, not a walk; the read
 * script brings the first chunk and those numbers in one round trip, and further chunks come
 * only while the count and byte budget last.
 *
 * @module
 */

import type { HistorySlice, StoredMessage } from "../../core/ports.ts";
import type { RedisConn, Reply } from "../../cluster/redis_conn.ts";
import { BASE_KEY, roomMetaKey, roomStreamKey } from "../../cluster/keys.ts";
import { HISTORY_READ_CHUNK } from "../../config/cluster_limits.ts";
import { ID_AT, READ } from "./scripts.ts";
import { readChunks, streamEntries } from "./stream_read.ts";

/** Bytes a row costs beyond its text and nick: the SQLite store's estimate, charged alike. */
const ROW_OVERHEAD_BYTES = 64;

/** A `missed` count stops here, as in the SQLite store. */
const MAX_COUNTED = 100_000;

/** What counting one message costs the reader, as in the SQLite store. */
const INDEX_ENTRY_BYTES = 16;

/** About what a message costs to read: the SQLite store's estimate. */
function rowBytes(m: StoredMessage): number {
  return ROW_OVERHEAD_BYTES + m.text.length + m.from.length + m.room.length;
}

/** A script's reply as strings (Redis turns Lua strings into bulk strings). */
export function strings(reply: Reply): string[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
  return reply.map((r) => (r === null ? "" : String(r)));
}

/**
 * `recent` (mode `recent`, `ref` unused) and `after` (messages newer than `ref`): the newest
 * `limit` up to the watermark `w`, read newest first within `maxBytes`. `missed` counts the
 * rest, plus 1 for a resume over messages that are gone (trimmed, or below the room's floor).
 */
export async function readNewest(
  conn: RedisConn,
  room: string,
  mode: "recent" | "after",
  w: number,
  ref: number,
  limit: number,
  maxBytes: number,
): Promise<HistorySlice> {
  const firstCount = Math.max(1, Math.min(limit, HISTORY_READ_CHUNK));
  const head = await readHead(conn, room, mode, w, ref, firstCount);
  const read = await readChunks(conn, {
    key: roomStreamKey(room),
    first: head.entries,
    firstCount,
    chunk: HISTORY_READ_CHUNK,
    limit,
    maxBytes,
    newestFirst: true,
    bound: mode === "after" ? `(${ref}` : "-",
    rowBytes,
  });
  const total = head.newestSeq > 0 && head.firstSeq > 0
    ? Math.min(head.newestSeq - head.firstSeq + 1, MAX_COUNTED)
    : 0;
  let missed = Math.max(0, total - read.kept.length);
  if (mode === "after" && head.prunedThrough(ref) > ref) missed += 1;
  return {
    messages: read.kept.reverse(),
    missed,
    bytes: read.bytes + total * INDEX_ENTRY_BYTES,
  };
}

/**
 * `before` (older than `ref`, newest first) and `afterOldest` (mode `oldest`: newer than `ref`,
 * oldest first): a page up to the watermark `w`, and `missed` 1 when more remain past it.
 */
export async function readPage(
  conn: RedisConn,
  room: string,
  mode: "before" | "oldest",
  w: number,
  ref: number,
  limit: number,
  maxBytes: number,
): Promise<HistorySlice> {
  // One past the page says whether more remain.
  const firstCount = Math.min(limit + 1, HISTORY_READ_CHUNK);
  const head = await readHead(conn, room, mode, w, ref, firstCount);
  const read = await readChunks(conn, {
    key: roomStreamKey(room),
    first: head.entries,
    firstCount,
    chunk: HISTORY_READ_CHUNK,
    limit,
    maxBytes,
    newestFirst: mode === "before",
    bound: mode === "before" ? "-" : String(w),
    rowBytes,
    lookAhead: true,
  });
  const counted = read.kept.length + (read.more ? 1 : 0);
  return {
    messages: mode === "before" ? read.kept.reverse() : read.kept,
    missed: counted - read.kept.length + read.skipped,
    bytes: read.bytes + counted * INDEX_ENTRY_BYTES,
  };
}

/**
 * The smallest id in `room` (up to the watermark `w`) whose ts is `tsMs` or later, else
 * `w + 1`: bisected inside Redis (one script, about 50 stream lookups), one round trip.
 */
export async function readIdAt(
  conn: RedisConn,
  room: string,
  tsMs: number,
  w: number,
): Promise<number> {
  const reply = await conn.run(ID_AT, [roomStreamKey(room)], [Math.floor(tsMs), w]);
  return typeof reply === "string" && reply !== "" ? Number(reply) : w + 1;
}

/** The read script's first chunk and numbers. */
async function readHead(
  conn: RedisConn,
  room: string,
  mode: string,
  w: number,
  ref: number,
  count: number,
) {
  const reply = await conn.run(
    READ,
    [roomStreamKey(room), roomMetaKey(room), BASE_KEY],
    [mode, w, ref, count],
  ) as Reply[];
  const [newest, firstCounted, heldId, heldSeq, floor, base, lastGen] = strings(reply.slice(1));
  return {
    entries: streamEntries(reply[0]),
    newestSeq: Number(newest),
    firstSeq: Number(firstCounted),
    /** The newest id this room may have lost, as a resume from `afterId` sees it. */
    prunedThrough(afterId: number): number {
      // A room Redis has no record of: everything up to the epoch's start may be lost.
      if (floor === "") return afterId > 0 ? Number(base) : 0;
      // Below the floor: lost when Redis lost the room's stream (or before the room was made).
      let pruned = afterId > 0 ? Number(floor) : 0;
      // Trimmed by retention: the first entry held is not the room's first (an upper bound on
      // the newest trimmed; a resume that close to it is already cut by its count).
      if (Number(heldSeq) > 1) pruned = Math.max(pruned, Number(heldId) - 1);
      // Trimmed empty by age: everything up to the newest entry it had.
      if (heldId === "0") pruned = Math.max(pruned, Number(lastGen));
      return pruned;
    },
  };
}
