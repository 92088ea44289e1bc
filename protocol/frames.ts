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
  | "flood"
  | "replaced"
  | "kicked_room"
  | "node_lost";

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
  | "ping_timeout"
  | "nick_registered"
  | "bad_account_password"
  | "account_required"
  | "not_registered"
  | "bad_signature"
  | "not_room_operator"
  | "room_invite_only"
  | "room_bad_key"
  | "room_full"
  | "room_banned"
  | "room_moderated"
  | "room_claimed"
  | "room_not_claimed"
  | "unknown_mode"
  | "user_not_in_room"
  | "already_in_room";

/** Sent first by an NDJSON client. */
export interface HelloFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "hello";
  /** Protocol version the client speaks. */
  v: number;
  /** The nick to log in as; the server may refuse it (nick_taken, bad_nick). */
  nick: string;
  /** For each room, the last message id the client saw: rejoin and replay what is newer. */
  resume?: Record<string, number>;
  /** The server password, when the server has one. */
  password?: string;
  /** The password of the account that owns `nick`, when it is a password account. */
  accountPassword?: string;
  /**
   * The client's own public key in OpenSSH form (`ssh-ed25519 AAAA...`). The server answers
   * with a `challenge` before anything else, and the login waits for the `prove` frame.
   */
  key?: string;
}

/** What a `prove` signature covers before the nonce: no other protocol's signature fits. */
export const CHALLENGE_CONTEXT = "sockchat-login-v1\n";

/** The client's answer to a `challenge`: it holds the private half of the hello's `key`. */
export interface ProveFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "prove";
  /** Base64 ed25519 signature of the UTF-8 of `CHALLENGE_CONTEXT` followed by the nonce's bytes. */
  sig: string;
}

/** A room message from a client. */
export interface SayFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "msg";
  /** Room to speak in; defaults to `#lobby`. */
  room: string;
  /** The message, within the server's `maxFrame` and text rules. */
  text: string;
  /** Client-chosen tag, echoed in the ack so the client can match it. */
  ref?: string;
}

/** A slash command, parsed by the server. */
export interface CommandFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "cmd";
  /** The command line, starting with `/`. */
  line: string;
  /** The client's current room: the default for commands that take one. */
  room: string;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
}

/** Answer to a server `ping`. */
export interface PongFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "pong";
  /** The token from the ping, proving this answer is to that ping. */
  token: string;
}

/** A clean goodbye from the client. */
export interface QuitFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "quit";
}

/** Every frame a client may send. */
export type ClientFrame =
  | HelloFrame
  | SayFrame
  | CommandFrame
  | PongFrame
  | QuitFrame
  | ProveFrame;

/** The server's answer to a hello with a `key`: sign this nonce to prove you hold the key. */
export interface ChallengeFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "challenge";
  /** Base64 of 32 random bytes, new for every connection. */
  nonce: string;
}

/** How a registered nick's owner proves who they are. */
export type IdentityKind = "key" | "password";

/** A room as the welcome describes it. */
export interface RoomSnapshot {
  /** The room's name, `#` included. */
  room: string;
  /** Empty when none was set. */
  topic: string;
  /**
   * Nicks in the room now, in the order they joined, the new user last; at most
   * `MEMBERS_FIRST_PAGE` of them (the first to join, then the new user). `/who` lists everyone.
   */
  members: string[];
  /** How many are in the room now, the new user included (may exceed `members.length`). */
  count: number;
  /** The nicks of `members` that are registered and proven (absent when none are). */
  verified?: string[];
}

/**
 * A server's flood control as its welcome advertises it: one token bucket of messages and one
 * of bytes per connection, each starting full. Every frame after the hello costs one message
 * and its length in bytes; a frame either bucket cannot pay for is dropped (`rate_limited`), and
 * a long run of drops disconnects. A client that paces what it sends within these is never
 * refused.
 */
export interface FloodLimits {
  /** Messages per second sustained, once a burst is spent (`serve --rate`). */
  rate: number;
  /** Messages one burst may hold: sent at once, these all pass. */
  burst: number;
  /** Bytes per second sustained (`serve --rate-bytes`). */
  rateBytes: number;
  /** Bytes one burst may hold; a larger frame passes only when the byte bucket is full. */
  burstBytes: number;
}

