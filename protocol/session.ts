/**
 * What a codec's session sees of its peer: a narrow port, so that a wire format (NDJSON, plain
 * text, and next IRC) turns frames into chat events without knowing sockets, queues, timers or
 * the hub's other business. `transport/peer.ts` implements it, once, for every front end.
 *
 * @module
 */

import type { Awaitable } from "../core/awaitable.ts";
import type { CommandOutcome } from "../core/commands/chat.ts";
import type { LoginRequest } from "../core/hub.ts";
import type { AccountCheck } from "../core/account_proof.ts";
import type { AccountView } from "../core/identity.ts";
import type { MessageKind } from "../core/relay.ts";
import type { DirectHow } from "../core/direct.ts";
import type { Departure } from "../core/departures.ts";
import type { Room } from "../core/room.ts";
import type { ClaimRecord } from "../core/room_claims.ts";
import type {
  HistoryAnswer,
  HistoryQuery,
  TargetsAnswer,
  WireBytes,
} from "../core/history_slice.ts";
import type { User } from "../core/user.ts";
import type { FrameCodec } from "./codec.ts";
import type { ErrorFrame, ServerFrame } from "./frames.ts";
import type { Deliverable, Outgoing } from "./outgoing.ts";

/** A login as a session asks for it; the peer adds what it knows (the address). */
export type LoginAttempt = Omit<LoginRequest, "address">;

/**
 * What a session may read of the chat, without changing it: an IRC session answers NAMES, LUSERS
 * and hostmasks from here (the hub is the one implementation).
 */
export interface ChatView {
  /** Users logged in now. */
  readonly userCount: number;
  /** Every room that exists now. */
  readonly rooms: Iterable<Room>;
  /** Every user logged in now. */
  readonly users: Iterable<User>;
  /** The room called `name` (any spelling that folds the same), if it exists. */
  room(name: string): Room | undefined;
  /** The user holding `nick` (any spelling that folds the same), if online. */
  user(nick: string): User | undefined;
  /** The claim on the room `name`, which exists while empty (IRC MODE answers 324 for it). */
  claimed(name: string): ClaimRecord | undefined;
  /** True if the server has an operator secret (else IRC OPER is `491`). */
  readonly hasOperSecret: boolean;
  /** Who left the server lately under `nick`, newest first, at most `limit` (IRC `WHOWAS`). */
  whowas(nick: string, limit?: number): Departure[];
  /** True if `user`'s words are heard in `room` now: not muted, and +m and +b let them speak. */
  speaksIn(user: User, room: Room): boolean;
}

