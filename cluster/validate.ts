/**
 * Shape checks for everything a node reads back from Redis: log batches and events, direct
 * messages from pub/sub, and room stream entries. Redis is shared, so one bad entry (a bug in
 * another version, an operator's `redis-cli XADD`, anything with write access) would otherwise
 * reach the hub of every node as if a peer had sent it: a `node_lost` without a node would
 * match every LOCAL user, a batch id of 1e300 would poison the shared id counter. Each check
 * takes the parsed JSON as `unknown` and returns it typed, or throws a {@linkcode BadEntry}
 * naming what is wrong: the caller skips the entry and logs that once, never applies it.
 *
 * Strings are held to the limits the rest of the server already keeps (nick and room name
 * lengths, topic, frame size), ids to safe integers not far above the counter.
 *
 * @module
 */

import type {
  ClusterEvent,
  CommittedBatch,
  LiveMessage,
  RecordChange,
  RoomState,
  UserCard,
} from "../core/cluster.ts";
import type { StoredMessage } from "../core/ports.ts";
import type { DirectFrame } from "../protocol/frames.ts";
import {
  AWAY_MAX_LENGTH,
  MAX_MAX_FRAME_BYTES,
  MAX_ROOM_BANS,
  MAX_ROOMS_PER_USER,
  NICK_MAX_LENGTH,
  ROOM_NAME_MAX_LENGTH,
  TOPIC_MAX_LENGTH,
} from "../config/limits.ts";
import { NODE_ID_MAX_LENGTH, NODE_ID_PATTERN } from "../config/server_config.ts";
import { ENTRY_FIELD_MAX_LENGTH, ENTRY_LIST_MAX, MAX_ID_JUMP } from "../config/cluster_limits.ts";

/** An entry read back from Redis that does not have the shape sockchat writes. */
export class BadEntry extends Error {
  /** `message` says which field is wrong, for the log. */
  constructor(message: string) {
    super(message);
    this.name = "BadEntry";
  }
}

type Json = Record<string, unknown>;

function fail(what: string): never {
  throw new BadEntry(what);
}

function object(value: unknown, what: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`${what} is not an object`);
  }
  return value as Json;
}

function text(value: unknown, what: string, max: number): string {
  if (typeof value !== "string") fail(`${what} is not a string`);
  // Length in UTF-16 units bounds code points from above: cheap, and never too strict.
  if (value.length > 2 * max) fail(`${what} is longer than ${max}`);
  return value;
}

function name(value: unknown, what: string, max: number): string {
  const s = text(value, what, max);
  // Code points are counted only when UTF-16 units could exceed them (on every logged message).
  if (s.length === 0 || (s.length > max && [...s].length > max)) {
    fail(`${what} is empty or longer than ${max}`);
  }
  return s;
}

const nick = (value: unknown, what = "nick") => name(value, what, NICK_MAX_LENGTH);
// A room name is its sigil and up to ROOM_NAME_MAX_LENGTH code points.
const room = (value: unknown, what = "room") => name(value, what, ROOM_NAME_MAX_LENGTH + 1);
const field = (value: unknown, what: string) => text(value, what, ENTRY_FIELD_MAX_LENGTH);

function optional<T>(value: unknown, check: (v: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(value);
}

function flag(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") fail(`${what} is not true or false`);
  return value;
}

function integer(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    fail(`${what} is not a whole number from 0 to 2^53`);
  }
  return value as number;
}

function list<T>(value: unknown, what: string, max: number, each: (v: unknown) => T): T[] {
  if (!Array.isArray(value)) fail(`${what} is not a list`);
  if (value.length > max) fail(`${what} has more than ${max} items`);
  return value.map(each);
}

/** True if `node` is a valid node id (`--node-id`'s rules). */
function isNodeId(node: unknown): node is string {
  return typeof node === "string" && node.length > 0 && node.length <= NODE_ID_MAX_LENGTH &&
    NODE_ID_PATTERN.test(node);
}

function nodeId(value: unknown, what = "node"): string {
  if (!isNodeId(value)) fail(`${what} is not a node id`);
  return value;
}

/**
 * A message id: a safe integer above 0 and at most {@linkcode MAX_ID_JUMP} above `ceiling`
 * (the highest id this node has seen), so one made-up id cannot push the shared counter out of
 * reach of every later message.
 */
