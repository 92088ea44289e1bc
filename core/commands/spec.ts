/**
 * The shape of the command table: a row ({@linkcode CommandSpec}), what its handler is given
 * ({@linkcode CommandContext}) and may ask of the chat ({@linkcode ChatCommands}), and what it
 * asks of the transport afterwards ({@linkcode CommandOutcome}).
 *
 * @module
 */

import type { Awaitable } from "../awaitable.ts";
import type { ErrorCode, LeaveReason, ServerFrame } from "../../protocol/frames.ts";
import type { AccountView } from "../identity.ts";
import type { Moderator } from "../moderator.ts";
import type { MessageKind } from "../relay.ts";
import type { HistoryRequest, Replayed } from "../replay.ts";
import type { Room } from "../room.ts";
import type { ModeChange } from "../room_modes.ts";
import type { User } from "../user.ts";

/** What a command asks of the transport afterwards. */
export interface CommandOutcome {
  /** The room the client should now treat as current. */
  room?: string;
  /** The user asked to leave: close the connection as `quit`. */
  quit?: boolean;
  /** Close the connection for this reason (after too many wrong /oper secrets). */
  close?: LeaveReason;
}

/**
 * What commands may ask of the chat core: the hub implements it, and a test may pass anything
 * that does. Each method is the hub's method of the same name.
 */
export interface ChatCommands {
  /** The clock, in milliseconds since the epoch. */
  now(): number;
  /** The room with that name (case-insensitively), if it exists. */
  room(name: string): Room | undefined;
  /** The logged-in user with that nick (case-insensitively), if any. */
  user(nick: string): User | undefined;
  /** Every logged-in user (for /users). */
  readonly users: Iterable<User>;
  /** How many users are logged in. */
  readonly userCount: number;
  /** When the server started, in milliseconds since the epoch (for /uptime). */
  readonly startedAt: number;
  /** The server's name and version, as the welcome carries it (for /version). */
  readonly serverName: string;
  /** The message of the day; "" for none (for /motd). */
  readonly motd: string;
  /** Every room, busiest first, at most `limit`, and how many there are. */
  busiestRooms(limit: number): { rooms: Room[]; total: number };
  /** Sends one frame to one user. */
  send(user: User, frame: ServerFrame): void;
  /** Sends an error frame to one user. */
  reply(user: User, code: ErrorCode, message: string, ref?: string): void;
  /** Queues a room message (an action, for /me). */
  say(user: User, room: string, text: string, ref?: string, kind?: MessageKind): void;
  /** Joins a room (with its key, for +k); null if refused (the user was told why). */
  join(user: User, name: string, ref?: string, key?: string): Awaitable<Room | null>;
  /** Changes a room's modes, or shows them (no changes); false if refused. */
  setModes(
    user: User,
    room: string,
    changes: readonly ModeChange[],
    ref?: string,
  ): Awaitable<boolean>;
  /** A room operator puts `nick` out of a room; false if refused. */
  kickFromRoom(
    by: User,
    room: string,
    nick: string,
    reason: string,
    ref?: string,
  ): Awaitable<boolean>;
  /** Invites `nick` into a room once (past +i, +k, +l, +b if by an op, else +i); false if refused. */
  invite(by: User, room: string, nick: string, ref?: string): Awaitable<boolean>;
  /** Claims a room for the user's account (`/register #room`); false if refused. */
  claimRoom(user: User, room: string, ref?: string): Awaitable<boolean>;
  /** Releases a room's claim (`/unregister #room`); false if refused. */
  releaseRoom(user: User, room: string, ref?: string): Awaitable<boolean>;
  /** Leaves a room (its members see `message`, if any); false if the user was not in it. */
  part(user: User, name: string, ref?: string, message?: string): Awaitable<boolean>;
  /**
   * Replays the last `request.count` messages (older than `request.before`, if given); what was
   * shown, hidden and left, or null if it may read no more.
   */
  history(
    user: User,
    room: Room,
    request: HistoryRequest,
    ref?: string,
  ): Awaitable<Replayed | null>;
  /** Changes the user's nick; false if refused. */
  rename(user: User, wanted: string, ref?: string): Awaitable<boolean>;
  /** Sends a direct message. */
  direct(user: User, toNick: string, text: string, ref?: string): Awaitable<void>;
  /** Sets a room's topic. */
  setTopic(user: User, room: Room, topic: string, ref?: string): Awaitable<void>;
  /** Removes the user from every room and the server; their rooms see `message`, if any. */
  logout(user: User, reason: LeaveReason, message?: string): Awaitable<void>;
  /** Operators, bans and mutes. */
  readonly moderation: Moderator;
  /** True if `user`'s words are heard in `room` now (not muted, +m, +b); nobody is told. */
  speaksIn(user: User, room: Room): boolean;
  /** The account that owns `nick`, if it is registered (for /whois). */
  account(nick: string): AccountView | undefined;
  /** True if `user` may not talk yet: the server requires accounts and theirs is not proven. */
  needsAccount(user: User): boolean;
  /** /register (to the session's key) or /register PASSWORD. */
  register(user: User, password: string | undefined, ref?: string): Awaitable<void>;
  /** /identify NICK PASSWORD. */
  identify(user: User, nick: string, password: string, ref?: string): Awaitable<void>;
  /** /unregister ("" for your own nick) or an operator's /unregister NICK. */
  unregister(user: User, nick: string, ref?: string): Awaitable<void>;
}

/** Everything a handler may use. */
export interface CommandContext {
  /** The chat core the command acts on. */
  hub: ChatCommands;
  /** Who typed the command. */
  user: User;
  /** The client's current room (the default for commands that take one). */
  room: string;
  /** Everything after the command name, trimmed. */
  args: string;
  /** The request's reference, echoed in replies. */
  ref?: string;
}

/** One command: the table row. */
export interface CommandSpec {
  /** The name typed after the `/`, in lower case. */
  name: string;
  /** Other names for it, typed the same way (`/r` for `/reply`); /help names them in `help`. */
  aliases?: readonly string[];
  /** Usage line, as shown on wrong arguments and in /help. */
  usage: string;
  /** What it does, as /help says it. */
  help: string;
  /**
   * Runs the command; false means its arguments were wrong (the usage is shown). The outcome
   * may come later when the command waits for the store.
   */
  run(ctx: CommandContext): Awaitable<CommandOutcome> | false;
}
