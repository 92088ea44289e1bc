/**
 * History slices for a front end that shows them itself (IRC `CHATHISTORY`): a query by message
 * id or time (latest, before, after, around, between) answered with the stored messages, oldest
 * first, instead of being delivered as frames. The same two limits as every replay apply: what
 * the reader's address may still read (in stored bytes, charged per read) and what their queue
 * may take (the replay budget less what it already holds). Messages from people the reader
 * ignores are left out, as they are live. No wire format here: ids, times and room names only.
 *
 * @module
 */

import { MAX_HISTORY_REQUEST } from "../config/store_limits.ts";
import { type Awaitable, then } from "./awaitable.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import type {
  HistorySlice,
  HistoryStore,
  MessageFrame,
  ReadBudget,
  StoredMessage,
} from "./ports.ts";
import type { Room } from "./room.ts";
import type { User } from "./user.ts";

/** Where a query starts or ends: a message by its id, or a moment (ms since the epoch). */
export type HistoryRef = { readonly id: number } | { readonly ts: number };

/**
 * A history query; every bound is exclusive, and `limit` is clamped to `1..MAX_HISTORY_REQUEST`.
 * - `latest`: the newest messages (only those after `since`, when given);
 * - `before` / `after`: the nearest messages before or after `ref`;
 * - `around`: `ref` itself (when it is a message of the room) and its neighbours on both sides;
 * - `between`: the messages strictly between `from` and `to`, counted from `from` (backwards in
 *   time when `to` is older).
 */
export type HistoryQuery =
  | { readonly kind: "latest"; readonly since: HistoryRef | null; readonly limit: number }
  | { readonly kind: "before"; readonly ref: HistoryRef; readonly limit: number }
  | { readonly kind: "after"; readonly ref: HistoryRef; readonly limit: number }
  | { readonly kind: "around"; readonly ref: HistoryRef; readonly limit: number }
  | {
    readonly kind: "between";
    readonly from: HistoryRef;
    readonly to: HistoryRef;
    readonly limit: number;
  };

/**
 * Why no history was given: the reader is not in the room, their address has read its allowance
 * (or their queue is too full to take any), or the store could not be read.
 */
export type HistoryRefusal = "not_in_room" | "rate_limited" | "store_failed";

/** A query's answer: the room's display name and its messages, oldest first; or why not. */
export type HistoryAnswer =
  | { readonly ok: true; readonly room: string; readonly messages: readonly StoredMessage[] }
  | { readonly ok: false; readonly reason: HistoryRefusal };

/** A room with history, and when its newest message was said. */
export interface HistoryTarget {
  /** The room's display name. */
  readonly room: string;
  /** The newest message's time (ms since the epoch). */
  readonly ts: number;
}

/** Rooms whose newest message falls in a window, earliest first; or why not. */
export type TargetsAnswer =
  | { readonly ok: true; readonly targets: readonly HistoryTarget[] }
  | { readonly ok: false; readonly reason: HistoryRefusal };

/**
 * The bytes a message takes on the reader's wire, when its front end renders it otherwise than
 * the frame `frameBytes` counts (an IRC reader gets a line per line of text, each with the
 * sender's mask and tags): the replay budget is then counted in these.
 */
export type WireBytes = (message: StoredMessage) => number;

/** What a slice is read with (a {@linkcode HistoryReader}'s settings). */
export interface SliceSources {
  /** Where the history is read from. */
  readonly store: Pick<HistoryStore, "recent" | "after" | "before" | "afterOldest" | "idAt">;
  /** Bytes of history each address may still read, charged with what each read cost. */
  readonly reads: ReadBudget;
  /** Bytes a frame takes on the wire, for the replay budget. */
  readonly frameBytes: (out: Outgoing) => number;
  /** Bytes of replay one request may queue. */
  readonly replayBudgetBytes: number;
}

/** Which end of a slice is kept when the queue budget cuts it: the one nearest its anchor. */
type Keep = "oldest" | "newest";

/** The reads of one query, with what is left of the allowance; charged as they go. */
class Reads {
  #left: number;
  /** A read found messages but could not afford even one of them. */
  starved = false;
  readonly #sources: SliceSources;
  readonly #user: User;
  readonly #room: string;

  constructor(sources: SliceSources, user: User, room: string, allowance: number) {
    this.#sources = sources;
    this.#user = user;
    this.#room = room;
    this.#left = allowance;
  }

  /** One store read within what is left, charged to the address. */
  slice(
    read: (store: SliceSources["store"], room: string, maxBytes: number) => Awaitable<HistorySlice>,
  ): Awaitable<HistorySlice> {
    return then(read(this.#sources.store, this.#room, Math.max(0, this.#left)), (slice) => {
      this.#left -= slice.bytes;
      if (slice.messages.length === 0 && slice.missed > 0) this.starved = true;
      this.#sources.reads.charge(this.#user.address, slice.bytes);
      return slice;
    });
  }

