/**
 * The relay, the core's hot path: `say` gives a room message its id and queues it; `flush`
 * (run at the end of the current task, or before any other event) commits the whole batch to
 * the store in one call and only then acknowledges it to its authors and relays it to the
 * rooms, each message encoded once whatever the number of recipients.
 *
 * In a cluster (a store with `sharedIds`) the store hands out the ids, and a committed batch
 * reaches the rooms only as the shared log brings it back ({@linkcode Relay.committed}, every
 * node's batches, this one's too): so every member on every node sees ids rise and each message
 * once, and an author's ack comes in its place among the others' messages.
 *
 * @module
 */

import { type Awaitable, then } from "./awaitable.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { CommittedBatch, LiveBatch, LiveMessage } from "./cluster.ts";
import { MAX_BATCH_TEXT, MAX_STORED_TS_AHEAD_MS } from "../config/limits.ts";
import {
  AWAITING_LOG_TIMEOUT_MS,
  MAX_AWAITING_BATCHES,
  RESUME_FLOOR_MAX_MS,
} from "../config/cluster_limits.ts";
import { Outgoing, OutgoingBatch, type Preencoded } from "../protocol/outgoing.ts";
import { sanitizeFormattedText, stripIrcFormatting } from "../security/unicode.ts";
import { reply, send } from "./deliver.ts";
import type { Moderator } from "./moderator.ts";
import type { HistoryStore, StoredMessage } from "./ports.ts";
import type { Registry } from "./registry.ts";
import type { Room } from "./room.ts";
import { shown } from "./text.ts";
import type { User } from "./user.ts";

/** Settings for a {@linkcode Relay}. */
export interface RelayOptions {
  /** Where rooms are looked up. */
  registry: Registry;
  /** Who may not speak. */
  moderation: Moderator;
  /** Where each batch is committed, and the id counter kept. */
  store: Pick<
    HistoryStore,
    "append" | "nextId" | "saveNextId" | "newestTs" | "sharedIds" | "unstoredId" | "delivered"
  >;
  /**
   * This node's id in a cluster: a committed batch the log brings back with it is this relay's,
   * to acknowledge. @default "" (not in a cluster)
   */
  node?: string;
  /** The clock, in milliseconds since the epoch. */
  now: () => number;
  /** Told how long each commit took, in seconds. */
  onCommit: (seconds: number) => void;
  /**
   * Arranges for the batch to be flushed once the current task is done (the hub runs it in
   * order with its other events). @default a microtask that calls `flush`
   */
  schedule?: () => void;
  /** Told of what an operator should know (a stored ts from the future). @default nothing */
  audit?: (event: string, fields: Record<string, string | number>) => void;
}

/**
 * What a room message is: plain text, a `/me` action, or a notice (IRC's `NOTICE`, which
 * clients must never answer automatically). Stored with the message and replayed with it.
 */
export type MessageKind = "text" | "action" | "notice";

/** A said message waiting for the batch commit. */
interface PendingMessage {
  stored: StoredMessage;
  user: User;
  room: Room;
  ref?: string;
  /** Where the author's lines were joined without a newline (relayed live, never stored). */
  breaks?: number[];
}

/** A committed batch waiting for the cluster log, and when it was handed to the store. */
interface Awaiting {
  batch: PendingMessage[];
  /** The clock when the append was sent, for {@linkcode AWAITING_LOG_TIMEOUT_MS}. */
  at: number;
}

/**
 * A resume floor (see {@linkcode Relay.resumed}): a member who saw the room up to `id` on
 * another node gets nothing live up to it here.
 */
interface Floor {
  id: number;
  /** The clock when it was set, for {@linkcode RESUME_FLOOR_MAX_MS}. */
  at: number;
}

/**
 * The text `user` may send, cleaned; null (with the user told why) if they are muted or it is
 * empty. Room messages and direct messages pass the same checks. IRC formatting codes are
 * kept (non-IRC encoders strip them), so text that is nothing but codes counts as empty.
 */