/**
 * Caps the client must respect, as the welcome gives them. The flood fields are absent when
 * the server has no flood control (`--rate 0`), and from servers older than them.
 */
export type WelcomeLimits = { maxFrame: number; maxUsers: number } & Partial<FloodLimits>;

/** The server's answer to a good hello. */
export interface WelcomeFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "welcome";
  /** Protocol version the server speaks. */
  v: number;
  /** The nick the user is logged in as. */
  nick: string;
  /** The server's name, for people. */
  server: string;
  /** The rooms the user is in after login (the lobby, and any resumed). */
  rooms: RoomSnapshot[];
  /**
   * Caps the client must respect, so it can refuse oversized input before sending it, and pace
   * what it sends within the server's flood control.
   */
  limits: WelcomeLimits;
  /** When the nick is registered and this login proved it: how. */
  account?: { kind: IdentityKind; fingerprint?: string };
}

/** Sent to the author of a message instead of an echo, once the message is accepted. */
export interface AckFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "ack";
  /** The id the message was stored under: what `resume` counts from. */
  id: number;
  /** The room it went to. */
  room: string;
  /** Server time, milliseconds since the Unix epoch. */
  ts: number;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
  /** Set for a direct message: its recipient. */
  to?: string;
}

/** A room message as everyone else sees it. */
export interface MessageFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "msg";
  /** Increasing per server: what `resume` counts from. */
  id: number;
  /** The room it was said in. */
  room: string;
  /** The author's nick. */
  from: string;
  /** The message as sent, after the server's text rules. */
  text: string;
  /** Server time, milliseconds since the Unix epoch. */
  ts: number;
  /** Set on messages replayed from history. */
  history?: boolean;
  /** Set on `/me` actions. */
  action?: boolean;
  /** Set on notices (IRC `NOTICE`): shown as messages; a program must not answer one. */
  notice?: boolean;
  /**
   * UTF-16 offsets into `text` where the sender joined two of its lines without a newline (a
   * long line it had to send in pieces). Live messages only, never stored: a reader that sends
   * lines as its author did can rebuild them; others ignore it.
   */
  breaks?: number[];
}

/** You are now in a room (history for it follows). */
export interface JoinedFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "joined";
  /** The room joined. */
  room: string;
  /** Empty when none was set. */
  topic: string;
  /**
   * Nicks in the room now, in the order they joined, yours last; at most `MEMBERS_FIRST_PAGE`
   * of them (the first to join, then you). `/who` lists everyone.
   */
  members: string[];
  /** How many are in the room now, you included (may exceed `members.length`). */
  count: number;
  /** The nicks of `members` that are registered and proven (absent when none are). */
  verified?: string[];
  /** The nicks of `members` that are room operators (`@`; absent when none are). */
  ops?: string[];
  /** The nicks of `members` that are voiced (`+`; absent when none are). */
  voiced?: string[];
  /** The room's modes, as `+nt` (absent when only `+n`). */
  modes?: string;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
}

/** You left a room. */
export interface PartedFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "parted";
  /** The room left. */
  room: string;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
}

/**
 * A history replay was cut: `missed` older messages are not replayed. With `live`, messages
 * said in the room since may not have reached you (a cluster node fell behind its log):
 * `/history` shows what the room kept.
 */
export interface GapFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "gap";
  /** The room whose replay was cut (or whose live messages may be missing). */
  room: string;
  /** Older messages not replayed; at most the store's counting cap. 0 with `live`: not known. */
  missed: number;
  /** Live messages may be missing, not a replay cut. Absent for a replay's gap. */
  live?: true;
}

/** A room's topic changed (or was asked for). */
export interface TopicFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "topic";
  /** The room whose topic this is. */
  room: string;
  /** The new topic; empty when cleared. */
  topic: string;
  /** Who set it. */
  by: string;
  /** When it was set, milliseconds since the Unix epoch. */
  ts: number;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
}

/** Someone changed their nick. */
export interface NickFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "nick";
  /** The nick before the change. */
  old: string;
  /** The nick after the change. */
  new: string;
  /** When it changed, milliseconds since the Unix epoch. */
  ts: number;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
}

