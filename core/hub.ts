/**
 * The chat core: who is connected, which rooms exist, and who hears what. It does no I/O of its
 * own: transports hand it decoded frames and a {@linkcode PeerSink} per connection, history goes
 * through the {@linkcode HistoryStore} port, and it answers by delivering {@linkcode Outgoing}
 * frames to sinks, which never block.
 *
 * Room messages are batched: `say` assigns an id and queues the message; `flush` (run at the end
 * of the current task, or before any other event) commits the batch to the store in one
 * transaction and only then acknowledges and relays it.
 *
 * @module
 */

import {
  DEFAULT_HISTORY_REPLAY,
  MAX_RESUME_REPLAY,
  MAX_ROOMS,
  MAX_ROOMS_PER_USER,
  ROOM_LIST_CACHE_MS,
  TOPIC_MAX_LENGTH,
} from "../config/limits.ts";
import {
  type ErrorCode,
  type ErrorFrame,
  errorFrame,
  type LeaveReason,
  LOBBY,
  PROTOCOL_VERSION,
  type ServerFrame,
} from "../protocol/frames.ts";
import { Outgoing, OutgoingBatch } from "../protocol/outgoing.ts";
import type { HistorySlice, HistoryStore, StoredMessage } from "./ports.ts";
import { displayNick, nickKey, nickProblem } from "./nick.ts";
import { Room, roomKey, roomProblem } from "./room.ts";
import { type PeerSink, User } from "./user.ts";
import { type BanList, describeUntil } from "./moderation.ts";
import { Moderator, type Verifier } from "./moderator.ts";
import { type FrameBytes, replay } from "./replay.ts";
import { Presence, type PresenceNotice } from "./presence.ts";
import { sanitizeMessageText as sanitizeText } from "../security/unicode.ts";

export { type PeerSink, Room, User };

/** Settings for a {@linkcode Hub}. */
export interface HubOptions {
  /** Users that may be logged in at once. */
  maxUsers: number;
  /** Largest frame, reported to clients in the welcome. */
  maxFrame: number;
  /** Name and version announced in the welcome. */
  serverName: string;
  /** Where room messages are committed before anyone hears of them. */
  store: HistoryStore;
  /** Messages replayed on joining a room. @default 50 */
  historyReplay?: number;
  /** Bytes of replay one join may queue (keep well under the outbound queue cap). */
  replayBudgetBytes: number;
  /** Clock, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** The ban list (its store makes bans outlive a restart). */
  bans: BanList;
  /** The server password every hello must carry; null for an open server. @default null */
  password?: Verifier | null;
  /** The secret /oper takes; null disables operators. @default null */
  operSecret?: Verifier | null;
  /** Told of moderation and other notable events, for the log. @default nothing */
  audit?: (event: string, fields: Record<string, string | number>) => void;
  /** Told how long each history commit took, in seconds, for metrics. @default nothing */
  onCommit?: (seconds: number) => void;
  /**
   * Bytes of history each address may still read (for /history, joins and resume), charged
   * with what each read cost. @default unlimited
   */
  historyReads?: ReadBudget;
  /**
   * Bytes a frame takes on the wire, for replay budgets. The server passes its NDJSON size
   * (which also caches the encoding); the core knows no wire format.
   * @default the length of the frame as JSON
   */
  frameBytes?: FrameBytes;
}

/** A per-address allowance of bytes read from the history store. */
export interface ReadBudget {
  /** Bytes `address` may read now (0 or less: none). */
  available(address: string): number;
  /** Charges `address` for `bytes` read. */
  charge(address: string, bytes: number): void;
}

const UNLIMITED_READS: ReadBudget = { available: () => Infinity, charge: () => {} };

export type { Verifier };

/** The outcome of a login attempt. `fatal` errors end the connection; others allow a retry. */
export type LoginResult = { ok: true; user: User } | { ok: false; error: ErrorFrame };

