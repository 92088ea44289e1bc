/**
 * Presence coalescing: who joined and left a room. Each room may hear a burst of
 * {@linkcode PRESENCE_BURST} presence lines, earning back {@linkcode PRESENCE_PER_SECOND} a
 * second, told at once as `join` and `leave` frames: the everyday case is unchanged. Past that,
 * changes are held for {@linkcode PRESENCE_WINDOW_MS} and told together as their net effect:
 * someone who joined and left again (a reconnect loop, a flood) is not told at all, a few changes
 * go out as `join` and `leave` frames, and a storm as one summary line. So a room hears a handful
 * of presence lines however many logins hammer it. No timers: {@linkcode Presence.due} is polled.
 *
 * @module
 */

import {
  PRESENCE_BURST,
  PRESENCE_INDIVIDUAL_MAX,
  PRESENCE_NAMES_SHOWN,
  PRESENCE_PER_SECOND,
  PRESENCE_WINDOW_MS,
} from "../config/limits.ts";
import type {
  InfoFrame,
  InviteFrame,
  LeaveReason,
  PresenceLeft,
  ServerFrame,
} from "../protocol/frames.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import type { Room } from "./room.ts";
import type { User } from "./user.ts";

/**
 * One user's change during a window: present before it, present now, why they left, and in
 * their own words ("" for none).
 */
interface Change {
  before: boolean;
  after: boolean;
  reason: LeaveReason;
  message: string;
}

interface RoomPresence {
  /** Presence lines the room may still hear at once. */
  tokens: number;
  /** When `tokens` was last brought up to date. */
  last: number;
  /** Changes held back, in the order they happened. */
  held: Map<User, Change>;
  /** When the held changes are told. */
  flushAt: number;
}

/** Frames for one room's members; `except` is not told (their own join). */
export interface PresenceNotice {
  /** The room whose members are told. */
  room: Room;
  /** What they are told. */
  frame: ServerFrame;
  /** The member not told (whoever joined: they get their own `joined` instead). */
  except?: User;
  /**
   * Set when `frame` carries someone's own words (a quit message): who said them, and the
   * frame without them, for those who ignore that person.
   */
  words?: { from: User; without: ServerFrame };
}

/**
 * Coalesces join and leave notices per room.
 *
 * @example
 * ```ts
 * import { Room } from "./room.ts";
 * import { User } from "./user.ts";
 * const presence = new Presence();
 * const room = new Room("#lobby");
 * const alice = new User("alice", { deliver() {}, close() {} });
 * // Tell `notice.frame` to the members of `notice.room`, but not `notice.except`:
 * const notices = presence.joined(room, alice, Date.now()); // one join, told at once
 * // later, about once a second, what was held back:
 * notices.push(...presence.due(Date.now()));
 * ```
 */
export class Presence {
  readonly #windowMs: number;
  readonly #rooms = new Map<Room, RoomPresence>();

