/**
 * Checks each frame from the server against the protocol (`docs/PROTOCOL.md`) before the client
 * acts on it, and rebuilds it from the fields it knows, so that nothing else in the client ever
 * sees a missing field, a number where text belongs, or a name longer than the protocol allows.
 * A frame that breaks the protocol is reported with a sentence that names the frame type and
 * field, never the offending value (which came from the server and may be hostile).
 *
 * @module
 */

import {
  MAX_REF_LENGTH,
  NICK_MAX_LENGTH,
  ROOM_NAME_MAX_LENGTH,
  TOPIC_MAX_LENGTH,
} from "../config/limits.ts";
import {
  type DirectFrame,
  type ErrorCode,
  type ErrorFrame,
  type IdentityKind,
  type LeaveReason,
  type MessageFrame,
  PROTOCOL_VERSION,
  type RoomSnapshot,
  type ServerFrame,
  type WelcomeFrame,
} from "../protocol/frames.ts";
import { LEAVE_REASON_TEXT } from "../protocol/plain/render.ts";
import { MAX_JOINED_ROOMS } from "./limits.ts";

/** A server frame that follows the protocol, or why it does not. */
export type CheckedFrame = { ok: true; frame: ServerFrame } | { ok: false; problem: string };

/** Every error code of the protocol; the compiler checks that none is missing or extra. */
const ERROR_CODES: Record<ErrorCode, true> = {
  bad_json: true,
  bad_utf8: true,
  bad_frame: true,
  unknown_type: true,
  frame_too_large: true,
  too_many_errors: true,
  nick_invalid: true,
  nick_taken: true,
  server_full: true,
  unsupported_version: true,
  not_joined: true,
  already_joined: true,
  empty_text: true,
  not_in_room: true,
  shutting_down: true,
  unknown_command: true,
  bad_command: true,
  room_invalid: true,
  too_many_rooms: true,
  no_such_user: true,
  store_failed: true,
  rate_limited: true,
  muted: true,
  not_operator: true,
  bad_password: true,
  banned: true,
  too_many_connections: true,
  handshake_timeout: true,
  ping_timeout: true,
  nick_registered: true,
  bad_account_password: true,
  account_required: true,
  not_registered: true,
  bad_signature: true,
  not_room_operator: true,
  room_invite_only: true,
  room_bad_key: true,
  room_full: true,
  room_banned: true,
  room_moderated: true,
  room_claimed: true,
  room_not_claimed: true,
  unknown_mode: true,
  user_not_in_room: true,
  already_in_room: true,
};

/** Most mode letters, and mode arguments, one `mode` frame may carry (IRC sends at most a few). */
const MAX_MODE_CHANGES = 32;

/** Longest mode argument (a ban mask is the longest: `nick!user@host`). */
const MAX_MODE_ARG_LENGTH = 128;

/** The furthest a `Date` reaches from the epoch, either way, in milliseconds. */
const MAX_DATE_MS = 8.64e15;

/** Thrown inside this module only, to leave a frame at its first bad field. */
class Broken extends Error {}

/** Typed access to one frame's fields; every getter throws {@linkcode Broken} on a bad field. */
class Fields {
  readonly #obj: Record<string, unknown>;
  readonly #type: string;

  constructor(obj: Record<string, unknown>, type: string) {
    this.#obj = obj;
    this.#type = type;
  }