export function spokenText(
  moderation: Moderator,
  user: User,
  text: string,
  ref: string | undefined,
): string | null {
  if (moderation.muted(user, ref)) return null;
  const clean = sanitizeFormattedText(text);
  if (stripIrcFormatting(clean).trim() === "") {
    reply(user, "empty_text", "A message needs some text.", ref);
    return null;
  }
  return clean;
}

/**
 * The join offsets `breaks` of `text` (see `MessageFrame.breaks`), moved to `clean` (what the
 * text rules made of `text`): the same when the rules changed nothing; else each piece between
 * breaks is cleaned alone, and the offsets kept only if the cleaned pieces make up `clean`
 * (otherwise none: a message is never misjoined, only shown as one line). Offsets that are not
 * strictly increasing inside the text are dropped.
 *
 * @example
 * ```ts
 * keptBreaks("ab\u202ecd", "abcd", [3]); // [2]: the bidi override before the join was removed
 * ```
 */
export function keptBreaks(text: string, clean: string, breaks: readonly number[]): number[] {
  const valid: number[] = [];
  for (const b of breaks) {
    if (Number.isInteger(b) && b > (valid.at(-1) ?? 0) && b < text.length) valid.push(b);
  }
  if (valid.length === 0 || clean === text) return valid;
  const moved: number[] = [];
  let joined = "";
  let from = 0;
  for (const b of [...valid, text.length]) {
    joined += sanitizeFormattedText(text.slice(from, b));
    if (b < text.length) moved.push(joined.length);
    from = b;
  }
  if (joined !== clean) return [];
  // A piece the rules emptied leaves two breaks at one place (or one at an end): keep one.
  return moved.filter((b, i) => b > 0 && b < clean.length && b !== moved[i - 1]);
}

/**
 * Batches room messages: one store commit per batch, then acks and fan-out.
 *
 * @example
 * ```ts
 * import { BanList } from "./moderation.ts";
 * import { Moderator } from "./moderator.ts";
 * import { Registry } from "./registry.ts";
 * import { User } from "./user.ts";
 * import { MemoryHistory } from "../store/memory/history.ts";
 * const store = new MemoryHistory();
 * const registry = new Registry(store);
 * const host = { now: Date.now, users: [] as User[], flush() {}, logout() {} };
 * const moderation = new Moderator(host, {
 *   bans: new BanList(store.moderation),
 *   operSecret: null,
 *   audit: () => {},
 * });
 * const relay = new Relay({ registry, moderation, store, now: Date.now, onCommit: () => {} });
 * const alice = new User("alice", { deliver() {}, close() {} });
 * const lobby = registry.roomFor("#lobby");
 * if (lobby !== null) {
 *   lobby.members.add(alice);
 *   alice.rooms.add(lobby);
 * }
 * relay.say(alice, "#lobby", "hello");
 * relay.flush(); // committed, then acked to alice
 * ```
 */
export class Relay {
  readonly #registry: Registry;
  readonly #moderation: Moderator;
  readonly #store: RelayOptions["store"];
  readonly #now: () => number;
  readonly #onCommit: (seconds: number) => void;
  readonly #schedule: () => void;
  #pending: PendingMessage[] = [];
  /** The store hands out ids and the log relays (a cluster): see {@linkcode Relay.committed}. */
  readonly #shared: boolean;
  readonly #node: string;
  /** The last batch token handed out (cluster only). */
  #token = 0;
  /**
   * Batches committed (or on their way) that the log has not brought back yet, by token: their
   * authors are acknowledged when it does (cluster only).
   */
  readonly #awaiting = new Map<number, Awaiting>();
  /**
   * Tokens of `#awaiting` whose append answered success, oldest first. This relay's appends go
   * one after another, so the log brings their batches in token order: one still here when a
   * later batch of ours arrives was lost on the way (see {@linkcode Relay.committed}).
   */
  readonly #appended = new Set<number>();
  /**
   * Resume floors by room, then member (cluster only; empty but for members who resumed on
   * this node past what its log had brought): see {@linkcode Relay.resumed}.
   */
  readonly #floors = new Map<Room, Map<User, Floor>>();
  /** The lowest floor in `#floors` (Infinity: none): a batch below it clears none. */
  #lowestFloor = Infinity;
  /** The last id of the newest batch the log brought here (cluster only). */
  #watermark = 0;
  /** Text in `#pending`, in UTF-16 code units. */
  #pendingText = 0;
  #nextId: number;
  /**
   * The newest `ts` handed out: none goes below it, even when the clock steps back. It starts
   * at the store's newest message, so a restart with a clock behind the last run's does not
   * take `ts` back either.
   */
  #lastTs: number;

