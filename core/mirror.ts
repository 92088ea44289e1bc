/**
 * Mirrors: the users other cluster nodes hold, as this node keeps them. A mirror is a
 * {@linkcode User} whose `node` is the node holding them and whose sink drops everything (that
 * node delivers to the person), so `/who`, `/whois`, `/rooms`, NAMES and nick checks see it
 * like anyone. Its changes come from the shared log, published by its node, and are applied
 * here through the same primitives a local change uses (`Rooms.enter`, presence, `Registry`),
 * so local members hear the same `join`, `leave` and `nick` notices. Applying never publishes:
 * only local changes are published. The owning node did every check (rooms' modes, bans, nick
 * rules); a mirror enters where it says.
 *
 * @module
 */

import type { LeaveReason } from "../protocol/frames.ts";
import { assertNever } from "../protocol/frames.ts";
import type { ClusterBus, ClusterEnvelope, UserCard } from "./cluster.ts";
import { displayNick } from "./nick.ts";
import type { PeerSink } from "./ports.ts";
import { tellAway, tellSharers } from "./presence.ts";
import { type Registry, userCard } from "./registry.ts";
import { type Room, roomKey } from "./room.ts";
import type { Rooms } from "./rooms.ts";
import { User } from "./user.ts";

/** Where a mirror's frames go: nowhere (its own node delivers to the person). */
const MIRROR_SINK: PeerSink = { deliver() {}, close() {} };

/** What applying other nodes' presence needs of the hub. */
export interface PresenceHost {
  /** Users (local and mirrors) and rooms. */
  registry: Registry;
  /** Membership, presence notices and topics. */
  rooms: Rooms;
  /** The clock, in milliseconds since the epoch. */
  now(): number;
  /** True if `user`'s words are heard in `room` (+m, +b): their away message goes there. */
  speaks(user: User, room: Room): boolean;
  /** True if `user` is muted (their away message is withheld). */
  isMuted(user: User): boolean;
  /**
   * Ends the session of a local user whose nick another node holds now (telling them
   * `message`): see {@linkcode takenMessage}.
   */
  evict(user: User, message: string): void;
  /** The snapshots under way, by the node sending each (kept by the hub, empty at first). */
  syncs: Map<string, PresenceSync>;
}

/** A snapshot another node is sending (between its `sync_begin` and `sync_end`). */
export interface PresenceSync {
  /** The snapshot's token. */
  token: string;
  /** That node's mirrors no hello has been heard for since `sync_begin`. */
  marked: Set<User>;
  /** The snapshot's own hellos heard (compared with `sync_end.count`). */
  hellos: number;
}

/**
 * This node's users as other nodes mirror them (its roster for a snapshot): read lazily, so a
 * user who leaves before being reached is skipped and one who arrives is included. Only users
 * already announced (their `hello` published) are in it.
 */
export function* localCards(registry: Registry): Iterable<UserCard> {
  for (const user of registry.users) {
    if (user.node === undefined && user.online && user.announced) yield userCard(user);
  }
}

/**
 * Why a local user is closed whose nick another node gave away: this node's claim lapsed (it
 * was cut off longer than the lease, or Redis restarted empty) and the other node's claim won.
 */
export function takenMessage(nick: string): string {
  return `While this server was cut off from the others, the nickname ${nick} was given to ` +
    "someone on another server. Reconnect with another nickname.";
}

/**
 * Applies a presence event another node published (`env.node`): hello, bye, join, part,
 * nick, user, topic, node_lost and node_up; the other kinds are moderation's and ignored here. Each is
 * idempotent: one about a user or room this node does not know, or applied twice, changes
 * nothing and throws nothing.
 *
 * @example
 * ```ts ignore
 * // In the hub's serial queue, for each event of the log from another node:
 * applyPresence(host, { node: "b", event: { t: "join", nick: "bob", room: "#rust" } });
 * ```
 */