/** A login request, as carried by a hello. */
export interface LoginRequest {
  version: number;
  nick: string;
  resume?: Record<string, number>;
  password?: string;
  /** The client's address, for bans. */
  address?: string;
}

interface PendingMessage {
  stored: StoredMessage;
  user: User;
  room: Room;
  ref?: string;
}

/**
 * Holds users and rooms and routes every event. One instance per server.
 *
 * @example
 * ```ts
 * const hub = new Hub({ maxUsers: 10, maxFrame: 65536, serverName: "sockchat", store, replayBudgetBytes: 1 << 18 });
 * const result = hub.login(sink, { version: 1, nick: "alice" });
 * if (result.ok) hub.say(result.user, "#lobby", "hello");
 * ```
 */
export class Hub {
  readonly #options: Required<HubOptions>;
  readonly #store: HistoryStore;
  readonly #users: Map<string, User> = new Map();
  readonly #rooms: Map<string, Room> = new Map();
  #nextId: number;
  /** Operators, bans and mutes. */
  readonly moderation: Moderator;
  #pending: PendingMessage[] = [];
  #closing = false;
  readonly #presence = new Presence();

  constructor(options: HubOptions) {
    // An optional setting given as undefined takes its default (a spread would not).
    const given = Object.fromEntries(
      Object.entries(options).filter(([, value]) => value !== undefined),
    ) as HubOptions;
    this.#options = {
      now: Date.now,
      historyReplay: DEFAULT_HISTORY_REPLAY,
      password: null,
      operSecret: null,
      audit: () => {},
      onCommit: () => {},
      historyReads: UNLIMITED_READS,
      frameBytes: (out: Outgoing) => JSON.stringify(out.frame).length + 1,
      ...given,
    };
    this.#store = options.store;
    this.moderation = new Moderator(this, {
      bans: options.bans,
      operSecret: options.operSecret ?? null,
      audit: this.#options.audit,
    });
    this.#nextId = this.#store.nextId();
    this.#rooms.set(roomKey(LOBBY), new Room(LOBBY, this.#store.topic(LOBBY)));
  }

  /** Number of logged-in users. */
  get userCount(): number {
    return this.#users.size;
  }

  /** Every room that exists now. */
  get rooms(): Iterable<Room> {
    return this.#rooms.values();
  }

  /** Every logged-in user. */
  get users(): Iterable<User> {
    return this.#users.values();
  }

  /** Bytes of history one replay may queue. */
  get replayBudgetBytes(): number {
    return this.#options.replayBudgetBytes;
  }

  /** True when every login must carry the server password. */
  get needsPassword(): boolean {
    return this.#options.password !== null;
  }

  /** The clock. */
  now(): number {
    return this.#options.now();
  }

  /**
   * Every room, busiest first. Sorting 10,000 rooms for each /rooms would let a cheap command
   * cost the server much more than it sends, so the order is kept for
   * {@linkcode ROOM_LIST_CACHE_MS} (member counts read from the rooms themselves stay live).
   */
  busiestRooms(limit: number): { rooms: Room[]; total: number } {
    const now = this.now();
    if (this.#roomList === null || now - this.#roomListAt >= ROOM_LIST_CACHE_MS) {
      this.#roomList = [...this.#rooms.values()].sort((a, b) => b.members.size - a.members.size);
      this.#roomListAt = now;
    }
    const rooms: Room[] = [];
    for (const room of this.#roomList) {
      if (rooms.length >= limit) break;
      // Rooms forgotten since the sort are left out.
      if (this.#rooms.get(roomKey(room.name)) === room) rooms.push(room);
    }
    return { rooms, total: this.#rooms.size };
  }

  #roomList: Room[] | null = null;
  #roomListAt = 0;

  /** The room with that name (case-insensitively), if it exists. */
  room(name: string): Room | undefined {
    return this.#rooms.get(roomKey(name));
  }

  /** The logged-in user with that nick (case-insensitively), if any. */
  user(nick: string): User | undefined {
    return this.#users.get(nickKey(nick));
  }

  /** Checks a hello and, if it passes, logs the user in, welcomes them and replays history. */
  login(sink: PeerSink, request: LoginRequest): LoginResult {
    this.flush();
    if (this.#closing) return fail("shutting_down", "The server is shutting down.", true);
    if (request.version !== PROTOCOL_VERSION) {
      return fail(
        "unsupported_version",
        `This server speaks protocol version ${PROTOCOL_VERSION}, not ${request.version}.`,
        true,
      );
    }
    if (this.#users.size >= this.#options.maxUsers) {
      return fail(
        "server_full",
        `The server is full (${this.#options.maxUsers} users). Try again later.`,
        true,
      );
    }
    if (this.#options.password !== null) {
      const address = request.address ?? "";
      const wait = this.moderation.authLockedFor(address);
      if (wait > 0) {
        return fail(
          "bad_password",
          `Too many wrong passwords from your address; try again in ${wait} s.`,
          true,
        );
      }
      if (!this.#options.password.matches(request.password)) {
        if (request.password !== undefined) this.moderation.authFailed(address);
        return fail(
          "bad_password",
          request.password === undefined
            ? "This server needs a password (sockchat join --password-file FILE)."
            : "Wrong password.",
          true,
        );
      }
    }
    const ban = this.moderation.bans.find(request.nick, request.address ?? "", this.now());
    if (ban !== undefined) {
      return fail(
        "banned",
        `You are banned ${describeUntil(ban.until, this.now())}${
          ban.reason ? `: ${ban.reason}` : "."
        }`,
        true,
      );
    }
    const nickError = this.#nickError(request.nick);
    if (nickError !== null) return { ok: false, error: nickError };
    const user = new User(displayNick(request.nick), sink, request.address ?? "");
    this.#users.set(user.key, user);
    try {
      this.#welcome(user, request.resume);
    } catch (error) {
      // A store read failed half-way: leave no ghost behind.
      this.logout(user, "dropped");
      return fail("store_failed", `Logging in failed: ${(error as Error).message}`, true);
    }
    return { ok: true, user };
  }

  /** Sends the welcome, enters the rooms (resumed or the lobby) and replays their history. */
  #welcome(user: User, resume: Record<string, number> | undefined): void {
    // Resume names the rooms to rejoin (each once, whatever its case); without it, the lobby.
    const wanted = new Map<string, { name: string; lastSeen?: number }>();
    for (const [name, lastSeen] of Object.entries(resume ?? {})) {
      if (roomProblem(name) !== null || wanted.has(roomKey(name))) continue;
      if (wanted.size >= MAX_ROOMS_PER_USER) break;
      wanted.set(roomKey(name), { name, lastSeen });
    }
    if (wanted.size === 0) wanted.set(roomKey(LOBBY), { name: LOBBY });
    const entries: { room: Room; lastSeen?: number }[] = [];
    const refused: string[] = [];
    for (const { name, lastSeen } of wanted.values()) {
      const room = this.#roomFor(name);
      if (room === null) refused.push(name);
      else entries.push({ room, lastSeen });
    }
    this.send(user, {
      type: "welcome",
      v: PROTOCOL_VERSION,
      nick: user.nick,
      server: this.#options.serverName,
      rooms: entries.map(({ room }) => ({
        room: room.name,
        topic: room.topic,
        members: [...room.members, user].map((u) => u.nick),
      })),
      limits: { maxFrame: this.#options.maxFrame, maxUsers: this.#options.maxUsers },
    });
    for (const name of refused) {
      this.reply(
        user,
        "too_many_rooms",
        `The server already has ${MAX_ROOMS} rooms; ${shown(name)} was not rejoined.`,
      );
    }
    // One replay budget for the whole login, however many rooms it resumes, and no more than
    // the address may still read: a resume loop costs the store what it may send, then nothing.
    let budget = this.#options.replayBudgetBytes;
    for (const { room, lastSeen } of entries) {
      this.#enter(user, room);
      const allowance = Math.max(0, Math.min(budget, this.#readable(user)));
      const slice = this.#readHistory(
        user,
        room,
        (maxBytes) =>
          lastSeen === undefined
            ? this.#store.recent(room.name, this.#options.historyReplay, maxBytes)
            : this.#store.after(room.name, lastSeen, MAX_RESUME_REPLAY, maxBytes),
        allowance,
      );
      // The read is bounded by the address's allowance (in stored bytes); the replay only by
      // the queue budget (in wire bytes), so nothing the address paid for is cut again.
      if (slice !== null) {
        budget -= replay(user, room, slice, Math.max(0, budget), this.#options.frameBytes);
      }
    }
  }

  /**
   * Reads history within `allowance` bytes and charges the user's address for it. A store that
   * cannot be read costs a `store_failed` notice, not the connection: the user stays in the
   * room and live traffic goes on.
   */
  #readHistory(
    user: User,
    room: Room,
    read: (maxBytes: number) => HistorySlice,
    allowance: number,
  ): HistorySlice | null {
    try {
      const slice = read(allowance);
      this.#options.historyReads.charge(user.address, slice.bytes);
      return slice;
    } catch (error) {
      this.reply(
        user,
        "store_failed",
        `The history of ${room.name} could not be read (${(error as Error).message}).`,
      );
      return null;
    }
  }

  /**
   * Queues a room message from `user`. It is committed, acknowledged to its author and relayed
   * to everyone else in the room at the next {@linkcode flush}.
   */
  say(user: User, roomName: string, text: string, ref?: string, action = false): void {
    const room = this.room(roomName);
    if (room === undefined || !user.rooms.has(room)) {
      this.reply(
        user,
        "not_in_room",
        `You are not in ${shown(roomName)}. Join it with /join ${shown(roomName)}.`,
        ref,
      );
      return;
    }
    if (this.moderation.muted(user, ref)) return;
    text = sanitizeText(text);
    if (text.trim() === "") {
      this.reply(user, "empty_text", "A message needs some text.", ref);
      return;
    }
    const stored: StoredMessage = {
      id: this.#nextId++,
      room: room.name,
      from: user.nick,
      text,
      ts: this.#options.now(),
    };
    if (action) stored.action = true;
    if (this.#pending.length === 0) queueMicrotask(() => this.flush());
    this.#pending.push({ stored, user, room, ref });
  }

  /** Commits queued messages in one transaction, then acknowledges and relays them. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    const started = performance.now();
    try {
      this.#store.append(batch.map((p) => p.stored));
    } catch (error) {
      for (const p of batch) {
        this.reply(
          p.user,
          "store_failed",
          `Your message could not be saved, so it was not sent (${(error as Error).message}).`,
          p.ref,
        );
      }
      return;
    }
    this.#options.onCommit((performance.now() - started) / 1000);
    this.#relay(batch);
  }

  /**
   * Acknowledges and relays a committed batch. Per room, the messages are encoded once and, for
   * every member who is not an author in the batch and ignores nobody, concatenated once: that
   * member's queue takes a single buffer. Authors (who get acks instead of their own messages)
   * and members with an ignore list get the frames one by one, in the same order.
   */
  #relay(batch: PendingMessage[]): void {
    const byRoom = new Map<Room, PendingMessage[]>();
    for (const p of batch) {
      const group = byRoom.get(p.room);
      if (group === undefined) byRoom.set(p.room, [p]);
      else group.push(p);
    }
    for (const [room, group] of byRoom) {
      const outs = group.map(({ stored }) => {
        const frame: ServerFrame = {
          type: "msg",
          id: stored.id,
          room: room.name,
          from: stored.from,
          text: stored.text,
          ts: stored.ts,
        };
        if (stored.action) frame.action = true;
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
            this.send(user, { type: "ack", id: stored.id, room: room.name, ts: stored.ts, ref });
          } else if (!member.ignores.has(user)) {
            member.sink.deliver(outs[i]);
          }
        }
      }
      // An author who left the room since speaking (but is still here) is still owed the ack.
      for (const { stored, user, ref } of group) {
        if (!user.online || room.members.has(user)) continue;
        this.send(user, { type: "ack", id: stored.id, room: room.name, ts: stored.ts, ref });
      }
    }
  }

  /** Puts `user` in a room, creating it if needed, and replays its recent history. */
  join(user: User, name: string, ref?: string): Room | null {
    this.flush();
    const problem = roomProblem(name);
    if (problem !== null) {
      this.reply(user, "room_invalid", problem, ref);
      return null;
    }
    let room = this.room(name);
    if (room !== undefined && user.rooms.has(room)) {
      this.send(user, {
        type: "joined",
        room: room.name,
        topic: room.topic,
        members: nicks(room),
        ref,
      });
      return room;
    }
    if (user.rooms.size >= MAX_ROOMS_PER_USER) {
      this.reply(user, "too_many_rooms", `You may be in at most ${MAX_ROOMS_PER_USER} rooms.`, ref);
      return null;
    }
    room = this.#roomFor(name) ?? undefined;
    if (room === undefined) {
      this.reply(user, "too_many_rooms", `The server already has ${MAX_ROOMS} rooms.`, ref);
      return null;
    }
    this.#enter(user, room);
    this.send(user, {
      type: "joined",
      room: room.name,
      topic: room.topic,
      members: nicks(room),
      ref,
    });
    this.#replayRecent(user, room, this.#options.historyReplay);
    return room;
  }

  /** Takes `user` out of a room, telling its members. */
  part(user: User, name: string, ref?: string): boolean {
    this.flush();
    const room = this.room(name);
    if (room === undefined || !user.rooms.has(room)) {
      this.reply(user, "not_in_room", `You are not in ${shown(name)}.`, ref);
      return false;
    }
    this.#leave(user, room, "part");
    this.send(user, { type: "parted", room: room.name, ref });
    return true;
  }

  /**
   * Replays the last `count` messages of a room to `user`, as many as fit the replay budget and
   * the address's history allowance; returns how many, or -1 if the allowance is spent.
   */
  history(user: User, room: Room, count: number, ref?: string): number {
    this.flush();
    if (this.#readable(user) <= 0) {
      this.reply(
        user,
        "rate_limited",
        "Your address has read a lot of history just now; try again in a few seconds.",
        ref,
      );
      return -1;
    }
    return this.#replayRecent(user, room, count);
  }

  /** Reads (within the allowance) and replays the last `count` messages of a room. */
  #replayRecent(user: User, room: Room, count: number): number {
    const roomBudget = this.#options.replayBudgetBytes - (user.sink.queuedBytes ?? 0);
    const allowance = Math.max(0, Math.min(roomBudget, this.#readable(user)));
    const slice = this.#readHistory(
      user,
      room,
      (maxBytes) => this.#store.recent(room.name, count, maxBytes),
      allowance,
    );
    if (slice === null) return 0;
    replay(user, room, slice, Math.max(0, roomBudget), this.#options.frameBytes);
    return slice.messages.length;
  }

  /** Bytes of history `user`'s address may read now. */
  #readable(user: User): number {
    return this.#options.historyReads.available(user.address);
  }

  /** Changes a user's nick and tells everyone who shares a room with them. */
  rename(user: User, wanted: string, ref?: string): boolean {
    this.flush();
    if (this.moderation.muted(user, ref)) return false;
    const next = displayNick(wanted);
    const error = this.#nickError(next, user);
    if (error !== null) {
      error.ref = ref;
      this.send(user, error);
      return false;
    }
    if (this.moderation.bans.find(next, user.address, this.now()) !== undefined) {
      this.reply(user, "banned", "That nickname is banned.", ref);
      return false;
    }
    const old = user.nick;
    this.#users.delete(user.key);
    user.rename(next);
    this.#users.set(user.key, user);
    const out = new Outgoing({ type: "nick", old, new: next, ts: this.#options.now() });
    for (const peer of this.#neighbours(user)) peer.sink.deliver(out);
    this.send(user, { type: "nick", old, new: next, ts: this.#options.now(), ref });
    return true;
  }

  /** Sends a direct message that only `to` sees; the author gets an ack. Not stored. */
  direct(user: User, toNick: string, text: string, ref?: string): void {
    this.flush();
    const target = this.user(toNick);
    if (target === undefined) {
      this.reply(user, "no_such_user", `Nobody called ${shown(toNick)} is here.`, ref);
      return;
    }
    if (this.moderation.muted(user, ref)) return;
    text = sanitizeText(text);
    if (text.trim() === "") {
      this.reply(user, "empty_text", "A message needs some text.", ref);
      return;
    }
    // DMs are not stored, so they write nothing: they work on a full disk. Their ids come from
    // the same counter, so they are unique while the server runs (see HistoryStore.nextId).
    const id = this.#nextId++;
    this.#store.saveNextId(this.#nextId); // in memory until the next write: never fails
    const ts = this.#options.now();
    // An ignored sender is not told: the ack looks the same either way.
    if (!target.ignores.has(user)) {
      this.send(target, { type: "dm", id, from: user.nick, to: target.nick, text, ts });
    }
    this.send(user, { type: "ack", id, room: "", ts, to: target.nick, ref });
  }

  /** Sets a room's topic, saves it, and tells the room. */
  setTopic(user: User, room: Room, topic: string, ref?: string): void {
    this.flush();
    if (this.moderation.muted(user, ref)) return;
    topic = sanitizeText(topic).replaceAll("\n", " ").trim();
    if ([...topic].length > TOPIC_MAX_LENGTH) {
      this.reply(
        user,
        "bad_command",
        `A topic may have at most ${TOPIC_MAX_LENGTH} characters.`,
        ref,
      );
      return;
    }
    if (!this.#storeOk(user, ref, () => this.#store.setTopic(room.name, topic))) return;
    room.topic = topic;
    const frame: ServerFrame = {
      type: "topic",
      room: room.name,
      topic,
      by: user.nick,
      ts: this.#options.now(),
    };
    // Those who ignore the setter do not get its text: a topic is 300 characters of free text.
    this.broadcast(room, frame, user, user);
    this.send(user, { ...frame, ref });
  }

  /** Removes a user from every room and from the server, telling the rooms why. Idempotent. */
  logout(user: User, reason: LeaveReason): void {
    if (!user.online) return;
    this.flush();
    user.online = false;
    if (this.#users.get(user.key) === user) this.#users.delete(user.key);
    // Ignores that followed this person now hold the nick they leave with.
    for (const ignorer of user.ignoredBy) ignorer.ignores.wentAway(user);
    user.ignoredBy.clear();
    user.ignores.clear();
    for (const room of [...user.rooms]) this.#leave(user, room, reason);
  }

  /** Says goodbye to everyone and closes their connections; refuses new logins from now on. */
  shutdown(): void {
    this.flush();
    this.#closing = true;
    const bye = new Outgoing({
      type: "bye",
      reason: "shutdown",
      message: "The server is shutting down. Goodbye!",
    });
    for (const user of [...this.#users.values()]) {
      user.sink.deliver(bye);
      user.sink.close("shutdown");
    }
  }

  /** Sends one frame to one user. */
  send(user: User, frame: ServerFrame): void {
    user.sink.deliver(new Outgoing(frame));
  }

  /** Sends an error frame to one user. */
  reply(user: User, code: ErrorCode, message: string, ref?: string): void {
    this.send(user, errorFrame(code, message, { ref }));
  }

  /**
   * Encodes once and hands the same bytes to every member but `except` (and, for a message from
   * `from`, but those ignoring them). Never awaits.
   */
  broadcast(room: Room, frame: ServerFrame, except?: User, from?: User): void {
    const out = new Outgoing(frame);
    for (const member of room.members) {
      if (member === except) continue;
      if (from !== undefined && !member.ignores.isEmpty && member.ignores.has(from)) continue;
      member.sink.deliver(out);
    }
  }

  /** Why `nick` cannot be had (by `self`, who may already hold it in another case). */
  #nickError(nick: string, self?: User): ErrorFrame | null {
    const problem = nickProblem(nick);
    if (problem !== null) return errorFrame("nick_invalid", problem);
    const holder = this.#users.get(nickKey(nick));
    if (holder === undefined || holder === self) return null;
    const shown = displayNick(nick);
    return errorFrame(
      "nick_taken",
      `The nickname "${shown}" is taken${holder.nick === shown ? "" : ` (by "${holder.nick}")`}. ` +
        "Pick another.",
    );
  }

  /** Runs a store write; on failure tells `user` (store_failed) and returns false. */
  #storeOk(user: User, ref: string | undefined, write: () => void): boolean {
    try {
      write();
      return true;
    } catch (error) {
      this.reply(
        user,
        "store_failed",
        `That could not be saved (${(error as Error).message}).`,
        ref,
      );
      return false;
    }
  }

  /** The room, created on demand; null if the server has too many rooms. */
  #roomFor(name: string): Room | null {
    const key = roomKey(name);
    let room = this.#rooms.get(key);
    if (room === undefined) {
      if (this.#rooms.size >= MAX_ROOMS) return null;
      let topic = "";
      try {
        topic = this.#store.topic(name);
      } catch {
        // The topic is a nicety: a room without it is better than no room.
      }
      room = new Room(name, topic);
      this.#rooms.set(key, room);
    }
    return room;
  }

  #enter(user: User, room: Room): void {
    room.members.add(user);
    user.rooms.add(room);
    // A muted user comes and goes in silence: joins and parts would be a way to keep talking.
    if (this.#muted(user)) return;
    this.#tell(this.#presence.joined(room, user, this.#options.now()));
  }

  /** True if `user` is muted now (checked without telling them). */
  #muted(user: User): boolean {
    return this.moderation.bans.mutes.mutedUntil(user.nick, user.address, this.now()) !== 0;
  }

  #leave(user: User, room: Room, reason: LeaveReason): void {
    room.members.delete(user);
    user.rooms.delete(room);
    // Moderation is told even for a muted user; their own comings and goings are not.
    const moderated = reason === "kicked" || reason === "banned";
    if (!this.#closing && (moderated || !this.#muted(user))) {
      this.#tell(this.#presence.left(room, user, reason, this.#options.now()));
    }
    // Quiet rooms cost nothing: forget them (their topic and history stay in the store).
    const key = roomKey(room.name);
    if (room.members.size === 0 && room.name !== LOBBY && this.#rooms.get(key) === room) {
      this.#rooms.delete(key);
      this.#presence.forget(room);
    }
  }

  /** Sends presence notices to their rooms. */
  #tell(notices: PresenceNotice[]): void {
    for (const { room, frame, except } of notices) this.broadcast(room, frame, except);
  }

  /**
   * Called about once a second: tells the presence changes held back since the last told one
   * (see core/presence.ts).
   */
  tick(): void {
    if (this.#closing) return;
    this.#tell(this.#presence.due(this.#options.now()));
  }

  /** Everyone who shares at least one room with `user`, once each, not `user`. */
  #neighbours(user: User): Set<User> {
    const out = new Set<User>();
    for (const room of user.rooms) for (const m of room.members) if (m !== user) out.add(m);
    return out;
  }
}

function nicks(room: Room): string[] {
  return [...room.members].map((u) => u.nick);
}

function fail(code: ErrorFrame["code"], message: string, fatal: boolean): LoginResult {
  return { ok: false, error: errorFrame(code, message, { fatal }) };
}

/** Untrusted text for an error message: cleaned, on one line, and short. */
export function shown(text: string): string {
  const clean = sanitizeText(text).replaceAll("\n", " ");
  return [...clean].length > 64 ? [...clean].slice(0, 63).join("") + "…" : clean;
}