  /** The smallest id at or after `ts` (see {@linkcode HistoryStore.idAt}). */
  idAt(ts: number): Awaitable<number> {
    return this.#sources.store.idAt(this.#room, ts);
  }

  /** Every message after this id is after `ref`. */
  after(ref: HistoryRef): Awaitable<number> {
    return "id" in ref ? ref.id : then(this.idAt(ref.ts + 1), (id) => id - 1);
  }

  /** Every message before this id is before `ref`. */
  before(ref: HistoryRef): Awaitable<number> {
    return "id" in ref ? ref.id : this.idAt(ref.ts);
  }
}

/**
 * Answers `query` for `user` in `room` (the caller checked membership): the messages, oldest
 * first, within the address's allowance and the replay budget less what the user's queue holds,
 * without those from people `user` ignores. A store that throws or rejects is `store_failed`.
 */
export function readHistorySlice(
  sources: SliceSources,
  user: User,
  room: Room,
  query: HistoryQuery,
  wireBytes?: WireBytes,
): Awaitable<HistoryAnswer> {
  const budget = sources.replayBudgetBytes - (user.sink.queuedBytes ?? 0);
  const readable = sources.reads.available(user.address);
  if (readable <= 0 || budget <= 0) return { ok: false, reason: "rate_limited" };
  const reads = new Reads(sources, user, room.name, Math.min(budget, readable));
  const limit = Math.max(1, Math.min(MAX_HISTORY_REQUEST, Math.floor(query.limit)));
  return guarded(() =>
    then(select(reads, query, limit), ({ messages, keep }): HistoryAnswer => {
      const seen = visible(user, messages);
      const cost = wireBytes ?? frameCost(sources, room);
      const shown = withinBudget(seen, budget, keep, cost);
      // Something to show, and not even one fits the allowance or the queue: a retry later will
      // do better than an empty answer, which a client paging forward would take for the end.
      if (shown.length === 0 && (seen.length > 0 || reads.starved)) {
        return { ok: false, reason: "rate_limited" };
      }
      return { ok: true, room: room.name, messages: shown };
    })
  );
}

/**
 * The rooms of `rooms` whose newest message was said strictly between `from` and `to` (either
 * order), earliest first, at most `limit` of them. A room's newest ts comes from memory
 * (`Room.newestTs`); only a room whose newest ts is not known yet is read from the store (once:
 * what it finds is kept), each read charged to `user`'s address. So a TARGETS line costs no store
 * reads for rooms that had a message since they were loaded, where it cost one per room.
 */
export function readHistoryTargets(
  sources: SliceSources,
  user: User,
  rooms: readonly Room[],
  from: number,
  to: number,
  limit: number,
): Awaitable<TargetsAnswer> {
  if (sources.reads.available(user.address) <= 0) return { ok: false, reason: "rate_limited" };
  const low = Math.min(from, to);
  const high = Math.max(from, to);
  const found: HistoryTarget[] = [];
  const step = (i: number): Awaitable<TargetsAnswer> => {
    if (i >= rooms.length) {
      found.sort((a, b) => a.ts - b.ts);
      return { ok: true, targets: found.slice(0, Math.max(1, Math.floor(limit))) };
    }
    const room = rooms[i];
    const consider = (ts: number): Awaitable<TargetsAnswer> => {
      // 0: the room has no message.
      if (ts > 0 && ts > low && ts < high) found.push({ room: room.name, ts });
      return step(i + 1);
    };
    if (room.newestTs !== null) return consider(room.newestTs);
    const reads = new Reads(sources, user, room.name, sources.reads.available(user.address));
    return then(reads.slice((store, name, maxBytes) => store.recent(name, 1, maxBytes)), (s) => {
      const newest = s.messages[s.messages.length - 1];
      // Kept only when the read was whole (an allowance can cut it to nothing); a message
      // committed meanwhile may have set a newer ts already.
      if (newest !== undefined || s.missed === 0) {
        room.newestTs = Math.max(room.newestTs ?? 0, newest?.ts ?? 0);
      }
      return consider(newest?.ts ?? 0);
    });
  };
  return guarded(() => step(0));
}

