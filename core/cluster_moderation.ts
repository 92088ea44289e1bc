/**
 * Moderation across a cluster (`serve --redis`): what a node does with the moderation changes
 * other nodes publish, and how it publishes its own. Each node applies its own change at once
 * and publishes it; the others apply it from the log ({@linkcode applyModeration}, called by
 * `Hub.applyRemote` for events of other nodes only); a mirror's changes are never published.
 *
 * Who publishes what:
 * - **Records** (bans, mutes, accounts, room claims): the shared tables publish a `record` on
 *   every save and delete ({@linkcode publishingModeration}, {@linkcode publishingAccounts} and
 *   {@linkcode publishingClaims} wrap any table so). Applying one changes memory only (the
 *   shared table holds it already) and enforces it here: a ban removes the matching users this
 *   node holds, a mute tells those it silences, an account released unmarks its holder.
 * - **Room state** (modes, operators, voices): `RoomDesk` publishes `room` after any change
 *   made here; applying it overwrites this node's copy and tells its members the difference as
 *   one `mode` line, as a change made here would. A room a node made itself for its first
 *   member (who is op there) is published `fresh`: that default never overrides a state
 *   another node has, and a fresh copy gives way to any state that is not (its operators
 *   follow the received lists, and its members are told), so a node that had not heard of a
 *   room (cut off, just started) cannot wipe its modes, bans and operators cluster-wide. A
 *   node that starts or comes back is sent every room's state again (`RoomDesk.announceRooms`).
 * - **Room kicks**: the kicking node puts its copy of the user out of the room at once and
 *   publishes `part` with `by` and reason `kicked_room`; every other node (the one holding the
 *   user included) applies it to its own copy with the same `leave` frame (core/rooms.ts,
 *   `Rooms.leaveAs`). A room kick is thus one event, not a request to the owning node: each
 *   node's members are told once, by their own node.
 * - **Invitations** of a user another node holds: `invite`; the holding node grants the pass
 *   and tells them; every node tells its own operators of the room.
 * - **Server kicks, kills and bans** of a user another node holds: the acting node logs its
 *   mirror out at once and publishes `kill`; the holding node ends the session with that reason
 *   and message, and publishes the `bye` as for any logout. A ban also comes as its `record`,
 *   so the holder removes its users even if the `kill` were lost; ending a session twice does
 *   nothing the second time.
 *
 * @module
 */

import type { ClusterBus, ClusterEvent, RecordChange, RoomState } from "./cluster.ts";
import type {
  AccountStore,
  AccountTable,
  Ban,
  BanStore,
  Mute,
  MuteStore,
  RecordTable,
} from "./ports.ts";
import type { Accounts } from "./accounts.ts";
import type { Moderator } from "./moderator.ts";
import type { Registry } from "./registry.ts";
import type { Room } from "./room.ts";
import type { ClaimStore, ClaimTable, RoomClaims } from "./room_claims.ts";
import { grantInvitation, type RoomDesk } from "./room_desk.ts";
import type { InviteFrame } from "../protocol/frames.ts";
import { type ModeDone, modeLine, shownMask } from "./room_modes.ts";
import { broadcast, send } from "./deliver.ts";
import { tellSharers } from "./presence.ts";
import { provenAccount } from "./identity.ts";
import type { User } from "./user.ts";

/** True if `user` is a mirror: held by another node of the cluster, which delivers to them. */
export function isMirror(user: User): boolean {
  return user.node !== undefined;
}

/** What other nodes copy of `room` after a change of its modes, operators or voices. */
export function roomStateOf(room: Room): RoomState {
  return {
    modes: { ...room.modes, bans: room.modes.bans.map((b) => ({ ...b })) },
    ops: [...room.ops].map((u) => u.key),
    voices: [...room.voiced].map((u) => u.key),
    created: room.created,
  };
}

/**
 * Overwrites `room`'s modes, operators and voices with `state` (another node's), and tells its
 * members what changed as one `mode` line from `by`, as a change made here is told. Operators
 * and voices apply to the members this node has (mirrors included); an unknown nick is skipped.
 * Returns what changed.
 */