/** The peer, as a session uses it. */
export interface SessionPort {
  /** The chat, read-only. */
  readonly chat: ChatView;
  /** The client's IP address. */
  readonly address: string;
  /** The logged-in user, once there is one. */
  readonly user: User | null;
  /** Largest frame accepted. */
  readonly maxFrame: number;
  /** True when logins need the server password. */
  readonly needsPassword: boolean;
  /**
   * Flood control: true if a unit of work of `bytes` bytes may be handled now. `ref` finds the
   * `ref` the frame carries, asked only when it is dropped, so that the refusal can name it.
   */
  admit(bytes: number, ref?: () => string | undefined): boolean;
  /**
   * Flood control that delays instead of dropping (IRC, contract §4.6): true when a unit of work
   * of `bytes` bytes may be handled now, else a promise that resolves true once it may (the peer
   * holds the next frames meanwhile, so TCP back-pressure bounds what waits), or false when the
   * connection ends first or the client has fallen more than `IRC_FLOOD_MAX_LAG_MS` behind its
   * own sending (closed as an `Excess Flood`: see `FloodGuard.delay`).
   */
  hold(bytes: number): Awaitable<boolean>;
  /**
   * Checks an account password before any login (IRC SASL PLAIN), with the address's lockout;
   * when right, with the proof the login takes (`LoginAttempt.accountProof`) instead.
   */
  checkAccountPassword(nick: string, password: string): Awaitable<AccountCheck>;
  /** The account that owns `nick`, if it is registered. */
  account(nick: string): AccountView | undefined;
  /** A bad frame: told to the client, which is closed after too many. */
  protocolError(error: ErrorFrame): void;
  /** Sends one frame to this peer. */
  send(frame: ServerFrame): void;
  /** Sends bytes as they are (a prompt). */
  sendRaw(bytes: Uint8Array): void;
  /**
   * Tries to log in. On success the peer is logged in; on a refusal the client is told, and a
   * fatal one ends the connection. Returns the refusal, or null on success.
   */
  login(attempt: LoginAttempt): Awaitable<ErrorFrame | null>;
  /**
   * A login the session itself refuses before the hub sees it (a key proof that fails): told,
   * logged and, when fatal, ends the connection, like a refusal from the hub. `nick`: the one
   * the refused hello asked for, for the log.
   */
  refuse(error: ErrorFrame, nick: string): void;
  /**
   * A message (or, by `kind`, an action or a notice) from the logged-in user to a room;
   * `breaks`: where its author joined lines without a newline (`MessageFrame.breaks`).
   */
  say(
    room: string,
    text: string,
    ref?: string,
    kind?: MessageKind,
    breaks?: readonly number[],
  ): void;
  /** A direct message from the logged-in user to `to`, of the kind `how` says. */
  direct(to: string, text: string, ref: string, how: DirectHow): Awaitable<void>;
  /** A slash command from the logged-in user, run against `room` (the current one). */
  command(line: string, room: string, ref?: string): Awaitable<CommandOutcome>;
  /**
   * A page of `room`'s history for the logged-in user to be shown by the session itself (IRC
   * `CHATHISTORY`): the messages oldest first, or why not (not in the room, the address's
   * history allowance spent, the store failing). `wireBytes`: what a message costs on this
   * session's wire, when its lines are not the frame's size (the replay budget counts those).
   */
  historySlice(
    room: string,
    query: HistoryQuery,
    wireBytes?: WireBytes,
  ): Awaitable<HistoryAnswer>;
  /**
   * The logged-in user's rooms whose newest message was said strictly between `from` and `to`
   * (ms since the epoch), earliest first, at most `limit`.
   */
  historyTargets(from: number, to: number, limit: number): Awaitable<TargetsAnswer>;
  /**
   * Sets the topic of `room` (which the logged-in user is in) to `topic`; "" clears it (IRC
   * `TOPIC #r :`), which no slash command can say.
   */
  setTopic(room: string, topic: string, ref?: string): Awaitable<void>;
  /**
   * The logged-in user's real name changed (IRC `SETNAME`): they and their rooms hear it. False
   * when it may not change now (they are muted): nobody was told.
   */
  announceRealname(realname: string): boolean;
  /**
   * Settles once the messages said before now are committed and their acks and relays queued:
   * a reply queued after it follows their echoes (IRC answers `PING` so, since clients and
   * conformance suites use it to know that everything they sent before has been answered).
   */
  settled(): Awaitable<void>;
  /** True if the logged-in user is in `room`. */
  isIn(room: string): boolean;
  /** A room the logged-in user is in, if any. */
  anyRoom(): string | undefined;
  /**
   * Makes the logged-in user a server operator if `secret` is the operator secret; false (and
   * the client told why, with `ref`) if not. Never closes the connection: IRC's OPER may be
   * retried, bounded by the address's lockout.
   */
  oper(secret: string, ref: string): boolean;
  /** The client says goodbye. */
  quit(): void;
}

/** What a wire-format session does with the frames of its connection. */
export interface ProtocolSession {
  /** Called once, when the format is known. */
  start(): void;
  /**
   * One complete frame's bytes. A promise means the frame waits for the store; the peer holds
   * the next frames until it settles (it never rejects).
   */
  frame(bytes: Uint8Array): Awaitable<void>;
  /** A burst of input has been handed over (a plain-text paste ends here). */
  endOfBatch(): void;
  /**
   * This reader's bytes for `out`, for a session whose output depends on who reads it (netcat:
   * room tags, timestamps). Absent: the codec's shared encoding, made once per event.
   */
  render?(out: Deliverable): Uint8Array;
  /**
   * True if a graceful finish closes both directions once the goodbye is flushed, instead of
   * half-closing and draining the client's input until it hangs up (netcat would sit in
   * CLOSE-WAIT). @default false
   */
  readonly closesAtOnce?: boolean;
  /**
   * True if the session's lines wait for flood control (`SessionPort.hold`, IRC) instead of
   * being refused: only then does the peer keep the read-arrival bookkeeping the wait's lag is
   * measured from, so the native path pays nothing for it. @default false
   */
  readonly delaysFlood?: boolean;
  /**
   * False when this reader asks for history itself (IRC `draft/chathistory`): joins replay
   * nothing (see `PeerSink.replaysOnJoin`). @default true
   */
  readonly replaysOnJoin?: boolean;
  /**
   * What `out`, a replayed history frame, costs on this reader's wire, when {@linkcode render}
   * makes it much larger or smaller than the codec's encoding (see `PeerSink.replayBytes`).
   * Must not change the session's state: the frame is delivered (and rendered) afterwards.
   */
  replayBytes?(out: Outgoing): number;
}

/** A session, the codec its peer encodes with, and its keepalive rule. */
export interface OpenedSession {
  /** The codec the peer encodes outgoing frames with. */
  codec: FrameCodec;
  /** Decodes what the client sends and drives the port. */
  session: ProtocolSession;
  /** True if a silent logged-in client is pinged and then dropped (not for people on netcat). */
  pings: boolean;
}
