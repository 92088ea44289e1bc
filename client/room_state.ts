/**
 * What the client knows about its session: its nick, the current room, the rooms it is in with
 * their members, and the last message id seen in each room (sent back as `resume` on reconnect).
 * It is updated from server frames and does no I/O. Everything it keeps is capped (see
 * `client/limits.ts`), whatever the server sends.
 *
 * @module
 */

import { LOBBY, type ServerFrame, type WelcomeFrame } from "../protocol/frames.ts";
import {
  MAX_JOINED_ROOMS,
  MAX_LISTED_ROOMS,
  MAX_MEMBERS_PER_ROOM,
  MAX_REMEMBERED_SPEAKERS,
} from "./limits.ts";

export { MAX_REMEMBERED_SPEAKERS } from "./limits.ts";

/** A room the user is in. */
export interface JoinedRoom {
  /** The room's name as the server spells it. */
  name: string;
  /** Empty when none was set. */
  topic: string;
  /** Nicks in the room now, as far as known: a big room's are a first page (see `count`). */
  members: Set<string>;
  /** How many are in the room, by the server's count, kept up by joins and leaves. */
  count: number;
}

function key(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}

/** The members worth remembering: at most {@linkcode MAX_MEMBERS_PER_ROOM}. */
function memberSet(members: readonly string[]): Set<string> {
  return new Set(members.slice(0, MAX_MEMBERS_PER_ROOM));
}

/**
 * The client's view of its rooms.
 *
 * @example
 * ```ts
 * const state = new RoomState("alice");
 * state.apply({ type: "joined", room: "#rust", topic: "", members: ["alice"], count: 1, ref: "3" });
 * state.room; // "#rust": a joined frame answering our own /join makes the room current
 * ```
 */
export class RoomState {
  #nick: string;
  /** Null once the user has left every room. */
  #current: string | null = LOBBY;
  readonly #rooms = new Map<string, JoinedRoom>();
  readonly #lastSeen = new Map<string, number>();
  /** Rooms in the latest /rooms answer, for completion. */
  readonly #listed = new Set<string>();
  /** Nicks seen speaking, for completion, even in rooms we have since left. */
  readonly #speakers = new Set<string>();

  /** `nick` is the user's nick, until the server renames them. */
  constructor(nick: string) {
    this.#nick = nick;
  }

  /** The user's nick as the server spells it. */
  get nick(): string {
    return this.#nick;
  }

  /**
   * The current room: where messages go and the default for commands. Null when the user is in
   * no room (they left them all): there is nowhere for a message to go until they join one.
   */
  get room(): string | null {
    return this.#current;
  }