/** A direct message, seen only by its recipient (the sender gets an ack with `to`). */
export interface DirectFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "dm";
  /** Increasing per server, shared with room messages. */
  id: number;
  /** The sender's nick. */
  from: string;
  /** The recipient's nick: you. */
  to: string;
  /** The message as sent, after the server's text rules. */
  text: string;
  /** Server time, milliseconds since the Unix epoch. */
  ts: number;
  /** Set on `/me` actions. */
  action?: boolean;
  /** Set on notices (IRC `NOTICE`): shown as messages; a program must not answer one. */
  notice?: boolean;
  /**
   * Set when `text` is a client-to-client query (`VERSION`, `PING 123`: a verb and its
   * arguments) that only IRC clients answer: the NDJSON and plain encoders drop the frame, so
   * no other client ever sees one.
   */
  ctcp?: boolean;
  /** As a room message's `breaks`: where the sender joined lines without a newline. */
  breaks?: number[];
}

/** Command output for people, such as /help. */
export interface InfoFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "info";
  /** Lines for people, joined by `\n`. */
  text: string;
  /** The room it is about, when it is about one (a presence summary, `/history`'s end). */
  room?: string;
  /**
   * With `/history`'s closing info: true when older messages of `room` remain stored (false:
   * scroll-back has reached the start of what is kept).
   */
  more?: boolean;
  /**
   * With `/history`'s closing info, when `more`: the id to page back from, as in
   * `/history N before ID` (the oldest message the page covered).
   */
  before?: number;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
  /**
   * With a presence summary: everyone the text counts as joined, in order (IRC clients keep
   * exact member lists). Never sent to NDJSON clients, who read the text.
   */
  joined?: string[];
  /** With a presence summary: everyone it counts as gone, and why (as `joined`). */
  left?: PresenceLeft[];
  /** With a presence summary: when it was told, milliseconds since the Unix epoch. */
  ts?: number;
  /**
   * With the notice that a user one sent a DM to is away: their nick (IRC answers `301
   * RPL_AWAY`). Never sent to NDJSON clients, who read the text.
   */
  awayOf?: string;
}

/** One departure a presence summary counts (see `InfoFrame.left`). */
export interface PresenceLeft {
  /** Who left. */
  nick: string;
  /** Why, as in a `leave` frame (a storm carries no one's words). */
  reason: LeaveReason;
}

/** The answer to /rooms. */
export interface RoomsFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "rooms";
  /** One entry a room: name, member count and topic. */
  rooms: { room: string; members: number; topic: string }[];
  /** Rooms left out of a long list (the busiest are listed). */
  more?: number;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
}

/** The answer to /who. */
export interface WhoFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "who";
  /** The room asked about. */
  room: string;
  /** Nicks in the room now, all of them: unlike `joined`, this list was asked for. */
  members: string[];
  /** The nicks of `members` that are registered and proven (absent when none are). */
  verified?: string[];
  /** The nicks of `members` that are room operators (`@`; absent when none are). */
  ops?: string[];
  /** The nicks of `members` that are voiced (`+`; absent when none are). */
  voiced?: string[];
  /** The room's modes, as `+nt` (absent when only `+n`). */
  modes?: string;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
}

/** Are you there? Answer with a pong carrying the token. */
export interface PingFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "ping";
  /** Echo it in a pong to show the connection is alive. */
  token: string;
}

/** Someone joined a room. */
export interface JoinFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "join";
  /** The room joined. */
  room: string;
  /** Who joined. */
  nick: string;
  /** When, milliseconds since the Unix epoch. */
  ts: number;
  /** True when the nick is registered and its owner proved it. */
  verified?: boolean;
}

/** Someone left a room, and why. */
export interface LeaveFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "leave";
  /** The room left. */
  room: string;
  /** Who left. */
  nick: string;
  /** Why, so clients can tell a quit from a kick or a timeout. */
  reason: LeaveReason;
  /**
   * The leaver's own words, when they gave some (`/quit REASON`): one line, at most
   * `MAX_REASON_LENGTH` characters. Absent otherwise, and for those who ignore the leaver.
   */
  message?: string;
  /** With `kicked_room`: the room operator who kicked them (`message` is their reason). */
  by?: string;
  /** When, milliseconds since the Unix epoch. */
  ts: number;
}