  /** A relay with nothing queued, handing out ids from where the store left off. */
  constructor(options: RelayOptions) {
    this.#registry = options.registry;
    this.#moderation = options.moderation;
    this.#store = options.store;
    this.#now = options.now;
    this.#onCommit = options.onCommit;
    this.#schedule = options.schedule ?? (() => queueMicrotask(() => void this.flush()));
    this.#nextId = options.store.nextId();
    this.#lastTs = startTs(options);
    this.#shared = options.store.sharedIds === true;
    this.#node = options.node ?? "";
  }

  /**
   * An id for a message that is not stored (a direct message), from the same counter, so ids
   * stay unique while the server runs (see `HistoryStore.nextId`).
   */
  unstoredId(): number {
    // A cluster's ids come from the shared counter (blocks of it), unique on every node.
    const shared = this.#store.unstoredId?.();
    if (shared !== undefined) return shared;
    const id = this.#nextId++;
    this.#store.saveNextId(this.#nextId); // in memory until the next write: never fails
    return id;
  }

  /**
   * Queues a room message from `user`. It is committed, acknowledged to its author and relayed
   * to everyone else in the room at the next {@linkcode Relay.flush}. Its `ts` is never below
   * the one before, so time goes up with ids (history finds a time by bisecting ids).
   */
  say(
    user: User,
    roomName: string,
    text: string,
    ref?: string,
    kind: MessageKind = "text",
    breaks?: readonly number[],
  ): void {
    const room = this.#registry.room(roomName);
    if (room === undefined || !user.rooms.has(room)) {
      reply(
        user,
        "not_in_room",
        `You are not in ${shown(roomName)}. Join it with /join ${shown(roomName)}.`,
        ref,
      );
      return;
    }
    const clean = spokenText(this.#moderation, user, text, ref);
    if (clean === null) return;
    const stored: StoredMessage = {
      id: this.#nextId++,
      room: room.name,
      from: user.nick,
      text: clean,
      ts: this.#lastTs = Math.max(this.#now(), this.#lastTs),
    };
    if (kind === "action") stored.action = true;
    else if (kind === "notice") stored.notice = true;
    if (this.#pending.length === 0) this.#schedule();
    const joins = breaks === undefined ? undefined : keptBreaks(text, clean, breaks);
    // One shape for every pending message (breaks undefined on the native path: no array).
    this.#pending.push({
      stored,
      user,
      room,
      ref,
      breaks: joins === undefined || joins.length === 0 ? undefined : joins,
    });
    this.#pendingText += clean.length;
  }

  /** The next batch: what is pending, up to {@linkcode MAX_BATCH_TEXT} (at least one message). */
  #take(): PendingMessage[] {
    const pending = this.#pending;
    if (this.#pendingText <= MAX_BATCH_TEXT) {
      this.#pending = [];
      this.#pendingText = 0;
      return pending;
    }
    let text = pending[0].stored.text.length;
    let n = 1;
    while (n < pending.length && text + pending[n].stored.text.length <= MAX_BATCH_TEXT) {
      text += pending[n++].stored.text.length;
    }
    this.#pending = pending.slice(n);
    this.#pendingText -= text;
    // The rest goes in the next batch, in order.
    if (this.#pending.length > 0) this.#schedule();
    return pending.slice(0, n);
  }