export function applyPresence(host: PresenceHost, env: ClusterEnvelope): void {
  const { node, event } = env;
  const { registry, rooms } = host;
  switch (event.t) {
    case "hello": {
      hello(host, node, event.user);
      const sync = host.syncs.get(node);
      if (sync === undefined) return;
      const mirror = mirrorOf(registry, node, event.user.nick);
      if (mirror !== undefined) sync.marked.delete(mirror);
      if (event.sync === sync.token) sync.hellos++;
      return;
    }
    case "bye": {
      const mirror = mirrorOf(registry, node, event.nick);
      if (mirror !== undefined) goodbye(rooms, mirror, event.reason, event.message);
      return;
    }
    case "join": {
      const mirror = mirrorOf(registry, node, event.nick);
      const room = mirror === undefined ? null : registry.roomFor(event.room);
      if (mirror !== undefined && room !== null && !room.members.has(mirror)) {
        rooms.enter(mirror, room);
      }
      return;
    }
    case "part": {
      // A kick may come from any node's room operator, about a user of any node (ours too).
      const user = event.reason === "kicked_room"
        ? registry.user(event.nick)
        : mirrorOf(registry, node, event.nick);
      const room = registry.room(event.room);
      if (user !== undefined && room !== undefined) {
        rooms.leaveAs(user, room, event.reason, event.message, event.by);
      }
      return;
    }
    case "nick":
      return renamed(host, node, event.from, event.to);
    case "user": {
      const mirror = mirrorOf(registry, node, event.user.nick);
      if (mirror !== undefined) update(host, mirror, event.user, true);
      return;
    }
    case "topic":
      return rooms.topicFrom(event.room, event.topic, event.by, event.ts);
    case "node_lost":
      host.syncs.delete(event.node);
      return lost(rooms, registry, event.node);
    case "node_up":
      // A restarted node's old users are gone; the node knows nobody yet: tell it ours, as a
      // snapshot the bus writes in chunks (never one event per user at once: finding 8).
      host.syncs.delete(event.node);
      lost(rooms, registry, event.node);
      registry.cluster?.sync();
      return;
    case "sync_begin": {
      const marked = new Set<User>();
      for (const user of registry.users) {
        if (user.node === node) marked.add(user);
      }
      host.syncs.set(node, { token: event.token, marked, hellos: 0 });
      return;
    }
    case "sync_end": {
      const sync = host.syncs.get(node);
      if (sync === undefined || sync.token !== event.token) return;
      host.syncs.delete(node);
      // Some of the snapshot was missed (a log gap): removing would drop live users.
      if (sync.hellos !== event.count) return;
      for (const mirror of sync.marked) {
        // Left while their events were lost: whether they quit or dropped is not known.
        if (mirror.online && mirror.node === node) goodbye(rooms, mirror, "quit", "");
      }
      return;
    }
    case "room":
    case "invite":
    case "kill":
    case "record":
      // Moderation's (core/cluster_moderation.ts).
      return;
    default:
      assertNever(event);
  }
}

/** Every mirror of `node` leaves (`node_lost`): their rooms are told, their nicks free here. */
function lost(rooms: Rooms, registry: Registry, node: string): void {
  for (const user of [...registry.users]) {
    // Only ever mirrors: a node_lost without a node must not match every local user.
    if (user.node !== undefined && user.node === node) goodbye(rooms, user, "node_lost", "");
  }
}

/** The mirror of `node`'s user called `nick`, if this node has it. */
function mirrorOf(registry: Registry, node: string, nick: string): User | undefined {
  const user = registry.user(nick);
  return user?.node === node ? user : undefined;
}

/** A mirror leaves the server: off the registry (its nick free here), out of its rooms. */
function goodbye(rooms: Rooms, mirror: User, reason: LeaveReason, message: string): void {
  if (!mirror.online) return;
  rooms.depart(mirror, reason, message);
  rooms.leaveAll(mirror, reason, message);
}

/**
 * `node` says it holds `card.nick` (a login, or a node re-telling its users): the mirror is
 * made, or brought up to date, and put in the card's rooms (and out of those it left).
 */
