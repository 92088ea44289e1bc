/**
 * History replay: reads a room's history within the reader's per-address allowance and turns
 * it into history frames for one user, within a byte budget so that a replay can never overflow
 * the user's outbound queue. When the budget (or the store's limit) cuts the slice, a `gap`
 * frame says how many were left out. Messages from people the user ignores are left out too, as
 * they are live. It needs nothing of the hub: the store, the allowance and the user's sink.
 *
 * @module
 */

import { MAX_RESUME_REPLAY } from "../config/limits.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import { reply } from "./deliver.ts";
import { type Awaitable, then } from "./awaitable.ts";
import type { HistorySlice, HistoryStore, ReadBudget } from "./ports.ts";
import {
  type HistoryAnswer,
  historyFrame,
  type HistoryQuery,
  readHistorySlice,
  readHistoryTargets,
  type TargetsAnswer,
  type WireBytes,
} from "./history_slice.ts";
import type { Room } from "./room.ts";
import type { User } from "./user.ts";

/**
 * How many bytes a frame takes on the wire (the transport knows; see `HubOptions.frameBytes`).
 */
export type FrameBytes = (out: Outgoing) => number;

/** What a replay sent: its wire bytes, how many messages it showed and hid, and what is older. */
export interface Replayed {
  /** Wire bytes queued, as `frameBytes` counts them. */
  bytes: number;
  /** Messages sent. */
  shown: number;
  /** Messages left out because the user ignores their author (not counted in any `gap`). */
  hidden: number;
  /** True when older messages remain (cut by the count, a budget, or the store's limit). */
  more: boolean;
  /**
   * The id of the oldest message the replay covered, shown or hidden: where the next older page
   * starts (`/history N before ID`). Absent when it covered none.
   */
  oldest?: number;
}

/** How a replay tells what it left out. */
export interface ReplayOptions {
  /**
   * Sends a `gap` frame first when older messages were left out. A scroll-back page does not:
   * its closing `info` says whether more remain, and what it left out is the next page.
   * @default true
   */
  gap?: boolean;
}

/** A user's request for a page of history (`/history [N] [before ID]`). */
export interface HistoryRequest {
  /** How many messages, at most. */
  count: number;
  /** Only messages older than this id (scroll-back); absent for the room's latest. */
  before?: number;
}

/**
 * Sends a history slice to `user`, newest messages first in priority, within `budget` bytes as
 * their sink counts them (`PeerSink.replayBytes`, else `frameBytes`), leaving out messages from
 * people `user` ignores; returns the bytes it used (so that one login resuming many rooms shares
 * one budget) and what it showed and hid.
 *
 * A hidden message counts towards the number asked for (`/history 20` shows those of the room's
 * last 20 that are not hidden) and towards what a read may cost, since the store counts and
 * reads it before anyone knows it will be hidden (and the address's allowance pays for it). It
 * costs none of the queue's byte budget, since it is not sent, and it is not in the `gap`, which
 * counts what was cut, not what the user chose not to see.
 */
export function replay(
  user: User,
  room: Room,
  slice: HistorySlice,
  budget: number,
  frameBytes: FrameBytes,
  options: ReplayOptions = {},
): Replayed {
  const outs: Outgoing[] = [];
  const hides = user.ignores.historyFilter();
  let bytes = 0;
  let cut = 0;
  let hidden = 0;
  for (let i = slice.messages.length - 1; i >= 0; i--) {
    const m = slice.messages[i];
    if (hides !== null && hides(m.from)) {
      hidden++;
      continue;
    }
    const out = new Outgoing(historyFrame(m, room));
    // In the reader's own wire bytes when its front end renders them otherwise (IRC): what
    // its queue will hold, so a replay within the budget never overflows it.
    const size = user.sink.replayBytes?.(out) ?? frameBytes(out);
    if (bytes + size > budget) {
      cut = i + 1;
      break;
    }
    bytes += size;
    outs.push(out);
  }
  const missed = slice.missed + cut;
  if (missed > 0 && options.gap !== false) {
    user.sink.deliver(new Outgoing({ type: "gap", room: room.name, missed }));
  }
  for (let i = outs.length - 1; i >= 0; i--) user.sink.deliver(outs[i]);
  const replayed: Replayed = { bytes, shown: outs.length, hidden, more: missed > 0 };
  if (cut < slice.messages.length) replayed.oldest = slice.messages[cut].id;
  return replayed;
}

/** Settings for a {@linkcode HistoryReader}. */
export interface HistoryReaderOptions {
  /** Where the history is read from. */
  store: Pick<HistoryStore, "recent" | "after" | "before" | "afterOldest" | "idAt">;
  /** Bytes of history each address may still read, charged with what each read cost. */
  reads: ReadBudget;
  /** Bytes a frame takes on the wire, for the replay budget. */
  frameBytes: FrameBytes;
  /** Bytes of replay one join, /history or login may queue. */
  replayBudgetBytes: number;
}