  /**
   * Presence state for no room yet.
   *
   * @param windowMs How long held changes wait. @default PRESENCE_WINDOW_MS
   */
  constructor(windowMs: number = PRESENCE_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** Rooms with presence state (for tests: it must not grow with churn). */
  get tracked(): number {
    return this.#rooms.size;
  }

  /** `user` entered `room`: the notices to send now (none while the room's window is open). */
  joined(room: Room, user: User, now: number): PresenceNotice[] {
    if (this.#hold(room, user, true, "part", "", now)) return [];
    return [{ room, frame: joinFrame(room, user, now), except: user }];
  }

  /**
   * `user` left `room` for `reason`, saying `message` ("" for nothing): the notices to send now
   * (none while held).
   */
  left(
    room: Room,
    user: User,
    reason: LeaveReason,
    now: number,
    message = "",
  ): PresenceNotice[] {
    if (this.#hold(room, user, false, reason, message, now)) return [];
    return [leaveNotice(room, user, reason, message, now)];
  }

  /** The held notices of every room whose window has ended, as their net effect. */
  due(now: number): PresenceNotice[] {
    const out: PresenceNotice[] = [];
    for (const [room, state] of this.#rooms) {
      if (state.held.size === 0) {
        // Nothing held and the burst earned back: the room needs no state.
        if (refill(state, now) >= PRESENCE_BURST) this.#rooms.delete(room);
        continue;
      }
      if (now < state.flushAt) continue;
      const joins: User[] = [];
      const leaves: [User, Change][] = [];
      for (const [user, change] of state.held) {
        if (!change.before && change.after) joins.push(user);
        else if (change.before && !change.after) leaves.push([user, change]);
      }
      state.held = new Map();
      if (joins.length + leaves.length <= PRESENCE_INDIVIDUAL_MAX) {
        for (const user of joins) {
          out.push({ room, frame: joinFrame(room, user, now), except: user });
        }
        for (const [user, { reason, message }] of leaves) {
          out.push(leaveNotice(room, user, reason, message, now));
        }
      } else {
        out.push({ room, frame: summaryFrame(room, joins, leaves, now) });
      }
    }
    return out;
  }

  /** Forgets a room (it was removed). */
  forget(room: Room): void {
    this.#rooms.delete(room);
  }

  /** Holds the change if the room has no presence line to spare now; else spends one. */
  #hold(
    room: Room,
    user: User,
    present: boolean,
    reason: LeaveReason,
    message: string,
    now: number,
  ): boolean {
    let state = this.#rooms.get(room);
    if (state === undefined) {
      state = { tokens: PRESENCE_BURST, last: now, held: new Map(), flushAt: 0 };
      this.#rooms.set(room, state);
    }
    // Once changes are held, later ones queue behind them, so that they are told in order.
    if (state.held.size === 0 && refill(state, now) >= 1) {
      state.tokens--;
      return false;
    }
    if (state.held.size === 0) state.flushAt = now + this.#windowMs;
    const change = state.held.get(user);
    if (change === undefined) {
      state.held.set(user, { before: !present, after: present, reason, message });
    } else {
      change.after = present;
      change.reason = reason;
      change.message = message;
    }
    return true;
  }
}

/** Brings a room's presence tokens up to date; returns them. */
function refill(state: RoomPresence, now: number): number {
  const earned = (Math.max(0, now - state.last) / 1000) * PRESENCE_PER_SECOND;
  state.tokens = Math.min(PRESENCE_BURST, state.tokens + earned);
  state.last = now;
  return state.tokens;
}

function joinFrame(room: Room, user: User, ts: number): ServerFrame {
  return user.verified
    ? { type: "join", room: room.name, nick: user.nick, ts, verified: true }
    : { type: "join", room: room.name, nick: user.nick, ts };
}

/** A leave, with the leaver's words when they gave some (and without, for their ignorers). */
function leaveNotice(
  room: Room,
  user: User,
  reason: LeaveReason,
  message: string,
  ts: number,
): PresenceNotice {
  const without: ServerFrame = { type: "leave", room: room.name, nick: user.nick, reason, ts };
  if (message === "") return { room, frame: without };
  return { room, frame: { ...without, message }, words: { from: user, without } };
}

/**
 * The summary of a storm: a line for people, and the exact lists for IRC clients, which must
 * keep member lists true (contract §7.7). The lists hold at most the room's members before and
 * after the window; the NDJSON codec drops them (its clients read the line).
 */
function summaryFrame(room: Room, joins: User[], leaves: [User, Change][], ts: number): InfoFrame {
  // No one's words, as in the line: a member ignoring a leaver must not get them this way.
  const left = leaves.map(([user, { reason }]): PresenceLeft => ({ nick: user.nick, reason }));
  return {
    type: "info",
    room: room.name,
    text: summary(room, joins, leaves),
    joined: joins.map((user) => user.nick),
    left,
    ts,
  };
}

/** `* 250 joined #lobby: a, b, c and 247 more; 3 left: x, y, z` (no one's words: a storm). */
function summary(room: Room, joins: User[], leaves: [User, Change][]): string {
  const list = (nicks: string[]) => {
    const shown = nicks.slice(0, PRESENCE_NAMES_SHOWN).join(", ");
    const more = nicks.length - PRESENCE_NAMES_SHOWN;
    return more > 0 ? `${shown} and ${more} more` : shown;
  };
  const parts: string[] = [];
  if (joins.length > 0) {
    parts.push(`${joins.length} joined ${room.name}: ${list(joins.map((u) => u.nick))}`);
  }
  if (leaves.length > 0) {
    const where = joins.length > 0 ? "" : ` ${room.name}`;
    parts.push(`${leaves.length} left${where}: ${list(leaves.map(([u]) => u.nick))}`);
  }
  return `* ${parts.join("; ")}`;
}

/**
 * Everyone who shares a room with `user`, each once (and `user` too with `self`): who hears of a
 * change in someone's state (away, account, real name), as IRC's `*-notify` caps expect.
 */
export function sharers(user: User, self = false): Set<User> {
  const out = new Set<User>();
  if (self) out.add(user);
  for (const room of user.rooms) for (const member of room.members) out.add(member);
  if (!self) out.delete(user);
  return out;
}

/**
 * Tells everyone sharing a room with `user` (and `user` with `self`) of `frame`, encoded once.
 * Never awaits.
 */
export function tellSharers(user: User, frame: ServerFrame, self = false): void {
  const out = new Outgoing(frame);
  for (const member of sharers(user, self)) member.sink.deliver(out);
}

/**
 * Those sharing a room with `user` who hear words of theirs said to no room (a real name, an
 * away message): the members of the rooms `speaks` says `user` may speak in (+m and +b), less
 * those who ignore them. So such words are no way around a room's +m or +b, or an ignore.
 */
export function hearers(user: User, speaks: (room: Room) => boolean): Set<User> {
  const out = new Set<User>();
  for (const room of user.rooms) {
    if (!speaks(room)) continue;
    for (const member of room.members) {
      if (member.ignores.isEmpty || !member.ignores.has(user)) out.add(member);
    }
  }
  out.delete(user);
  return out;
}

/**
 * `user` went away (`/away`, IRC `AWAY :msg`) or came back: the rooms they share hear it (IRC
 * `away-notify`). `user.away` is already set. The message is the user's own words: only its
 * {@linkcode hearers} (by `speaks`) hear them; those who ignore them, those who share only rooms
 * where they may not speak, and everyone while they are `muted`, learn only that they are away
 * (as a quit message is withheld), so an away message is no way around an ignore, +m, +b or a
 * mute.
 */
export function tellAway(
  user: User,
  ts: number,
  muted: boolean,
  speaks: (room: Room) => boolean,
): void {
  const frame: ServerFrame = { type: "away", nick: user.nick, message: user.away, ts };
  const bare = new Outgoing({ ...frame, message: user.away === null ? null : "" });
  if (muted || !user.away) {
    for (const member of sharers(user)) member.sink.deliver(bare);
    return;
  }
  const out = new Outgoing(frame);
  const hear = hearers(user, speaks);
  for (const member of sharers(user)) member.sink.deliver(hear.has(member) ? out : bare);
}

/**
 * `frame` (someone's invitation into `room`) to the room's operators, but `by` and the one
 * invited, who hear of it already: IRC's `invite-notify` shows it to them.
 */
export function tellOperators(room: Room, frame: InviteFrame, by: User, to: User): void {
  const out = new Outgoing({ ...frame, notify: true });
  for (const op of room.ops) if (op !== by && op !== to) op.sink.deliver(out);
}