export function applyRoomState(room: Room, state: RoomState, by: string, ts: number): ModeDone[] {
  const done: ModeDone[] = [];
  const old = room.modes;
  const next = state.modes;
  for (const letter of ["t", "m", "i"] as const) {
    if (old[letter] !== next[letter]) done.push({ add: next[letter], letter });
  }
  if (old.key !== next.key) {
    done.push(
      next.key === null ? { add: false, letter: "k", arg: "*" } : {
        add: true,
        letter: "k",
        arg: next.key,
      },
    );
  }
  if (old.limit !== next.limit) {
    done.push(
      next.limit === null
        ? { add: false, letter: "l" }
        : { add: true, letter: "l", arg: String(next.limit) },
    );
  }
  const masks = new Set(next.bans.map((b) => b.mask));
  const had = new Set(old.bans.map((b) => b.mask));
  for (const ban of old.bans) {
    if (!masks.has(ban.mask)) done.push({ add: false, letter: "b", arg: shownMask(ban) });
  }
  for (const ban of next.bans) {
    if (!had.has(ban.mask)) done.push({ add: true, letter: "b", arg: shownMask(ban) });
  }
  room.modes = { ...next, bans: next.bans.map((b) => ({ ...b })) };
  const ops = new Set(state.ops);
  const voices = new Set(state.voices);
  for (const member of room.members) {
    for (const [set, keys, letter] of [[room.ops, ops, "o"], [room.voiced, voices, "v"]] as const) {
      const want = keys.has(member.key);
      if (set.has(member) === want) continue;
      if (want) set.add(member);
      else set.delete(member);
      done.push({ add: want, letter, arg: member.nick });
    }
  }
  if (done.length > 0) {
    const { changes, args } = modeLine(done);
    broadcast(room, { type: "mode", room: room.name, by, changes, args, ts });
  }
  return done;
}

/** What {@linkcode applyModeration} works on: the hub's parts. */
export interface ModerationParts {
  /** Users (local and mirrors) and rooms. */
  registry: Registry;
  /** Bans, mutes and the ending of sessions. */
  moderation: Moderator;
  /** The registered nicks. */
  accounts: Accounts;
  /** Room modes, invitations and claims. */
  desk: RoomDesk;
  /** The clock, in milliseconds since the epoch. */
  now: () => number;
}

/** The moderation events: those `Hub.applyRemote` hands to {@linkcode applyModeration}. */
export type ModerationEvent = Extract<ClusterEvent, { t: "room" | "invite" | "kill" | "record" }>;

/** True for the events {@linkcode applyModeration} applies. */
export function isModerationEvent(event: ClusterEvent): event is ModerationEvent {
  return event.t === "room" || event.t === "invite" || event.t === "kill" || event.t === "record";
}

/**
 * Applies a moderation event node `from` published (see the module's notes). Idempotent, and
 * silent about users and rooms this node does not know, as every cluster event is.
 */
export function applyModeration(
  parts: ModerationParts,
  event: ModerationEvent,
  from: string,
): void {
  const { registry } = parts;
  switch (event.t) {
    case "room": {
      const room = registry.room(event.room);
      const fresh = event.fresh === true;
      // Not made here yet (its members' `hello`s come later): taken when it is.
      if (room === undefined) return parts.desk.keep(event.room, event.state, from, fresh);
      if (!parts.desk.takes(room, event.state, from, fresh)) return;
      applyRoomState(room, event.state, event.by ?? "*", parts.now());
      return;
    }
    case "invite": {
      const room = registry.room(event.room);
      if (room !== undefined) applyInvite(parts, room, event.nick, event.by);
      return;
    }
    case "kill": {
      const target = registry.user(event.nick);
      if (target === undefined || isMirror(target)) return;
      parts.moderation.end(event.by, target, event.reason, event.message);
      return;
    }
    case "record":
      return applyRecord(parts, event.change);
  }
}

/**
 * An invitation another node made: a user this node holds may join `room` once, as
 * `RoomDesk.invite` lets them, and is told; so are this node's operators of the room. `by` is
 * the inviter's nick (a mirror here, if still known).
 */
function applyInvite(parts: ModerationParts, room: Room, nick: string, by: string): void {
  const { registry, desk } = parts;
  const inviter = registry.user(by);
  const target = registry.user(nick);
  const ts = parts.now();
  const invite: InviteFrame = {
    type: "invite",
    room: room.name,
    by: inviter?.nick ?? by,
    to: target?.nick ?? nick,
    ts,
  };
  if (target !== undefined && !isMirror(target) && !room.members.has(target)) {
    grantInvitation(room, target, inviter !== undefined && desk.isOp(inviter, room), ts);
    send(target, invite);
  }
  const notify: InviteFrame = { ...invite, notify: true };
  for (const op of room.ops) {
    if (!isMirror(op) && op !== inviter && op !== target) send(op, notify);
  }
}