/**
 * Reads history for one user within two limits: what their address may still read (in stored
 * bytes, charged per read) and what their queue may take (in wire bytes). A store that cannot
 * be read costs a `store_failed` notice, not the connection.
 *
 * @example
 * ```ts
 * import { MemoryHistory } from "../store/memory/history.ts";
 * import { Room } from "./room.ts";
 * import { User } from "./user.ts";
 * const reader = new HistoryReader({
 *   store: new MemoryHistory(),
 *   reads: { available: () => Infinity, charge: () => {} },
 *   frameBytes: (out) => JSON.stringify(out.frame).length + 1,
 *   replayBudgetBytes: 1 << 18,
 * });
 * const user = new User("alice", { deliver() {}, close() {} });
 * reader.recent(user, new Room("#lobby"), 50); // { bytes: 0, shown: 0, hidden: 0 }: nothing said yet
 * ```
 */
export class HistoryReader {
  readonly #options: HistoryReaderOptions;

  /** A reader with these settings. */
  constructor(options: HistoryReaderOptions) {
    this.#options = options;
  }

  /** Bytes of history `user`'s address may read now (0 or less: none). */
  readable(user: User): number {
    return this.#options.reads.available(user.address);
  }

  /**
   * Replays the last `count` messages of a room to `user`, within the replay budget less what
   * their queue already holds; returns how many were shown and how many hidden (none of either
   * when the store could not be read).
   */
  recent(user: User, room: Room, count: number): Awaitable<Replayed> {
    return this.page(user, room, { count });
  }

  /**
   * Replays a page of a room's history to `user`: the last `count` messages or, with `before`,
   * the last `count` older than that id (scroll-back, which sends no `gap`: its caller says
   * whether more remain). Within the replay budget less what their queue already holds; returns
   * what was shown, hidden and left. When the store could not be read, nothing was shown and
   * `more` is true: nothing is known of older messages, so a client paging back tries again.
   */
  page(user: User, room: Room, request: HistoryRequest): Awaitable<Replayed> {
    const { count, before } = request;
    const store = this.#options.store;
    const budget = this.#options.replayBudgetBytes - (user.sink.queuedBytes ?? 0);
    const read = this.#read(
      user,
      room,
      (maxBytes) =>
        before === undefined
          ? store.recent(room.name, count, maxBytes)
          : store.before(room.name, before, count, maxBytes),
      Math.max(0, Math.min(budget, this.readable(user))),
    );
    return then(
      read,
      (slice): Replayed =>
        slice === null
          ? { bytes: 0, shown: 0, hidden: 0, more: true }
          : replay(user, room, slice, Math.max(0, budget), this.#options.frameBytes, {
            gap: before === undefined,
          }),
    );
  }

  /**
   * A login's replay of one room: the last `count` messages, or (resuming) what came after
   * `lastSeen`, within `budget` wire bytes that the login's rooms share. Returns the bytes used.
   */
  resume(
    user: User,
    room: Room,
    count: number,
    lastSeen: number | undefined,
    budget: number,
  ): Awaitable<number> {
    const store = this.#options.store;
    const read = this.#read(
      user,
      room,
      (maxBytes) =>
        lastSeen === undefined
          ? store.recent(room.name, count, maxBytes)
          : store.after(room.name, lastSeen, MAX_RESUME_REPLAY, maxBytes),
      Math.max(0, Math.min(budget, this.readable(user))),
    );
    // The read is bounded by the address's allowance (in stored bytes); the replay only by the
    // queue budget (in wire bytes), so nothing the address paid for is cut again.
    return then(
      read,
      (slice) =>
        slice === null
          ? 0
          : replay(user, room, slice, Math.max(0, budget), this.#options.frameBytes).bytes,
    );
  }

  /**
   * Answers a history query (IRC `CHATHISTORY`) with the messages themselves, oldest first, for
   * the caller to show: within the address's allowance and the replay budget less what the
   * user's queue holds (in `wireBytes` when given), without those from people the user ignores
   * (see `history_slice.ts`).
   */
  slice(
    user: User,
    room: Room,
    query: HistoryQuery,
    wireBytes?: WireBytes,
  ): Awaitable<HistoryAnswer> {
    return readHistorySlice(this.#options, user, room, query, wireBytes);
  }

  /**
   * The rooms of `rooms` whose newest message was said strictly between `from` and `to` (ms),
   * earliest first, at most `limit` (IRC `CHATHISTORY TARGETS`); each read charged as usual.
   */
  targets(
    user: User,
    rooms: readonly Room[],
    from: number,
    to: number,
    limit: number,
  ): Awaitable<TargetsAnswer> {
    return readHistoryTargets(this.#options, user, rooms, from, to, limit);
  }

  /** Reads within `allowance` bytes and charges the user's address for it; null on failure. */
  #read(
    user: User,
    room: Room,
    read: (maxBytes: number) => Awaitable<HistorySlice>,
    allowance: number,
  ): Awaitable<HistorySlice | null> {
    const charged = (slice: HistorySlice) => {
      this.#options.reads.charge(user.address, slice.bytes);
      return slice;
    };
    const failed = (error: unknown) => {
      reply(
        user,
        "store_failed",
        `The history of ${room.name} could not be read (${(error as Error).message}).`,
      );
      return null;
    };
    try {
      const slice = read(allowance);
      return slice instanceof Promise ? slice.then(charged, failed) : charged(slice);
    } catch (error) {
      return failed(error);
    }
  }
}