function messageId(value: unknown, ceiling: number, what = "id"): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    fail(`${what} is not a whole number from 1 to 2^53`);
  }
  if ((value as number) > ceiling + MAX_ID_JUMP) {
    fail(`${what} ${value} is far above the newest id (${ceiling})`);
  }
  return value as number;
}

/** A stored message's fields (shared by batches and stream entries). */
function stored(value: unknown, ceiling: number): StoredMessage {
  const m = object(value, "message");
  const message: StoredMessage = {
    id: messageId(m.id, ceiling),
    room: room(m.room),
    from: nick(m.from, "from"),
    text: text(m.text, "text", MAX_MAX_FRAME_BYTES),
    ts: integer(m.ts, "ts"),
  };
  if (m.action !== undefined && flag(m.action, "action")) message.action = true;
  if (m.notice !== undefined && flag(m.notice, "notice")) message.notice = true;
  return message;
}

/**
 * A committed batch (a log `m` entry's `d`), parsed; its ids rising, each at most
 * {@linkcode MAX_ID_JUMP} above `ceiling`. Throws {@linkcode BadEntry}.
 */
export function readBatch(json: string, ceiling: number): CommittedBatch {
  const b = object(parse(json), "batch");
  const node = nodeId(b.node);
  const token = integer(b.token, "token");
  let last = 0;
  const messages = list(b.messages, "messages", ENTRY_LIST_MAX, (v): LiveMessage => {
    const message: LiveMessage = stored(v, ceiling);
    if (message.id <= last) fail("ids do not rise");
    last = message.id;
    const breaks = optional(
      (v as Json).breaks,
      (x) => list(x, "breaks", ENTRY_LIST_MAX, (n) => integer(n, "break")),
    );
    if (breaks !== undefined) message.breaks = breaks;
    return message;
  });
  if (messages.length === 0) fail("the batch has no messages");
  return { node, token, messages };
}

/**
 * A room stream entry's message (field `m`), or null when it is not one sockchat wrote: not
 * JSON, a wrong shape, or an id other than the entry's own (`<id>-0`, which bounds it: reads
 * stop at the node's watermark).
 */
export function readStored(
  json: string,
  entryId: string,
  ceiling = Number.MAX_SAFE_INTEGER,
): StoredMessage | null {
  try {
    const message = stored(parse(json), ceiling);
    return entryId === `${message.id}-0` ? message : null;
  } catch {
    return null;
  }
}

/** A direct message routed from another node (a `sc:dm:<node>` payload). Throws BadEntry. */
export function readDirect(json: string): { key: string; frame: DirectFrame } {
  const d = object(parse(json), "direct message");
  const key = nick(d.key, "key");
  const f = object(d.frame, "frame");
  if (f.type !== "dm") fail("frame is not a dm");
  const frame: DirectFrame = {
    type: "dm",
    // DM ids come from reserved blocks: unique, not ordered, never resumed.
    id: messageId(f.id, Number.MAX_SAFE_INTEGER - MAX_ID_JUMP),
    from: nick(f.from, "from"),
    to: nick(f.to, "to"),
    text: text(f.text, "text", MAX_MAX_FRAME_BYTES),
    ts: integer(f.ts, "ts"),
  };
  for (const key of ["action", "notice", "ctcp"] as const) {
    if (f[key] !== undefined && flag(f[key], key)) frame[key] = true;
  }
  const breaks = optional(
    f.breaks,
    (x) => list(x, "breaks", ENTRY_LIST_MAX, (n) => integer(n, "break")),
  );
  if (breaks !== undefined) frame.breaks = breaks;
  return { key, frame };
}

/** A log entry's node (`n`). Throws BadEntry. */
export function readNode(node: string | undefined): string {
  return nodeId(node, "the entry's node");
}

function card(value: unknown): UserCard {
  const u = object(value, "user");
  const away = u.away === null ? null : text(u.away, "away", AWAY_MAX_LENGTH);
  return {
    nick: nick(u.nick),
    address: field(u.address, "address"),
    ident: field(u.ident, "ident"),
    verified: flag(u.verified, "verified"),
    operator: flag(u.operator, "operator"),
    away,
    since: integer(u.since, "since"),
    lastActive: integer(u.lastActive, "lastActive"),
    rooms: list(u.rooms, "rooms", MAX_ROOMS_PER_USER, (r) => room(r)),
  };
}