  /**
   * Commits every message queued so far, then acknowledges and relays it: one store call per
   * batch of at most {@linkcode MAX_BATCH_TEXT}, one after another, so that an event that waits
   * for this flush comes after all of them. At once with an in-process store, when the commits
   * resolve with one across the network. Never rejects.
   */
  flush(): Awaitable<void> {
    // Messages said after this call (while a commit is on its way) are a later flush's.
    let left = this.#pending.length;
    const next = (): Awaitable<void> => {
      if (left <= 0 || this.#pending.length === 0) return;
      const batch = this.#take();
      left -= batch.length;
      return then(this.#commit(batch), next);
    };
    return next();
  }

  /** Commits one batch, then acknowledges and relays it (or tells its authors it failed). */
  #commit(batch: PendingMessage[]): Awaitable<void> {
    if (this.#shared) return this.#commitShared(batch);
    const started = performance.now();
    const committed = () => {
      this.#onCommit((performance.now() - started) / 1000);
      relay(batch);
    };
    const failed = (error: unknown) => storeFailed(batch, error);
    try {
      const write = this.#store.append(batch.map((p) => p.stored));
      if (write instanceof Promise) return write.then(committed, failed);
    } catch (error) {
      return failed(error);
    }
    committed();
  }

  /**
   * Commits one batch to a shared store and relays nothing: the log brings it back to every
   * node, this one included ({@linkcode Relay.committed}). The authors are remembered under the
   * batch's token before the append is sent, since the log may bring the batch back before the
   * append's own answer arrives (two connections). A failure is told to the authors only if
   * the log has not brought it: once it has, the batch was committed and acknowledged.
   */
  #commitShared(batch: PendingMessage[]): Awaitable<void> {
    this.#expire();
    if (this.#awaiting.size >= MAX_AWAITING_BATCHES) {
      // The log reader is far behind (or stuck): nothing more is held for it.
      for (const p of batch) {
        reply(
          p.user,
          "store_failed",
          "Your message was not sent: the cluster log is behind on this server, which has not " +
            "yet seen the messages before it. Try again in a moment.",
          p.ref,
        );
      }
      return;
    }
    const started = performance.now();
    const token = ++this.#token;
    this.#awaiting.set(token, { batch, at: this.#now() });
    const live: LiveBatch = { token, breaks: batch.map((p) => p.breaks) };
    const committed = () => {
      this.#onCommit((performance.now() - started) / 1000);
      if (this.#awaiting.has(token)) this.#appended.add(token);
    };
    const failed = (error: unknown) => {
      if (!this.#awaiting.delete(token)) return;
      // An answer lost or timed out: the script may have run, and then the log brings the
      // batch as anyone's (no ack after this error); a definite failure sent nothing.
      if (outcomeUnknown(error)) unconfirmed(batch, (error as Error).message);
      else storeFailed(batch, error);
    };
    try {
      const write = this.#store.append(batch.map((p) => p.stored), live);
      if (write instanceof Promise) return write.then(committed, failed);
    } catch (error) {
      return failed(error);
    }
    committed();
  }

  /**
   * Delivers a batch the cluster log brought (any node's, this one's too, in log order) to the
   * local members of its rooms, each message encoded once, with the ignore rules of a local
   * batch; acknowledges this node's authors in their messages' places; then moves the store's
   * read watermark past it, so that a later join replays it and a join before did not.
   */
  committed(batch: CommittedBatch): void {
    let mine: PendingMessage[] | undefined;
    if (batch.node === this.#node) {
      mine = this.#awaiting.get(batch.token)?.batch;
      this.#awaiting.delete(batch.token);
      this.#appended.delete(batch.token);
      // The store keeps the batch's order; anything else is not this relay's batch.
      if (mine !== undefined && mine.length !== batch.messages.length) mine = undefined;
      this.#forgetLost(batch.token);
    }
    const byRoom = new Map<string, Arrived[]>();
    const messages = batch.messages;
    const frames = batch.encoded?.frames.length === messages.length
      ? batch.encoded.frames
      : undefined;
    // Authors by nick as written, looked up once per batch: folding a nick (lookalikes, NFKC)
    // costs microseconds, and every node does this for every logged message.
    const authors = new Map<string, User | undefined>();
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      const pending = mine?.[i];
      let author = pending?.user;
      if (author === undefined) {
        if (authors.has(message.from)) author = authors.get(message.from);
        else authors.set(message.from, author = this.#registry.user(message.from));
      }
      // Another node's author (a mirror) was active then: /whois here shows their idle time.
      if (author?.node === batch.node) author.lastActive = message.ts;
      const arrived: Arrived = { message, author, pending, frame: frames?.[i] };
      const group = byRoom.get(message.room);
      if (group === undefined) byRoom.set(message.room, [arrived]);
      else group.push(arrived);
    }
    const floors = this.#floors;
    for (const [name, group] of byRoom) {
      const room = this.#registry.room(name);
      const floor = floors.size === 0 || room === undefined ? undefined : floors.get(room);
      relayArrived(room, name, group, floor, batch.encoded?.slot ?? -1);
    }
    this.#store.delivered?.(batch);
    const last = messages.length === 0 ? 0 : messages[messages.length - 1].id;
    if (last > this.#watermark) this.#watermark = last;
    // Ids come in order: nothing up to a floor the log has passed can come again.
    if (this.#watermark >= this.#lowestFloor) this.#dropFloors((f) => f.id <= this.#watermark);
  }

  /**
   * `user` entered `room` resuming after `lastSeen`, the last id they saw there (on another
   * node, likely). When the log has not brought this node that far yet, the replay ended at
   * what it had brought, and the log will bring the rest live: ids up to `lastSeen` are skipped
   * for this member until the log passes them (or {@linkcode RESUME_FLOOR_MAX_MS}). Nothing on
   * a server on its own, where what is committed is delivered at once.
   */
  resumed(user: User, room: Room, lastSeen: number): void {
    if (!this.#shared || !(lastSeen > this.#watermark)) return;
    let members = this.#floors.get(room);
    if (members === undefined) this.#floors.set(room, members = new Map());
    members.set(user, { id: lastSeen, at: this.#now() });
    if (lastSeen < this.#lowestFloor) this.#lowestFloor = lastSeen;
  }

  /**
   * Called about once a second (cluster only): authors of batches the log has not brought for
   * {@linkcode AWAITING_LOG_TIMEOUT_MS} are told, and old or idle resume floors forgotten.
   */
  tick(): void {
    if (!this.#shared) return;
    this.#expire();
    if (this.#floors.size === 0) return;
    const oldest = this.#now() - RESUME_FLOOR_MAX_MS;
    this.#dropFloors((f, user, room) => f.at <= oldest || !room.members.has(user));
  }

  /** Forgets the floors `gone` says are no longer needed; recomputes the lowest left. */
  #dropFloors(gone: (floor: Floor, user: User, room: Room) => boolean): void {
    let lowest = Infinity;
    for (const [room, members] of this.#floors) {
      for (const [user, floor] of members) {
        if (gone(floor, user, room)) members.delete(user);
        else if (floor.id < lowest) lowest = floor.id;
      }
      if (members.size === 0) this.#floors.delete(room);
    }
    this.#lowestFloor = lowest;
  }

  /**
   * Tells the authors of batches sent more than {@linkcode AWAITING_LOG_TIMEOUT_MS} ago that
   * the log has not brought them (the reader is stuck, or the batch was lost): their messages
   * could not be confirmed. Forgotten, so the map stays bounded; oldest first, so this stops at
   * the first one still in time.
   */
  #expire(): void {
    if (this.#awaiting.size === 0) return;
    const oldest = this.#now() - AWAITING_LOG_TIMEOUT_MS;
    for (const [token, { batch, at }] of this.#awaiting) {
      if (at > oldest) break;
      this.#awaiting.delete(token);
      this.#appended.delete(token);
      unconfirmed(batch, "this server has not seen it in the cluster log in time");
    }
  }

  /**
   * Our batches committed before `token` that the log never brought (lost with Redis's data, or
   * trimmed before this node read it): their authors are told rather than left waiting for an
   * ack forever, and they are forgotten, so the map stays bounded.
   */
  #forgetLost(token: number): void {
    for (const older of this.#appended) {
      if (older >= token) break;
      this.#appended.delete(older);
      const lost = this.#awaiting.get(older)?.batch;
      this.#awaiting.delete(older);
      for (const p of lost ?? []) {
        reply(
          p.user,
          "store_failed",
          "Your message may not have been sent: it was saved, but this server lost track of it.",
          p.ref,
        );
      }
    }
  }
}

/** A message the cluster log brought, with its author (if known here) and, if ours, its say. */
interface Arrived {
  message: LiveMessage;
  /** The author: this node's user who said it, or the mirror now holding its nick. */
  author: User | undefined;
  /** This node's say of it (its author is owed the ack), undefined for another node's. */
  pending: PendingMessage | undefined;
  /** Its frame as the log carried it, encoded (see {@linkcode CommittedBatch.encoded}). */
  frame: Uint8Array | undefined;
}

/** Tells the authors of `batch` it was not committed, so not sent (never an ack). */
function storeFailed(batch: readonly PendingMessage[], error: unknown): void {
  for (const p of batch) {
    reply(
      p.user,
      "store_failed",
      `Your message could not be saved, so it was not sent (${(error as Error).message}).`,
      p.ref,
    );
  }
}

/**
 * True when `error` leaves a write's outcome unknown: it was sent but its answer was lost or
 * timed out, so it may have been done (a `StoreError` of kind `ambiguous`, from the Redis
 * store). Such a failure is never told as "not saved".
 */
export function outcomeUnknown(error: unknown): boolean {
  return typeof error === "object" && error !== null &&
    (error as { kind?: unknown }).kind === "ambiguous";
}

/**
 * Tells the authors of `batch` their message could not be confirmed (`why`): it may have been
 * stored, and then the room sees it (so does its author, as a message), but no ack will come.
 */
function unconfirmed(batch: readonly PendingMessage[], why: string): void {
  for (const p of batch) {
    reply(
      p.user,
      "store_failed",
      `Your message could not be confirmed (${why}): it may still appear in the room. Check ` +
        "before sending it again.",
      p.ref,
    );
  }
}

/**
 * The msg frame of a stored message, encoded once for every recipient (`pre`: already encoded
 * for one codec).
 */
function messageOut(
  stored: StoredMessage,
  roomName: string,
  breaks?: number[],
  pre?: Preencoded,
): Outgoing {
  const frame: ServerFrame = {
    type: "msg",
    id: stored.id,
    room: roomName,
    from: stored.from,
    text: stored.text,
    ts: stored.ts,
  };
  if (stored.action) frame.action = true;
  if (stored.notice) frame.notice = true;
  if (breaks !== undefined) frame.breaks = breaks;
  return new Outgoing(frame, pre);
}

/**
 * Relays one room's messages of a batch the log brought to the room's local members (a
 * mirror's own node delivers to it), as {@linkcode relay} does a local batch: one buffer for a
 * member who ignores nobody and is not an author here, else frame by frame with acks in the
 * authors' places. `room` is undefined when nobody here is in it: only acks are owed then.
 */
function relayArrived(
  room: Room | undefined,
  name: string,
  group: Arrived[],
  floors: Map<User, Floor> | undefined,
  slot: number,
): void {
  const shownName = room?.name ?? name;
  const ack = (p: PendingMessage, m: LiveMessage) =>
    send(p.user, { type: "ack", id: m.id, room: shownName, ts: m.ts, ref: p.ref });
  if (room !== undefined) {
    // What CHATHISTORY TARGETS answers from: ts only go up (the store keeps them rising).
    room.newestTs = group[group.length - 1].message.ts;
    // The log's frames name the room as its author's node did: used only if this node agrees.
    const same = slot >= 0 && name === room.name;
    const outs = group.map(({ message, frame }) =>
      messageOut(
        message,
        room.name,
        message.breaks,
        same && frame !== undefined ? { slot, bytes: frame } : undefined,
      )
    );
    const authors = new Set<User>();
    for (const { pending } of group) if (pending !== undefined) authors.add(pending.user);
    const together = group.length === 1 ? outs[0] : new OutgoingBatch(outs);
    for (const member of room.members) {
      if (member.node !== undefined) continue;
      // What this member saw elsewhere before resuming here (see Relay.resumed).
      const floor = floors?.get(member)?.id ?? 0;
      if (!authors.has(member) && member.ignores.isEmpty && floor === 0) {
        member.sink.deliver(together);
        continue;
      }
      for (let i = 0; i < group.length; i++) {
        const { message, author, pending } = group[i];
        if (pending?.user === member) ack(pending, message);
        else if (message.id <= floor) continue;
        else if (!ignoresAuthor(member, author, message.from)) member.sink.deliver(outs[i]);
      }
    }
  }
  // An author who left the room since speaking (but is still here) is still owed the ack.
  for (const { message, pending } of group) {
    if (pending === undefined || !pending.user.online) continue;
    if (room !== undefined && room.members.has(pending.user)) continue;
    ack(pending, message);
  }
}

/** True if `member` hides messages from `author` (known here), or from the nick `from`. */
function ignoresAuthor(member: User, author: User | undefined, from: string): boolean {
  if (member.ignores.isEmpty) return false;
  if (author !== undefined) return member.ignores.has(author);
  return member.ignores.historyFilter()?.(from) ?? false;
}

/**
 * Acknowledges and relays a committed batch. Per room, the messages are encoded once and, for
 * every member who is not an author in the batch and ignores nobody, concatenated once: that
 * member's queue takes a single buffer. Authors (who get acks instead of their own messages)
 * and members with an ignore list get the frames one by one, in the same order.
 */
function relay(batch: PendingMessage[]): void {
  const byRoom = new Map<Room, PendingMessage[]>();
  for (const p of batch) {
    const group = byRoom.get(p.room);
    if (group === undefined) byRoom.set(p.room, [p]);
    else group.push(p);
  }
  for (const [room, group] of byRoom) {
    // What CHATHISTORY TARGETS answers from: ts only go up (see Relay.say).
    room.newestTs = group[group.length - 1].stored.ts;
    // Built here rather than by messageOut: the single-node hot path stays as it was measured.
    const outs = group.map(({ stored, breaks }) => {
      const frame: ServerFrame = {
        type: "msg",
        id: stored.id,
        room: room.name,
        from: stored.from,
        text: stored.text,
        ts: stored.ts,
      };
      if (stored.action) frame.action = true;
      if (stored.notice) frame.notice = true;
      if (breaks !== undefined) frame.breaks = breaks;
      return new Outgoing(frame);
    });
    const authors = new Set(group.map((p) => p.user));
    const together = group.length === 1 ? outs[0] : new OutgoingBatch(outs);
    for (const member of room.members) {
      if (!authors.has(member) && member.ignores.isEmpty) {
        member.sink.deliver(together);
        continue;
      }
      for (let i = 0; i < group.length; i++) {
        const { stored, user, ref } = group[i];
        if (user === member) {
          send(user, { type: "ack", id: stored.id, room: room.name, ts: stored.ts, ref });
        } else if (!member.ignores.has(user)) {
          member.sink.deliver(outs[i]);
        }
      }
    }
    // An author who left the room since speaking (but is still here) is still owed the ack.
    for (const { stored, user, ref } of group) {
      if (!user.online || room.members.has(user)) continue;
      send(user, { type: "ack", id: stored.id, room: room.name, ts: stored.ts, ref });
    }
  }
}

/**
 * The ts a relay starts from: the store's newest, unless it is more than
 * {@linkcode MAX_STORED_TS_AHEAD_MS} ahead of the clock. One message dated in the future (a
 * clock that jumped ahead once, a store edited by hand) would otherwise pin every new ts to it
 * until that time came; it is ignored, and the operator told.
 */
function startTs(options: RelayOptions): number {
  const newest = options.store.newestTs();
  const now = options.now();
  if (newest - now <= MAX_STORED_TS_AHEAD_MS) return newest;
  options.audit?.("stored_ts_in_future", { newest, now, ahead_ms: newest - now });
  return now;
}