  #fail(name: string, what: string): never {
    throw new Broken(`a "${this.#type}" frame without "${name}" as ${what}`);
  }

  text(name: string): string {
    const value = this.#obj[name];
    return typeof value === "string" ? value : this.#fail(name, "a string");
  }

  /** A nick: 1 to `NICK_MAX_LENGTH` code points, no spaces, controls or invisible characters. */
  nick(name: string, value: unknown = this.#obj[name]): string {
    return isNick(value) ? value : this.#fail(name, "a nick");
  }

  /** A room name as the protocol allows it (`#` and 1 to 32 letters, digits, `_`, `.`, `-`). */
  room(name: string, value: unknown = this.#obj[name]): string {
    return isRoom(value) ? value : this.#fail(name, "a room name");
  }

  topic(name: string, value: unknown = this.#obj[name]): string {
    return typeof value === "string" && codePoints(value) <= TOPIC_MAX_LENGTH
      ? value
      : this.#fail(name, `a topic of at most ${TOPIC_MAX_LENGTH} characters`);
  }

  /** A message id, count or other whole number that is not negative. */
  count(name: string, value: unknown = this.#obj[name]): number {
    return typeof value === "number" && Number.isSafeInteger(value) && value >= 0
      ? value
      : this.#fail(name, "a whole number");
  }

  /** A rate or size: a finite number above zero, not necessarily whole. */
  positive(name: string, value: unknown = this.#obj[name]): number {
    return typeof value === "number" && Number.isFinite(value) && value > 0
      ? value
      : this.#fail(name, "a number above zero");
  }

  /** A count of at least `min`: a total that cannot be below the list beside it. */
  atLeast(name: string, min: number): number {
    const value = this.count(name);
    return value >= min ? value : this.#fail(name, "a count no smaller than the list beside it");
  }

  /** Milliseconds since the Unix epoch, within what a `Date` can show. */
  time(name: string): number {
    const value = this.#obj[name];
    return typeof value === "number" && Number.isInteger(value) && Math.abs(value) <= MAX_DATE_MS
      ? value
      : this.#fail(name, "a time");
  }

  nicks(name: string): string[] {
    const value = this.#obj[name];
    if (!Array.isArray(value)) this.#fail(name, "a list of nicks");
    return value.map((member) => this.nick(name, member));
  }

  list(name: string): unknown[] {
    const value = this.#obj[name];
    return Array.isArray(value) ? value : this.#fail(name, "a list");
  }

  object(name: string, value: unknown = this.#obj[name]): Fields {
    return isObject(value) ? new Fields(value, this.#type) : this.#fail(name, "an object");
  }

  has(name: string): boolean {
    return this.#obj[name] !== undefined;
  }

  /** True when the field is missing or null (a nullable field's "none"). */
  absent(name: string): boolean {
    return this.#obj[name] === undefined || this.#obj[name] === null;
  }

  /** `true` when the flag is set; a flag that is there must be a boolean. */
  flag(name: string): boolean {
    const value = this.#obj[name];
    if (value === undefined) return false;
    return typeof value === "boolean" ? value : this.#fail(name, "true or false");
  }

  /** The `ref` a frame answering one of ours carries: a string of at most 64 characters. */
  ref(): { ref?: string } {
    const value = this.#obj.ref;
    if (value === undefined) return {};
    if (typeof value !== "string" || value.length > MAX_REF_LENGTH) {
      this.#fail("ref", `a string of at most ${MAX_REF_LENGTH} characters`);
    }
    return { ref: value };
  }

  reason(name: string): LeaveReason {
    const value = this.#obj[name];
    return typeof value === "string" && Object.hasOwn(LEAVE_REASON_TEXT, value)
      ? value as LeaveReason // just checked: LEAVE_REASON_TEXT has exactly one key per reason
      : this.#fail(name, "a leave reason");
  }

  /** How an identity is proven: `key` or `password`. */
  kind(name: string): IdentityKind {
    const value = this.#obj[name];
    return value === "key" || value === "password" ? value : this.#fail(name, "key or password");
  }

  /**
   * `verified`, the subset of `members` that proved their registered nicks, when there is one:
   * a nick outside the members is refused (a mark must not appear beside nobody).
   */
  verified(members: readonly string[]): { verified?: string[] } {
    if (!this.has("verified")) return {};
    const verified = this.nicks("verified");
    const listed = new Set(members);
    if (!verified.every((nick) => listed.has(nick))) this.#fail("verified", "members' nicks");
    return { verified };
  }

  /**
   * `ops` and `voiced`, subsets of `members` like `verified`, and `modes` (`+nt`), each when
   * there: what `joined` and `who` mark nicks with.
   */
  marks(members: readonly string[]): { ops?: string[]; voiced?: string[]; modes?: string } {
    const listed = new Set(members);
    const out: { ops?: string[]; voiced?: string[]; modes?: string } = {};
    for (const name of ["ops", "voiced"] as const) {
      if (!this.has(name)) continue;
      const nicks = this.nicks(name);
      if (!nicks.every((nick) => listed.has(nick))) this.#fail(name, "members' nicks");
      out[name] = nicks;
    }
    if (this.has("modes")) {
      const modes = this.text("modes");
      if (!/^\+[a-zA-Z]{1,32}$/.test(modes)) this.#fail("modes", "mode letters such as +nt");
      out.modes = modes;
    }
    return out;
  }

  /** Mode changes as IRC writes them: `+o-k`. */
  changes(name: string): string {
    const value = this.text(name);
    return /^([+-][a-zA-Z]+)+$/.test(value) && value.length <= 2 * MAX_MODE_CHANGES
      ? value
      : this.#fail(name, "mode changes such as +o-k");
  }

  /** A mode frame's arguments: short strings without spaces or controls. */
  modeArgs(name: string): string[] {
    const value = this.list(name);
    if (value.length > MAX_MODE_CHANGES) this.#fail(name, "a short list");
    return value.map((arg) =>
      typeof arg === "string" && arg !== "" && arg.length <= MAX_MODE_ARG_LENGTH &&
        !/[\s\p{Cc}\p{Cf}]/u.test(arg)
        ? arg
        : this.#fail(name, "a list of mode arguments")
    );
  }

  code(name: string): ErrorCode {
    const value = this.#obj[name];
    return typeof value === "string" && Object.hasOwn(ERROR_CODES, value)
      ? value as ErrorCode // just checked: ERROR_CODES has exactly one key per code
      : this.#fail(name, "an error code");
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * The protocol's shape of a room name. Deliberately not the server's own creation rules
 * (`core/room.ts`), which may tighten over time while rooms made under older rules live on.
 */
function isRoom(value: unknown): value is string {
  if (typeof value !== "string" || value.length > 2 * (ROOM_NAME_MAX_LENGTH + 1)) return false;
  const rest = value.slice(1);
  const length = codePoints(rest);
  return value.startsWith("#") && length >= 1 && length <= ROOM_NAME_MAX_LENGTH &&
    /^[\p{L}\p{N}\p{M}_.-]+$/u.test(rest);
}

/** The protocol's shape of a nick (the finer rules, such as mixed scripts, are the server's). */
function isNick(value: unknown): value is string {
  if (typeof value !== "string" || value === "" || value.length > 2 * NICK_MAX_LENGTH) {
    return false;
  }
  return codePoints(value) <= NICK_MAX_LENGTH && !/[\s\p{Cc}\p{Cf}\p{Z}]/u.test(value);
}

function snapshot(f: Fields, value: unknown): RoomSnapshot {
  const room = f.object("rooms", value);
  const members = room.nicks("members");
  return {
    room: room.room("room"),
    topic: room.topic("topic"),
    members,
    ...count(room, members),
    ...room.verified(members),
  };
}

/**
 * A room's member `count`, which a `welcome` or `joined` frame carries beside a first page of
 * its members. A server from before the field lists every member, so the list is the count.
 */
function count(f: Fields, members: readonly string[]): { count: number } {
  return { count: f.has("count") ? f.atLeast("count", members.length) : members.length };
}

/** Rebuilds a frame of a known type from its fields; throws {@linkcode Broken}. */
function rebuild(f: Fields, type: ServerFrame["type"]): ServerFrame {
  switch (type) {
    case "welcome": {
      const rooms = f.list("rooms");
      if (rooms.length > MAX_JOINED_ROOMS) {
        throw new Broken(`a "welcome" frame listing more rooms than one user may be in`);
      }
      const v = f.count("v");
      if (v !== PROTOCOL_VERSION) {
        throw new Broken(`a "welcome" frame for another protocol version`);
      }
      const limits = f.object("limits");
      const frame: WelcomeFrame = {
        type,
        v,
        nick: f.nick("nick"),
        server: f.text("server"),
        rooms: rooms.map((room) => snapshot(f, room)),
        limits: { maxFrame: limits.count("maxFrame"), maxUsers: limits.count("maxUsers") },
      };
      // The server's flood control, which the client paces itself by; absent from old servers.
      for (const name of ["rate", "burst", "rateBytes", "burstBytes"] as const) {
        if (limits.has(name)) frame.limits[name] = limits.positive(name);
      }
      if (f.has("account")) {
        const account = f.object("account");
        frame.account = { kind: account.kind("kind") };
        if (account.has("fingerprint")) frame.account.fingerprint = account.text("fingerprint");
      }
      return frame;
    }
    case "ack": {
      const to = f.has("to") ? { to: f.nick("to") } : {};
      // A direct message's ack has no room: "".
      const room = f.has("to") && f.text("room") === "" ? "" : f.room("room");
      return { type, id: f.count("id"), room, ts: f.time("ts"), ...f.ref(), ...to };
    }
    case "msg": {
      const frame: MessageFrame = {
        type,
        id: f.count("id"),
        room: f.room("room"),
        from: f.nick("from"),
        text: f.text("text"),
        ts: f.time("ts"),
      };
      if (f.flag("history")) frame.history = true;
      if (f.flag("action")) frame.action = true;
      return frame;
    }
    case "joined": {
      const members = f.nicks("members");
      return {
        type,
        room: f.room("room"),
        topic: f.topic("topic"),
        members,
        ...count(f, members),
        ...f.verified(members),
        ...f.marks(members),
        ...f.ref(),
      };
    }
    case "parted":
      return { type, room: f.room("room"), ...f.ref() };
    case "gap":
      return {
        type,
        room: f.room("room"),
        missed: f.count("missed"),
        ...(f.flag("live") ? { live: true as const } : {}),
      };
    case "topic":
      return {
        type,
        room: f.room("room"),
        topic: f.topic("topic"),
        // The server itself shows a topic with "by": "".
        by: f.text("by") === "" ? "" : f.nick("by"),
        ts: f.time("ts"),
        ...f.ref(),
      };
    case "nick":
      return { type, old: f.nick("old"), new: f.nick("new"), ts: f.time("ts"), ...f.ref() };
    case "dm": {
      const frame: DirectFrame = {
        type,
        id: f.count("id"),
        from: f.nick("from"),
        to: f.nick("to"),
        text: f.text("text"),
        ts: f.time("ts"),
      };
      if (f.flag("action")) frame.action = true;
      if (f.flag("notice")) frame.notice = true;
      if (f.flag("ctcp")) frame.ctcp = true;
      return frame;
    }
    case "info": {
      // A presence summary, and /history's end, name their room.
      const room = f.has("room") ? { room: f.room("room") } : {};
      // /history's end says whether older messages remain, and where to page back from.
      const more = f.has("more") ? { more: f.flag("more") } : {};
      const before = f.has("before") ? { before: f.count("before") } : {};
      return { type, text: f.text("text"), ...room, ...more, ...before, ...f.ref() };
    }
    case "rooms": {
      const rooms = f.list("rooms").map((value) => {
        const room = f.object("rooms", value);
        return {
          room: room.room("room"),
          members: room.count("members"),
          topic: room.topic("topic"),
        };
      });
      const more = f.has("more") ? { more: f.count("more") } : {};
      return { type, rooms, ...more, ...f.ref() };
    }
    case "who": {
      const members = f.nicks("members");
      return {
        type,
        room: f.room("room"),
        members,
        ...f.verified(members),
        ...f.marks(members),
        ...f.ref(),
      };
    }
    case "challenge":
      return { type, nonce: f.text("nonce") };
    case "ping":
      return { type, token: f.text("token") };
    case "join": {
      const frame: ServerFrame = {
        type,
        room: f.room("room"),
        nick: f.nick("nick"),
        ts: f.time("ts"),
      };
      if (f.flag("verified")) frame.verified = true;
      return frame;
    }
    case "leave": {
      const frame: ServerFrame = {
        type,
        room: f.room("room"),
        nick: f.nick("nick"),
        reason: f.reason("reason"),
        ts: f.time("ts"),
      };
      // The reason a quitter gave, when there is one (older servers send none).
      if (f.has("message")) frame.message = f.text("message");
      // A room kick names the room operator.
      if (f.has("by")) frame.by = f.nick("by");
      return frame;
    }
    case "mode":
      return {
        type,
        room: f.room("room"),
        by: f.nick("by"),
        changes: f.changes("changes"),
        args: f.modeArgs("args"),
        ts: f.time("ts"),
        ...f.ref(),
      };
    case "invite":
      return { type, room: f.room("room"), by: f.nick("by"), to: f.nick("to"), ts: f.time("ts") };
    // IRC's notices of others' state: the server sends none over NDJSON yet.
    case "away":
      return {
        type,
        nick: f.nick("nick"),
        message: f.absent("message") ? null : f.text("message"),
        ts: f.time("ts"),
      };
    case "account":
      return {
        type,
        nick: f.nick("nick"),
        account: f.absent("account") ? null : f.nick("account"),
        ts: f.time("ts"),
      };
    case "setname":
      return { type, nick: f.nick("nick"), realname: f.text("realname"), ts: f.time("ts") };
    case "error": {
      const frame: ErrorFrame = { type, code: f.code("code"), message: f.text("message") };
      if (f.flag("fatal")) frame.fatal = true;
      if (f.has("need")) frame.need = f.kind("need");
      return { ...frame, ...f.ref() };
    }
    case "bye":
      return { type, reason: f.reason("reason"), message: f.text("message") };
  }
}

/** Every frame type a server may send; the compiler checks that none is missing or extra. */
const SERVER_FRAME_TYPES: Record<ServerFrame["type"], true> = {
  welcome: true,
  ack: true,
  msg: true,
  joined: true,
  parted: true,
  gap: true,
  topic: true,
  nick: true,
  dm: true,
  info: true,
  rooms: true,
  who: true,
  ping: true,
  join: true,
  leave: true,
  error: true,
  bye: true,
  challenge: true,
  mode: true,
  invite: true,
  away: true,
  account: true,
  setname: true,
};

/**
 * Checks a parsed JSON value against the protocol. A valid frame comes back rebuilt from the
 * fields the protocol defines (unknown extra fields are dropped); an invalid one comes back
 * with a sentence saying what is wrong with it.
 *
 * @example
 * ```ts
 * parseServerFrame({ type: "info", text: "hi" }); // { ok: true, frame: { type: "info", text: "hi" } }
 * parseServerFrame({ type: "msg", text: 5 }).ok; // false
 * ```
 */
export function parseServerFrame(value: unknown): CheckedFrame {
  if (!isObject(value)) return { ok: false, problem: "a frame that is not a JSON object" };
  const type = value.type;
  if (typeof type !== "string" || !Object.hasOwn(SERVER_FRAME_TYPES, type)) {
    return { ok: false, problem: "a frame of no type the protocol knows" };
  }
  // Just checked: SERVER_FRAME_TYPES has exactly one key per frame type.
  const known = type as ServerFrame["type"];
  try {
    return { ok: true, frame: rebuild(new Fields(value, known), known) };
  } catch (error) {
    if (error instanceof Broken) return { ok: false, problem: error.message };
    throw error;
  }
}