/** A ban, mute, account or claim another node saved or deleted, applied and enforced here. */
function applyRecord(parts: ModerationParts, change: RecordChange): void {
  const { moderation, registry } = parts;
  switch (change.table) {
    case "bans":
      return moderation.applyBan(
        change.op === "save"
          ? { ban: change.record }
          : { lifted: { kind: change.kind, target: change.target } },
      );
    case "mutes":
      return moderation.applyMute(
        change.op === "save"
          ? { mute: change.record }
          : { lifted: { kind: change.kind, target: change.target } },
      );
    case "accounts": {
      if (change.op === "save") {
        parts.accounts.applyRemote({ record: change.record });
        return;
      }
      const old = parts.accounts.applyRemote({ released: change.key });
      const holder = registry.user(change.key);
      // As /unregister here: whoever held it proven holds a plain nick now, and their rooms
      // see them log out of the account.
      if (old === undefined || holder === undefined || isMirror(holder) || !holder.verified) {
        return;
      }
      const was = provenAccount(holder);
      holder.verified = false;
      send(holder, {
        type: "info",
        text: `* ${old.nick} is no longer registered: anyone may use it now.`,
      });
      if (was !== null) {
        tellSharers(
          holder,
          { type: "account", nick: holder.nick, account: null, ts: parts.now() },
          true,
        );
      }
      return;
    }
    case "claims": {
      const claims: RoomClaims = parts.desk.claims;
      if (change.op === "save") {
        claims.applyRemote({ record: change.record }, registry.room(change.record.roomKey));
      } else {
        claims.applyRemote({ released: change.key }, registry.room(change.key));
      }
      return;
    }
  }
}

/**
 * A record table that publishes each save and delete as a `record` event, after it succeeded:
 * what the Redis tables do themselves, for any table (the in-memory cluster of tests).
 */
function publishing<T extends { kind: string; target: string }>(
  table: RecordTable<T>,
  save: (record: T) => RecordChange,
  drop: (kind: T["kind"], target: string) => RecordChange,
  bus: ClusterBus,
): RecordTable<T> {
  return {
    load: () => table.load(),
    save(record) {
      table.save(record);
      bus.publish({ t: "record", change: save(record) });
    },
    delete(kind, target) {
      table.delete(kind, target);
      bus.publish({ t: "record", change: drop(kind, target) });
    },
  };
}

/**
 * The bans and mutes of `store`, in tables that publish every change on `bus` as the Redis
 * tables do: so hubs linked by an in-memory bus share them.
 *
 * @example
 * ```ts
 * import { MemoryCluster } from "../store/memory/cluster.ts";
 * import { BanList } from "./moderation.ts";
 * const node = new MemoryCluster().node("a");
 * const moderation = publishingModeration(node.bus, node.store.moderation);
 * new BanList(moderation, { mutes: moderation });
 * ```
 */
export function publishingModeration(
  bus: ClusterBus,
  store: BanStore & MuteStore,
): BanStore & MuteStore {
  const bans = publishing<Ban>(
    store.bans,
    (record) => ({ table: "bans", op: "save", record }),
    (kind, target) => ({ table: "bans", op: "delete", kind, target }),
    bus,
  );
  const mutes = publishing<Mute>(
    store.mutes,
    (record) => ({ table: "mutes", op: "save", record }),
    (kind, target) => ({ table: "mutes", op: "delete", kind, target }),
    bus,
  );
  return { bans, mutes };
}

/** The accounts of `store`, in a table that publishes every change on `bus` (as above). */
export function publishingAccounts(bus: ClusterBus, store: AccountStore): AccountStore {
  const table = store.accounts;
  const accounts: AccountTable = {
    load: () => table.load(),
    save(record) {
      table.save(record);
      bus.publish({ t: "record", change: { table: "accounts", op: "save", record } });
    },
    delete(key) {
      table.delete(key);
      bus.publish({ t: "record", change: { table: "accounts", op: "delete", key } });
    },
  };
  return { accounts };
}

/** The room claims of `store`, in a table that publishes every change on `bus` (as above). */
export function publishingClaims(bus: ClusterBus, store: ClaimStore): ClaimStore {
  const table = store.claims;
  const claims: ClaimTable = {
    load: () => table.load(),
    save(record) {
      table.save(record);
      bus.publish({ t: "record", change: { table: "claims", op: "save", record } });
    },
    delete(key) {
      table.delete(key);
      bus.publish({ t: "record", change: { table: "claims", op: "delete", key } });
    },
  };
  return { claims };
}
