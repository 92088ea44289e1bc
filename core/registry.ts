/**
 * The registry: who is logged in and which rooms exist, each under its folded key, so that
 * nicks and room names are unique however they are spelled. It sends nothing: the parts of the
 * core that act on people look them up here.
 *
 * @module
 */

import { MAX_ROOMS, ROOM_LIST_CACHE_MS } from "../config/limits.ts";
import { type ErrorFrame, errorFrame, LOBBY } from "../protocol/frames.ts";
import { displayNick, nickKey, nickProblem, type NickRules } from "./nick.ts";
import type { Awaitable } from "./awaitable.ts";
import type { HistoryStore } from "./ports.ts";
import { Room, roomKey } from "./room.ts";
import type { User } from "./user.ts";

/**
 * Users and rooms by key. The lobby always exists; other rooms are made on demand and forgotten
 * when their last member leaves (their topic and history stay in the store).
 *
 * @example
 * ```ts
 * import { MemoryHistory } from "../store/memory/history.ts";
 * const registry = new Registry(new MemoryHistory());
 * const room = registry.roomFor("#rust"); // created, with the topic the store remembers
 * registry.room("#RUST") === room; // true: names are unique case-insensitively
 * ```
 */
export class Registry {
  readonly #store: Pick<HistoryStore, "topic">;
  /** Rooms whose saved topic is still being read (a store across the network). */
  readonly #loading = new Map<Room, Promise<void>>();
  readonly #users: Map<string, User> = new Map();
  readonly #rooms: Map<string, Room> = new Map();
  #roomList: Room[] | null = null;
  #roomListAt = 0;
  /** True once the server is shutting down: no new logins, no more presence. */
  closing = false;

  /** A registry holding the lobby (with its saved topic) and nobody. */
  constructor(store: Pick<HistoryStore, "topic">) {
    this.#store = store;
    this.#rooms.set(roomKey(LOBBY), this.#withTopic(new Room(LOBBY, "")));
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

  /** The room with that name (case-insensitively), if it exists. */
  room(name: string): Room | undefined {
    return this.#rooms.get(roomKey(name));
  }

  /** The logged-in user with that nick (case-insensitively), if any. */
  user(nick: string): User | undefined {
    return this.#users.get(nickKey(nick));
  }

  /** Registers a user whose nick {@linkcode Registry.nickError} passed. */
  add(user: User): void {
    this.#users.set(user.key, user);
  }

  /** Gives `user` the nick `next` (checked already), keeping them findable under it. */
  rename(user: User, next: string): void {
    this.#users.delete(user.key);
    user.rename(next);
    this.#users.set(user.key, user);
  }

  /** Forgets a user (if it is still the one registered under their nick). */
  remove(user: User): void {
    if (this.#users.get(user.key) === user) this.#users.delete(user.key);
  }

  /**
   * Why `nick` cannot be had (by `self`, who may already hold it in another case; `rules` say
   * whether it is a proven account's, see {@linkcode nickProblem}).
   */
  nickError(nick: string, self?: User, rules?: NickRules): ErrorFrame | null {
    const problem = nickProblem(nick, rules);
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

  /** The room, created on demand; null if the server has {@linkcode MAX_ROOMS} already. */
  roomFor(name: string): Room | null {
    const key = roomKey(name);
    let room = this.#rooms.get(key);
    if (room === undefined) {
      if (this.#rooms.size >= MAX_ROOMS) return null;
      room = this.#withTopic(new Room(name, ""));
      this.#rooms.set(key, room);
    }
    return room;
  }

  /**
   * Gives a new room the topic the store remembers: at once from an in-process store; from one
   * across the network when it answers (until then the room shows none). The topic is a nicety:
   * a room without it is better than no room, so a failed read is ignored.
   */
  #withTopic(room: Room): Room {
    try {
      const topic = this.#store.topic(room.name);
      if (!(topic instanceof Promise)) room.topic = topic;
      else {
        const loaded = topic.then((t) => void (room.topic ||= t), () => {});
        this.#loading.set(room, loaded);
        void loaded.then(() => this.#loading.delete(room));
      }
    } catch {
      // no topic
    }
    return room;
  }

  /**
   * Settles once these rooms know their saved topic: at once (no promise) unless a store
   * across the network is still reading one. Joins wait for it, so a new room's first
   * members are told its topic.
   */
  loaded(rooms: readonly Room[]): Awaitable<void> {
    if (this.#loading.size === 0) return;
    const waiting = rooms.map((room) => this.#loading.get(room)).filter((p) => p !== undefined);
    if (waiting.length > 0) return Promise.all(waiting).then(() => {});
  }

  /** Forgets `room` if nobody is left in it and it is not the lobby; true if it did. */
  forgetIfEmpty(room: Room): boolean {
    const key = roomKey(room.name);
    if (room.members.size !== 0 || room.name === LOBBY || this.#rooms.get(key) !== room) {
      return false;
    }
    this.#rooms.delete(key);
    return true;
  }

  /**
   * Every room, busiest first. Sorting 10,000 rooms for each /rooms would let a cheap command
   * cost the server much more than it sends, so the order is kept for
   * {@linkcode ROOM_LIST_CACHE_MS} (member counts read from the rooms themselves stay live).
   */
  busiestRooms(limit: number, now: number): { rooms: Room[]; total: number } {
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
}