/** A room's modes or someone's operator or voice status changed. */
export interface ModeFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "mode";
  /** The room whose modes changed. */
  room: string;
  /** The room operator who changed them. */
  by: string;
  /** What changed, as IRC writes it: `+o-k`, `+m`, `+b`. */
  changes: string;
  /** The arguments of the letters that take one, in order (nicks, masks, the key, a limit). */
  args: string[];
  /** When, milliseconds since the Unix epoch. */
  ts: number;
  /** Echo of the request's `ref`, to whoever made the change. */
  ref?: string;
}

/** Someone invited you into a room: you may join it once, past +i, +k, +l and +b if an operator invited you, else past +i only. */
export interface InviteFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "invite";
  /** The room you are invited to. */
  room: string;
  /** Who invited you. */
  by: string;
  /** You (or, with `notify`, the one invited). */
  to: string;
  /** When, milliseconds since the Unix epoch. */
  ts: number;
  /**
   * Set on the copy a room operator gets of someone else's invitation (IRC `invite-notify`):
   * only the IRC front end shows it; the NDJSON and plain codecs drop it.
   */
  notify?: true;
}

/**
 * Someone sharing a room with you went away or came back (IRC `away-notify`). The NDJSON codec
 * does not send it yet: clients of protocol 1 would take an unknown type for a broken frame.
 */
export interface AwayFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "away";
  /** Who. */
  nick: string;
  /** Their away message ("" for none), or null: they are back. */
  message: string | null;
  /** When, milliseconds since the Unix epoch. */
  ts: number;
}

/**
 * Someone sharing a room with you (or you) proved, registered or lost the account of their nick
 * (IRC `account-notify`). Not sent over NDJSON yet, as {@linkcode AwayFrame}.
 */
export interface AccountFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "account";
  /** Who, by the nick they hold now. */
  nick: string;
  /** The account they are proven as now (their nick), or null for none. */
  account: string | null;
  /** When, milliseconds since the Unix epoch. */
  ts: number;
}

/**
 * Someone sharing a room with you (or you) changed their real name (IRC `SETNAME`: a name only
 * IRC clients show). Not sent over NDJSON, as {@linkcode AwayFrame}.
 */
export interface SetnameFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "setname";
  /** Who. */
  nick: string;
  /** The new real name, cleaned and cut as USER's is. */
  realname: string;
  /** When, milliseconds since the Unix epoch. */
  ts: number;
}

/** Something went wrong. `fatal` errors are followed by the server closing the connection. */
export interface ErrorFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "error";
  /** Stable, for programs. */
  code: ErrorCode;
  /** One sentence for people. */
  message: string;
  /** The server closes the connection after this frame. */
  fatal?: boolean;
  /** Echo of the request's `ref`, so a client can match the answer to what it sent. */
  ref?: string;
  /**
   * With `nick_registered`: what would prove the nick is yours (a password account can give its
   * password; a key account only its key).
   */
  need?: IdentityKind;
}

/** The server is closing this connection on purpose. */
export interface ByeFrame {
  /** The frame kind on the wire: what a decoder switches on. */
  type: "bye";
  /** Why, in the same terms as a `leave` frame. */
  reason: LeaveReason;
  /** One sentence for people. */
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
  | PingFrame
  | ChallengeFrame
  | ModeFrame
  | InviteFrame
  | AwayFrame
  | AccountFrame
  | SetnameFrame;

/** Builds an error frame. */
export function errorFrame(
  code: ErrorCode,
  message: string,
  extra: { fatal?: boolean; ref?: string; need?: IdentityKind } = {},
): ErrorFrame {
  const frame: ErrorFrame = { type: "error", code, message };
  if (extra.fatal) frame.fatal = true;
  if (extra.ref !== undefined) frame.ref = extra.ref;
  if (extra.need !== undefined) frame.need = extra.need;
  return frame;
}

/** Exhaustiveness guard for `switch` statements over unions. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