  /** The rooms the user is in. */
  get rooms(): JoinedRoom[] {
    return [...this.#rooms.values()];
  }

  /** True when `name` is the user's own nick (ignoring case). */
  isSelf(name: string): boolean {
    return key(name) === key(this.#nick);
  }

  /** True when `room` is the current room (ignoring case). */
  isCurrent(room: string): boolean {
    return this.#current !== null && key(room) === key(this.#current);
  }

  /** For each room the user is in, the last message id seen there (0 if none): hello's `resume`. */
  resume(): Record<string, number> {
    const resume: Record<string, number> = {};
    for (const room of this.#rooms.values()) {
      resume[room.name] = this.#lastSeen.get(key(room.name)) ?? 0;
    }
    return resume;
  }

  /** The last message id seen in `room`, if any. */
  lastSeen(room: string): number | undefined {
    return this.#lastSeen.get(key(room));
  }

  /** Nicks in the rooms the user is in (as far as known), sorted, without the user. */
  present(): string[] {
    const all = new Map<string, string>();
    for (const room of this.#rooms.values()) {
      for (const nick of room.members) all.set(key(nick), nick);
    }
    all.delete(key(this.#nick));
    return [...all.values()].sort();
  }

  /**
   * Nicks heard live lately (messages, DMs) that are not among {@linkcode present}, most
   * recent first: people in a big room's unlisted members, in rooms the user has left, or who
   * wrote a DM. Replayed history never adds anyone (its speakers may be long gone), and anyone
   * seen leaving the server is forgotten.
   */
  recentSpeakers(): string[] {
    const present = new Set(this.present().map(key));
    present.add(key(this.#nick));
    return [...this.#speakers].reverse().filter((nick) => !present.has(key(nick)));
  }

  /** Nicks worth completing, in the order Tab offers them: {@linkcode present}, then recent. */
  nicks(): string[] {
    return [...this.present(), ...this.recentSpeakers()];
  }

  /** Rooms worth completing: those the user is in and those /rooms listed. */
  roomNames(): string[] {
    const all = new Map<string, string>();
    for (const name of this.#listed) all.set(key(name), name);
    for (const room of this.#rooms.values()) all.set(key(room.name), room.name);
    return [...all.values()].sort();
  }

  /**
   * Updates the state from a frame the server sent. Returns null, or, for a frame it refuses
   * because keeping it would pass a cap no honest server reaches, why.
   */
  apply(frame: ServerFrame): string | null {
    switch (frame.type) {
      case "welcome":
        this.#welcome(frame);
        return null;
      case "joined": {
        const k = key(frame.room);
        if (!this.#rooms.has(k) && this.#rooms.size >= MAX_JOINED_ROOMS) {
          return `a "joined" frame for more rooms than one user may be in`;
        }
        this.#rooms.set(k, {
          name: frame.room,
          topic: frame.topic,
          members: memberSet(frame.members),
          count: frame.count,
        });
        // Only an answer to our own /join (it carries our ref) moves us; resumed rooms do not.
        if (
          frame.ref !== undefined || this.#current === null || !this.#rooms.has(key(this.#current))
        ) {
          this.#current = frame.room;
        }
        return null;
      }
      case "parted":
        this.#part(frame.room);
        return null;
      case "msg":
        this.#seen(frame.room, frame.id, frame.history === true);
        // Replay brings back people who may have left long ago: only live words count.
        if (frame.history !== true) this.#spoke(frame.from);
        return null;
      case "ack":
        if (frame.to === undefined) this.#seen(frame.room, frame.id, false);
        return null;
      case "dm":
        this.#spoke(frame.from);
        return null;
      case "join": {
        const room = this.#rooms.get(key(frame.room));
        if (room === undefined || this.#hasMember(room, frame.nick)) return null;
        room.count++;
        if (room.members.size < MAX_MEMBERS_PER_ROOM) room.members.add(frame.nick);
        return null;
      }
      case "leave":
        if (this.isSelf(frame.nick)) this.#part(frame.room);
        else this.#removeMember(frame.room, frame.nick);
        // Any reason but a part or a room kick means they left the server: no longer worth
        // completing.
        if (frame.reason !== "part" && frame.reason !== "kicked_room") this.#forget(frame.nick);
        return null;
      case "topic": {
        const room = this.#rooms.get(key(frame.room));
        if (room !== undefined) room.topic = frame.topic;
        return null;
      }
      case "nick":
        this.#rename(frame.old, frame.new);
        return null;
      case "who": {
        const room = this.#rooms.get(key(frame.room));
        if (room !== undefined) {
          room.members = memberSet(frame.members);
          room.count = frame.members.length;
        }
        return null;
      }
      case "rooms":
        this.#listed.clear();
        for (const r of frame.rooms.slice(0, MAX_LISTED_ROOMS)) this.#listed.add(r.room);
        return null;
      case "gap":
      case "info":
      case "mode":
      case "invite":
      case "away":
      case "account":
      case "setname":
      case "error":
      case "bye":
      case "challenge":
      case "ping":
        return null;
    }
  }

  #welcome(frame: WelcomeFrame): void {
    this.#nick = frame.nick;
    this.#rooms.clear();
    for (const r of frame.rooms.slice(0, MAX_JOINED_ROOMS)) {
      this.#rooms.set(key(r.room), {
        name: r.room,
        topic: r.topic,
        members: memberSet(r.members),
        count: r.count,
      });
    }
    // Marks are kept only for rooms we are in: they are what the next resume asks for.
    for (const room of this.#lastSeen.keys()) {
      if (!this.#rooms.has(room)) this.#lastSeen.delete(room);
    }
    const current = this.#current === null ? undefined : this.#rooms.get(key(this.#current));
    if (current !== undefined) this.#current = current.name;
    else this.#current = frame.rooms[0]?.room ?? null;
  }

  #part(name: string): void {
    this.#rooms.delete(key(name));
    this.#lastSeen.delete(key(name));
    if (!this.isCurrent(name)) return;
    const lobby = this.#rooms.get(key(LOBBY));
    this.#current = lobby?.name ?? this.#rooms.values().next().value?.name ?? null;
  }

  #removeMember(roomName: string, nick: string): void {
    const room = this.#rooms.get(key(roomName));
    if (room === undefined) return;
    for (const member of room.members) {
      if (key(member) === key(nick)) room.members.delete(member);
    }
    // Someone beyond the first page may leave too: the count falls either way.
    room.count = Math.max(room.members.size, room.count - 1);
  }

  #hasMember(room: JoinedRoom, nick: string): boolean {
    for (const member of room.members) if (key(member) === key(nick)) return true;
    return false;
  }

  #rename(old: string, next: string): void {
    if (this.isSelf(old)) this.#nick = next;
    for (const room of this.#rooms.values()) {
      for (const member of room.members) {
        if (key(member) === key(old)) {
          room.members.delete(member);
          room.members.add(next);
        }
      }
    }
    this.#forget(old);
  }

  #forget(nick: string): void {
    for (const speaker of this.#speakers) {
      if (key(speaker) === key(nick)) this.#speakers.delete(speaker);
    }
  }

  /**
   * Live messages arrive in id order, so the latest is the last seen, even when it is lower (a
   * server that lost its history restarts ids). Replayed history can be older (/history), so it
   * only ever moves the mark forward.
   */
  #seen(room: string, id: number, history: boolean): void {
    // Only rooms we are in are resumed, so only they are worth a mark (and the marks stay few).
    if (!this.#rooms.has(key(room))) return;
    const last = this.#lastSeen.get(key(room));
    if (!history || last === undefined || id > last) this.#lastSeen.set(key(room), id);
  }

  #spoke(nick: string): void {
    // Most recent last; the oldest speaker is forgotten once the set is full.
    this.#forget(nick);
    this.#speakers.add(nick);
    if (this.#speakers.size > MAX_REMEMBERED_SPEAKERS) {
      this.#speakers.delete(this.#speakers.values().next().value as string);
    }
  }
}