/** The stored messages `query` selects, oldest first, and which end to keep if cut. */
function select(
  reads: Reads,
  query: HistoryQuery,
  limit: number,
): Awaitable<{ messages: StoredMessage[]; keep: Keep }> {
  const newest = (s: HistorySlice) => ({ messages: s.messages, keep: "newest" as const });
  const oldest = (s: HistorySlice) => ({ messages: s.messages, keep: "oldest" as const });
  switch (query.kind) {
    case "latest":
      if (query.since === null) {
        return then(reads.slice((s, r, b) => s.recent(r, limit, b)), newest);
      }
      return then(
        reads.after(query.since),
        (x) => then(reads.slice((s, r, b) => s.after(r, x, limit, b)), newest),
      );
    case "before":
      return then(
        reads.before(query.ref),
        (y) => then(reads.slice((s, r, b) => s.before(r, y, limit, b)), newest),
      );
    case "after":
      return then(
        reads.after(query.ref),
        (x) => then(reads.slice((s, r, b) => s.afterOldest(r, x, limit, b)), oldest),
      );
    case "around":
      return then("id" in query.ref ? query.ref.id : reads.idAt(query.ref.ts), (center) => {
        // The centre and the older half first, then the newer ones up to the limit.
        const older = Math.ceil(limit / 2);
        return then(reads.slice((s, r, b) => s.before(r, center + 1, older, b)), (first) => {
          const newer = limit - first.messages.length;
          if (newer <= 0) return { messages: first.messages, keep: "oldest" as const };
          return then(
            reads.slice((s, r, b) => s.afterOldest(r, center, newer, b)),
            (second) => ({ messages: [...first.messages, ...second.messages], keep: "oldest" }),
          );
        });
      });
    case "between":
      return between(reads, query.from, query.to, limit);
  }
}

/** `between`: forwards from `from` when it is older than `to`, else backwards. */
function between(
  reads: Reads,
  from: HistoryRef,
  to: HistoryRef,
  limit: number,
): Awaitable<{ messages: StoredMessage[]; keep: Keep }> {
  return then(
    reads.after(from),
    (fromAfter) =>
      then(
        reads.before(from),
        (fromBefore) =>
          then(reads.after(to), (toAfter) =>
            then(reads.before(to), (toBefore) => {
              const forwards = "id" in from && "id" in to
                ? from.id < to.id
                : "ts" in from && "ts" in to
                ? from.ts < to.ts
                : fromAfter < toBefore;
              if (forwards) {
                return then(
                  reads.slice((s, r, b) => s.afterOldest(r, fromAfter, limit, b)),
                  (slice) => ({
                    messages: slice.messages.filter((m) => m.id < toBefore),
                    keep: "oldest" as const,
                  }),
                );
              }
              return then(
                reads.slice((s, r, b) => s.before(r, fromBefore, limit, b)),
                (slice) => ({
                  messages: slice.messages.filter((m) => m.id > toAfter),
                  keep: "newest" as const,
                }),
              );
            })),
      ),
  );
}

/** `messages` without those from people `user` ignores. */
function visible(user: User, messages: readonly StoredMessage[]): StoredMessage[] {
  const hides = user.ignores.historyFilter();
  return hides === null ? [...messages] : messages.filter((m) => !hides(m.from));
}

/**
 * The history frame for stored message `m` in `room`: what a replay sends, and what the slice
 * budget measures, so the two can never count different bytes.
 */
export function historyFrame(m: StoredMessage, room: Room): MessageFrame {
  const frame: MessageFrame = {
    type: "msg",
    id: m.id,
    room: room.name,
    from: m.from,
    text: m.text,
    ts: m.ts,
    history: true,
  };
  if (m.action) frame.action = true;
  if (m.notice) frame.notice = true;
  return frame;
}

/** A message's bytes as the history frame a replay would send (`frameBytes`). */
function frameCost(sources: SliceSources, room: Room): WireBytes {
  return (m) => sources.frameBytes(new Outgoing(historyFrame(m, room)));
}

/**
 * As many of `messages` as fit `budget` wire bytes (as `cost` counts them), from the end a
 * reader paging from the query's anchor needs first.
 */
function withinBudget(
  messages: StoredMessage[],
  budget: number,
  keep: Keep,
  cost: WireBytes,
): StoredMessage[] {
  let bytes = 0;
  let fit = 0;
  for (const m of keep === "oldest" ? messages : [...messages].reverse()) {
    bytes += cost(m);
    if (bytes > budget) break;
    fit++;
  }
  return keep === "oldest" ? messages.slice(0, fit) : messages.slice(messages.length - fit);
}

/** Runs a read; a store that throws or rejects becomes `store_failed`. */
function guarded<T extends { ok: boolean }>(
  read: () => Awaitable<T>,
): Awaitable<T | { ok: false; reason: "store_failed" }> {
  const failed = () => ({ ok: false as const, reason: "store_failed" as const });
  try {
    const result = read();
    return result instanceof Promise ? result.catch(failed) : result;
  } catch {
    return failed();
  }
}
