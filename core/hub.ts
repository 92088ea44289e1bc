/**
 * The chat core: who is connected, which rooms exist, and who hears what. It does no I/O.
 * Transports hand it decoded frames and a {@linkcode PeerSink} per connection; it answers by
 * delivering {@linkcode Outgoing} frames to sinks, which must never block.
 *
 * @module
 */

import {
  type ErrorFrame,
  errorFrame,
  type LeaveReason,
  LOBBY,
  PROTOCOL_VERSION,
  type ServerFrame,
} from "../protocol/frames.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import { displayNick, nickKey, nickProblem } from "./nick.ts";

/** Where the hub sends a connection's frames. Implemented by each transport. */
export interface PeerSink {
  /** Queues a frame for the peer. Never blocks and never throws; a peer that cannot keep up is
   * the sink's business (it closes itself as `too_slow`). */
  deliver(out: Outgoing): void;
  /** Ends the connection once what is queued has been flushed (or a grace period passed). */
  close(reason: LeaveReason): void;
}

/** Settings for a {@linkcode Hub}. */
export interface HubOptions {
  /** Users that may be logged in at once. */
  maxUsers: number;
  /** Largest frame, reported to clients in the welcome. */
  maxFrame: number;
  /** Name and version announced in the welcome. */
  serverName: string;
  /** Clock, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/** A chat room and its members. */
export class Room {
  /** Room name, including its leading `#`. */
  readonly name: string;
  /** Current topic; empty when unset. */
  topic = "";
  /** Users in the room. */
  readonly members: Set<User> = new Set();

  constructor(name: string) {
    this.name = name;
  }
}

/** A logged-in user. */
export class User {
  /** Nick as displayed. */
  nick: string;
  /** Nick folded for uniqueness. */
  key: string;
  /** Where this user's frames go. */
  readonly sink: PeerSink;
  /** Rooms this user is in. */
  readonly rooms: Set<Room> = new Set();
  /** False once the user has left the server. */
  online = true;

  constructor(nick: string, sink: PeerSink) {
    this.nick = nick;
    this.key = nickKey(nick);
    this.sink = sink;
  }
}

/** The outcome of a login attempt. `fatal` errors end the connection; others allow a retry. */
export type LoginResult = { ok: true; user: User } | { ok: false; error: ErrorFrame };

/**
 * Holds users and rooms and routes every event. One instance per server.
 *
 * @example
 * ```ts
 * const hub = new Hub({ maxUsers: 10, maxFrame: 65536, serverName: "sockchat" });
 * const result = hub.login(sink, 1, "alice");
 * if (result.ok) hub.say(result.user, "#lobby", "hello");
 * ```
 */
export class Hub {
  #options: Required<HubOptions>;
  #users: Map<string, User> = new Map();
  #rooms: Map<string, Room> = new Map();
  #nextId = 1;
  #closing = false;

  constructor(options: HubOptions) {
    this.#options = { now: Date.now, ...options };
    this.#rooms.set(LOBBY, new Room(LOBBY));
  }

  /** Number of logged-in users. */
  get userCount(): number {
    return this.#users.size;
  }

  /** The room with that name, if it exists. */
  room(name: string): Room | undefined {
    return this.#rooms.get(name);
  }

  /** The logged-in user with that nick (case-insensitively), if any. */
  user(nick: string): User | undefined {
    return this.#users.get(nickKey(nick));
  }

  /** Checks a hello and, if it passes, logs the user in to the lobby and welcomes them. */
  login(sink: PeerSink, version: number, rawNick: string): LoginResult {
    if (this.#closing) {
      return fail("shutting_down", "The server is shutting down.", true);
    }
    if (version !== PROTOCOL_VERSION) {
      return fail(
        "unsupported_version",
        `This server speaks protocol version ${PROTOCOL_VERSION}, not ${version}.`,
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
    const problem = nickProblem(rawNick);
    if (problem !== null) return fail("nick_invalid", problem, false);
    const nick = displayNick(rawNick);
    const user = new User(nick, sink);
    const holder = this.#users.get(user.key);
    if (holder !== undefined) {
      return fail(
        "nick_taken",
        `The nickname "${nick}" is taken${holder.nick === nick ? "" : ` (by "${holder.nick}")`}. ` +
          "Pick another.",
        false,
      );
    }
    this.#users.set(user.key, user);
    const lobby = this.#roomFor(LOBBY);
    this.#send(user, {
      type: "welcome",
      v: PROTOCOL_VERSION,
      nick: user.nick,
      server: this.#options.serverName,
      rooms: [{
        room: lobby.name,
        topic: lobby.topic,
        members: [...lobby.members, user].map((u) => u.nick),
      }],
      limits: { maxFrame: this.#options.maxFrame, maxUsers: this.#options.maxUsers },
    });
    this.#enter(user, lobby);
    return { ok: true, user };
  }

  /** A room message from `user`: acknowledged to them, relayed to everyone else in the room. */
  say(user: User, roomName: string, text: string, ref?: string): void {
    const room = this.#rooms.get(roomName);
    if (room === undefined || !user.rooms.has(room)) {
      this.#send(user, errorFrame("not_in_room", `You are not in ${roomName}.`, { ref }));
      return;
    }
    if (text.trim() === "") {
      this.#send(user, errorFrame("empty_text", "A message needs some text.", { ref }));
      return;
    }
    const id = this.#nextId++;
    const ts = this.#options.now();
    const ack: ServerFrame = { type: "ack", id, room: room.name, ts };
    if (ref !== undefined) ack.ref = ref;
    this.#send(user, ack);
    this.#broadcast(room, { type: "msg", id, room: room.name, from: user.nick, text, ts }, user);
  }

  /** Removes a user from every room and from the server, telling the rooms why. Idempotent. */
  logout(user: User, reason: LeaveReason): void {
    if (!user.online) return;
    user.online = false;
    if (this.#users.get(user.key) === user) this.#users.delete(user.key);
    for (const room of user.rooms) {
      room.members.delete(user);
      if (!this.#closing) {
        this.#broadcast(room, {
          type: "leave",
          room: room.name,
          nick: user.nick,
          reason,
          ts: this.#options.now(),
        });
      }
    }
    user.rooms.clear();
  }

  /** Says goodbye to everyone and closes their connections; refuses new logins from now on. */
  shutdown(): void {
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

  #roomFor(name: string): Room {
    let room = this.#rooms.get(name);
    if (room === undefined) {
      room = new Room(name);
      this.#rooms.set(name, room);
    }
    return room;
  }

  #enter(user: User, room: Room): void {
    this.#broadcast(room, {
      type: "join",
      room: room.name,
      nick: user.nick,
      ts: this.#options.now(),
    });
    room.members.add(user);
    user.rooms.add(room);
  }

  #send(user: User, frame: ServerFrame): void {
    user.sink.deliver(new Outgoing(frame));
  }

  /** Encodes once and hands the same bytes to every member but `except`. Never awaits. */
  #broadcast(room: Room, frame: ServerFrame, except?: User): void {
    const out = new Outgoing(frame);
    for (const member of room.members) {
      if (member !== except) member.sink.deliver(out);
    }
  }
}

function fail(code: ErrorFrame["code"], message: string, fatal: boolean): LoginResult {
  return { ok: false, error: errorFrame(code, message, { fatal }) };
}
