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
import type { ClusterBus, ClusterEvent, UserCard } from "./cluster.ts";
import { Room, roomKey } from "./room.ts";
import type { User } from "./user.ts";

/**
 * Users and rooms by key. The lobby always exists; other rooms are made on demand and forgotten
 * when their last member leaves (their topic and history stay in the store). In a cluster it
 * holds mirrors of other nodes' users too (found by nick like anyone, not counted against
 * `--max-users`), and publishes its own users' changes (see {@linkcode Registry.publish}).
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
  /** Users of this server (not mirrors): what `--max-users` counts. */
  #local = 0;
  /** Local users whose card changed since it was last published (sent once per tick). */
  readonly #changed = new Set<User>();
  /** True once the server is shutting down: no new logins, no more presence. */
  closing = false;
  /** The cluster this server is a node of (`serve --redis`); null for a server on its own. */
  readonly cluster: ClusterBus | null;
  /**
   * Folded nicks that logins are claiming before they enter the hub's queue, with how many
   * (core/login.ts `preclaim`): not given up meanwhile, since a claim's answer may be on its
   * way (the login that ends last gives it up if nobody holds it then).
   */
  readonly claiming = new Map<string, number>();

  /**
   * A registry holding the lobby (with its saved topic) and nobody; `cluster`: the bus its
   * local users' changes are published on.
   */
  constructor(store: Pick<HistoryStore, "topic">, cluster: ClusterBus | null = null) {
    this.#store = store;
    this.cluster = cluster;
    this.#rooms.set(roomKey(LOBBY), this.#withTopic(new Room(LOBBY, "")));
  }

  /** Number of logged-in users, mirrors of other nodes' users included. */
  get userCount(): number {
    return this.#users.size;
  }

  /** Number of this server's own users (not mirrors): what `--max-users` caps. */
  get localCount(): number {
    return this.#local;
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
    if (user.node !== undefined) return;
    this.#local++;
    if (this.cluster !== null) user.watch((changed) => this.#cardChanged(changed));
  }

  /**
   * Gives `user` the nick `next` (checked already, and claimed in a cluster), keeping them
   * findable under it. A local user's rename is published, and the nick they leave given up.
   */
  rename(user: User, next: string): void {
    const old = user.nick;
    const oldKey = user.key;
    this.#users.delete(user.key);
    user.rename(next);
    this.#users.set(user.key, user);
    this.publish(user, { t: "nick", from: old, to: user.nick });
    if (user.node === undefined && oldKey !== user.key) this.releaseNick(oldKey);
  }

  /** Forgets a user (if it is still the one registered under their nick). */
  remove(user: User): void {
    if (this.#users.get(user.key) !== user) return;
    this.#users.delete(user.key);
    if (user.node === undefined) this.#local--;
  }

  /**
   * Publishes `event` to the cluster when `actor` is a local user the cluster knows of (so a
   * mirror's changes, applied from the log, are never published again, and a login's steps
   * before its `hello` not at all). Nothing without a cluster.
   */
  publish(actor: User, event: ClusterEvent): void {
    if (this.cluster === null || actor.node !== undefined || !actor.announced) return;
    this.cluster.publish(event);
  }

  /** Tells the cluster of a local user whose login completed (`hello`, with their rooms). */
  announce(user: User): void {
    if (this.cluster === null || user.node !== undefined || !user.online) return;
    user.announced = true;
    this.cluster.publish({ t: "hello", user: userCard(user) });
  }

  /**
   * Gives up the cluster's claim on the folded nick `key`, which a local user held, unless
   * another local user holds it now (a takeover, or a login after a logout not yet told).
   */
  releaseNick(key: string): void {
    if (this.cluster === null) return;
    const holder = this.#users.get(key);
    if (holder !== undefined && holder.node === undefined) return;
    if (this.claiming.has(key)) return;
    this.cluster.releaseNick(key);
  }

  /**
   * A local user's ident, away, verified or operator flag changed: their card is published once,
   * after whatever else the same event changes (a rename sets both nick and verified).
   */
  #cardChanged(user: User): void {
    if (!user.announced) return;
    if (this.#changed.size === 0) queueMicrotask(() => this.#publishCards());
    this.#changed.add(user);
  }

  #publishCards(): void {
    const changed = [...this.#changed];
    this.#changed.clear();
    for (const user of changed) {
      if (user.online) this.publish(user, { t: "user", user: userCard(user) });
    }
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

/** What other nodes mirror of `user` (see {@linkcode UserCard}). */
export function userCard(user: User): UserCard {
  return {
    nick: user.nick,
    address: user.address,
    ident: user.ident,
    verified: user.verified,
    operator: user.operator,
    away: user.away,
    since: user.since,
    lastActive: user.lastActive,
    rooms: [...user.rooms].map((room) => room.name),
  };
}
