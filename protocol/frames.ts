/**
 * The sockchat wire protocol's frame types: one JSON object per LF-terminated line, told apart
 * by `type`. `docs/PROTOCOL.md` specifies them with an example of each.
 *
 * @module
 */

/** Protocol version carried in `hello` and `welcome`. */
export const PROTOCOL_VERSION = 1;

/** The room every user starts in. */
export const LOBBY = "#lobby";

/** Why a user left a room or the server. */
export type LeaveReason =
  | "quit"
  | "dropped"
  | "too_slow"
  | "timeout"
  | "kicked"
  | "banned"
  | "protocol_error"
  | "shutdown"
  | "part"
  | "flood";

/** Stable machine-readable error codes. Each error frame also carries a sentence for people. */
export type ErrorCode =
  | "bad_json"
  | "bad_utf8"
  | "bad_frame"
  | "unknown_type"
  | "frame_too_large"
  | "too_many_errors"
  | "nick_invalid"
  | "nick_taken"
  | "server_full"
  | "unsupported_version"
  | "not_joined"
  | "already_joined"
  | "empty_text"
  | "not_in_room"
  | "shutting_down"
  | "unknown_command"
  | "bad_command"
  | "room_invalid"
  | "too_many_rooms"
  | "no_such_user"
  | "store_failed"
  | "rate_limited"
  | "muted"
  | "not_operator"
  | "bad_password"
  | "banned"
  | "too_many_connections"
  | "handshake_timeout"
  | "ping_timeout";

/** Sent first by an NDJSON client. */
export interface HelloFrame {
  type: "hello";
  /** Protocol version the client speaks. */
  v: number;
  nick: string;
  /** For each room, the last message id the client saw: rejoin and replay what is newer. */
  resume?: Record<string, number>;
  /** The server password, when the server has one. */
  password?: string;
}

/** A room message from a client. */
export interface SayFrame {
  type: "msg";
  /** Room to speak in; defaults to `#lobby`. */
  room: string;
  text: string;
  /** Client-chosen tag, echoed in the ack so the client can match it. */
  ref?: string;
}

/** A slash command, parsed by the server. */
export interface CommandFrame {
  type: "cmd";
  /** The command line, starting with `/`. */
  line: string;
  /** The client's current room: the default for commands that take one. */
  room: string;
  ref?: string;
}

/** Answer to a server `ping`. */
export interface PongFrame {
  type: "pong";
  token: string;
}

/** A clean goodbye from the client. */
export interface QuitFrame {
  type: "quit";
}

/** Every frame a client may send. */
export type ClientFrame = HelloFrame | SayFrame | CommandFrame | PongFrame | QuitFrame;

/** A room as the welcome describes it. */
export interface RoomSnapshot {
  room: string;
  topic: string;
  members: string[];
}

/** The server's answer to a good hello. */
export interface WelcomeFrame {
  type: "welcome";
  v: number;
  nick: string;
  server: string;
  rooms: RoomSnapshot[];
  limits: { maxFrame: number; maxUsers: number };
}

/** Sent to the author of a message instead of an echo, once the message is accepted. */
export interface AckFrame {
  type: "ack";
  id: number;
  room: string;
  ts: number;
  ref?: string;
  /** Set for a direct message: its recipient. */
  to?: string;
}

/** A room message as everyone else sees it. */
export interface MessageFrame {
  type: "msg";
  id: number;
  room: string;
  from: string;
  text: string;
  /** Server time, milliseconds since the Unix epoch. */
  ts: number;
  /** Set on messages replayed from history. */
  history?: boolean;
  /** Set on `/me` actions. */
  action?: boolean;
}

/** You are now in a room (history for it follows). */
export interface JoinedFrame {
  type: "joined";
  room: string;
  topic: string;
  members: string[];
  ref?: string;
}

/** You left a room. */
export interface PartedFrame {
  type: "parted";
  room: string;
  ref?: string;
}

/** A history replay was cut: `missed` older messages are not replayed. */
export interface GapFrame {
  type: "gap";
  room: string;
  missed: number;
}

/** A room's topic changed (or was asked for). */
export interface TopicFrame {
  type: "topic";
  room: string;
  topic: string;
  by: string;
  ts: number;
  ref?: string;
}

/** Someone changed their nick. */
export interface NickFrame {
  type: "nick";
  old: string;
  new: string;
  ts: number;
  ref?: string;
}

/** A direct message, seen only by its recipient (the sender gets an ack with `to`). */
export interface DirectFrame {
  type: "dm";
  id: number;
  from: string;
  to: string;
  text: string;
  ts: number;
}

/** Command output for people, such as /help. */
export interface InfoFrame {
  type: "info";
  text: string;
  /** The room it is about, when it is about one (a presence summary). */
  room?: string;
  ref?: string;
}

/** The answer to /rooms. */
export interface RoomsFrame {
  type: "rooms";
  rooms: { room: string; members: number; topic: string }[];
  /** Rooms left out of a long list (the busiest are listed). */
  more?: number;
  ref?: string;
}

/** The answer to /who. */
export interface WhoFrame {
  type: "who";
  room: string;
  members: string[];
  ref?: string;
}

/** Are you there? Answer with a pong carrying the token. */
export interface PingFrame {
  type: "ping";
  token: string;
}

/** Someone joined a room. */
export interface JoinFrame {
  type: "join";
  room: string;
  nick: string;
  ts: number;
}

/** Someone left a room, and why. */
export interface LeaveFrame {
  type: "leave";
  room: string;
  nick: string;
  reason: LeaveReason;
  ts: number;
}

/** Something went wrong. `fatal` errors are followed by the server closing the connection. */
export interface ErrorFrame {
  type: "error";
  code: ErrorCode;
  message: string;
  fatal?: boolean;
  ref?: string;
}

/** The server is closing this connection on purpose. */
export interface ByeFrame {
  type: "bye";
  reason: LeaveReason;
  message: string;
}

/** Every frame the server may send. */
export type ServerFrame =
  | WelcomeFrame
  | AckFrame
  | MessageFrame
  | JoinFrame
  | LeaveFrame
  | ErrorFrame
  | ByeFrame
  | JoinedFrame
  | PartedFrame
  | GapFrame
  | TopicFrame
  | NickFrame
  | DirectFrame
  | InfoFrame
  | RoomsFrame
  | WhoFrame
  | PingFrame;

/** Builds an error frame. */
export function errorFrame(
  code: ErrorCode,
  message: string,
  extra: { fatal?: boolean; ref?: string } = {},
): ErrorFrame {
  const frame: ErrorFrame = { type: "error", code, message };
  if (extra.fatal) frame.fatal = true;
  if (extra.ref !== undefined) frame.ref = extra.ref;
  return frame;
}

/** Exhaustiveness guard for `switch` statements over unions. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