function hello(host: PresenceHost, node: string, card: UserCard): void {
  const { registry, rooms } = host;
  let mirror = registry.user(card.nick);
  if (mirror !== undefined && mirror.node !== node) {
    // `node` claimed the nick just now, so whoever holds it here lost their claim: a user of
    // this node (cut off longer than the lease) is closed, as a re-join would close them; a
    // mirror belongs to a node whose loss this node has not applied yet.
    if (mirror.node === undefined) host.evict(mirror, takenMessage(mirror.nick));
    else goodbye(rooms, mirror, "node_lost", "");
    mirror = registry.user(card.nick);
    // Still held (an eviction that could not free it): the claims settle it at the re-join.
    if (mirror !== undefined) return;
  }
  if (mirror === undefined) {
    mirror = new User(displayNick(card.nick), MIRROR_SINK, card.address, node);
    registry.add(mirror);
    update(host, mirror, card, false);
  } else {
    if (mirror.nick !== card.nick) registry.rename(mirror, card.nick);
    update(host, mirror, card, true);
  }
  const wanted = new Set(card.rooms.map(roomKey));
  for (const room of [...mirror.rooms]) {
    if (!wanted.has(roomKey(room.name))) rooms.leaveAs(mirror, room, "part", "");
  }
  for (const name of card.rooms) {
    const room = registry.roomFor(name);
    if (room !== null && !room.members.has(mirror)) rooms.enter(mirror, room);
  }
}

/**
 * Copies a card's flags onto its mirror; with `tell`, those sharing a room with it hear what
 * changed as they would for a local user (away, account).
 */
function update(host: PresenceHost, mirror: User, card: UserCard, tell: boolean): void {
  const wasAway = mirror.away;
  const wasVerified = mirror.verified;
  mirror.ident = card.ident;
  mirror.verified = card.verified;
  mirror.operator = card.operator;
  mirror.away = card.away;
  mirror.since = card.since;
  mirror.lastActive = card.lastActive;
  if (!tell) return;
  const now = host.now();
  if (mirror.away !== wasAway) {
    mirror.awayNotified = null;
    const speaks = (room: Room) => host.speaks(mirror, room);
    tellAway(mirror, now, host.isMuted(mirror), speaks);
  }
  if (mirror.verified !== wasVerified) {
    const account = mirror.verified ? mirror.nick : null;
    tellSharers(mirror, { type: "account", nick: mirror.nick, account, ts: now });
  }
}

/** `node`'s user `from` is now `to`: those sharing a room with them are told. */
function renamed(host: PresenceHost, node: string, from: string, to: string): void {
  const { registry, rooms } = host;
  const mirror = mirrorOf(registry, node, from);
  if (mirror === undefined || mirror.nick === to) return;
  const holder = registry.user(to);
  if (holder !== undefined && holder !== mirror) {
    // `node` claimed it just now: its holder here lost their claim (see hello).
    if (holder.node === undefined) host.evict(holder, takenMessage(holder.nick));
    else goodbye(rooms, holder, "node_lost", "");
    if (registry.user(to) !== undefined) return;
  }
  const now = host.now();
  rooms.departures.record(mirror, now, mirror.nick);
  registry.rename(mirror, to);
  tellSharers(mirror, { type: "nick", old: from, new: mirror.nick, ts: now });
}

/** What re-joining the cluster needs of the hub. */
export interface RejoinHost {
  /** Users (local and mirrors). */
  registry: Registry;
  /** The cluster this node re-joins. */
  cluster: ClusterBus;
  /**
   * Ends the session of a local user whose nick another node gave away while this one was
   * cut off, telling them `message`.
   */
  close(user: User, message: string): void;
}

/**
 * This node was told its lease was lost (it was declared lost, or Redis restarted empty): the
 * other nodes have forgotten its users. Each local user's nick is claimed again; a user whose
 * nick another node gave away meanwhile is closed with a sentence saying so, and the others are
 * told again by a snapshot ({@linkcode ClusterBus.sync}, which the bus carries through later
 * outages). `taken`: folded nicks the engine found held by other nodes already. A nick that
 * cannot be checked now (the cluster unreachable again) is kept: the engine's heartbeat
 * re-takes it, or names it in the next re-join's `taken`.
 */
export async function rejoin(host: RejoinHost, taken: readonly string[] = []): Promise<void> {
  const { registry, cluster } = host;
  const local = [...registry.users].filter((user) => user.node === undefined);
  const lost = new Set(taken);
  const claims = await Promise.all(local.map(async (user) => {
    // The engine says so already: no round trip.
    if (lost.has(user.key)) return false;
    try {
      return await cluster.claimNick(user.key);
    } catch {
      return null;
    }
  }));
  for (const [i, user] of local.entries()) {
    if (user.online && claims[i] === false) host.close(user, takenMessage(user.nick));
  }
  cluster.sync();
}