function roomState(value: unknown): RoomState {
  const s = object(value, "state");
  const m = object(s.modes, "modes");
  flag(m.t, "mode t");
  flag(m.m, "mode m");
  flag(m.i, "mode i");
  if (m.key !== null) field(m.key, "mode key");
  if (m.limit !== null) integer(m.limit, "mode limit");
  list(m.bans, "bans", MAX_ROOM_BANS, (b) => field(object(b, "ban").mask, "ban mask"));
  list(s.ops, "ops", ENTRY_LIST_MAX, (n) => field(n, "op"));
  list(s.voices, "voices", ENTRY_LIST_MAX, (n) => field(n, "voice"));
  integer(s.created, "created");
  return s as unknown as RoomState;
}

function record(value: unknown): RecordChange {
  const c = object(value, "change");
  if (!["bans", "mutes", "accounts", "claims"].includes(c.table as string)) fail("unknown table");
  const byTarget = c.table === "bans" || c.table === "mutes";
  if (c.op === "delete") {
    if (byTarget) {
      if (c.kind !== "nick" && c.kind !== "address") fail("unknown kind");
      field(c.target, "target");
    } else field(c.key, "key");
  } else if (c.op === "save") {
    const r = object(c.record, "record");
    if (byTarget) {
      if (r.kind !== "nick" && r.kind !== "address") fail("unknown kind");
      field(r.target, "target");
      integer(r.until, "until");
      field(r.by, "by");
      if (c.table === "bans") field(r.reason, "reason");
    } else if (c.table === "accounts") {
      field(r.key, "key");
      nick(r.nick);
      if (r.kind !== "key" && r.kind !== "password") fail("unknown account kind");
    } else {
      field(r.roomKey, "roomKey");
      room(r.room);
      field(r.owner, "owner");
      roomState({ modes: r.modes, ops: r.ops, voices: [], created: 0 });
    }
  } else fail("unknown op");
  return c as unknown as RecordChange;
}

const reason = (v: unknown) => field(v, "reason");
const words = (v: unknown) => text(v, "message", MAX_MAX_FRAME_BYTES);
const by = (v: unknown) => optional(v, (x) => field(x, "by"));

/**
 * One check per event type. Typed by `ClusterEvent["t"]`: a new event type does not compile
 * until it has its check here (unknown types are refused, never passed on unchecked).
 */
const EVENT_CHECKS:
  & { [T in ClusterEvent["t"]]: (e: Json) => void }
  & Record<
    string,
    (e: Json) => void
  > = {
    hello: (e) => (card(e.user), optional(e.sync, (v) => field(v, "sync"))),
    user: (e) => card(e.user),
    bye: (e) => (nick(e.nick), reason(e.reason), words(e.message)),
    join: (e) => (nick(e.nick), room(e.room)),
    part: (e) => (nick(e.nick), room(e.room), reason(e.reason), words(e.message), by(e.by)),
    nick: (e) => (nick(e.from, "from"), nick(e.to, "to")),
    topic: (
      e,
    ) => (room(e.room),
      text(e.topic, "topic", TOPIC_MAX_LENGTH),
      field(e.by, "by"),
      integer(e.ts, "ts")),
    room: (e) => (room(e.room), roomState(e.state), by(e.by)),
    invite: (e) => (room(e.room), nick(e.nick), field(e.by, "by")),
    kill: (e) => (nick(e.nick), reason(e.reason), words(e.message), field(e.by, "by")),
    record: (e) => record(e.change),
    node_lost: (e) => nodeId(e.node),
    node_up: (e) => nodeId(e.node),
    sync_begin: (e) => field(e.token, "token"),
    sync_end: (e) => (field(e.token, "token"), integer(e.count, "count")),
  };

/**
 * Another node's event (a log `e` entry's `d`), parsed and checked field by field for its
 * type. Throws {@linkcode BadEntry}.
 */
export function readEvent(json: string): ClusterEvent {
  const e = object(parse(json), "event");
  const check = typeof e.t === "string" && Object.hasOwn(EVENT_CHECKS, e.t)
    ? EVENT_CHECKS[e.t]
    : undefined;
  if (check === undefined) fail(`unknown event type ${JSON.stringify(String(e.t)).slice(0, 40)}`);
  check(e);
  return e as unknown as ClusterEvent;
}

function parse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return fail("it is not JSON");
  }
}

/**
 * A log entry's number (`s`), or `expected` when it is not a whole number: a made-up number
 * must not make every later entry look like a gap.
 */
export function readSeq(raw: string | undefined, expected: number): number {
  const seq = Number(raw);
  return raw !== undefined && Number.isSafeInteger(seq) && seq > 0 ? seq : expected;
}
