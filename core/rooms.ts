/**
 * Membership: joining and leaving rooms, who hears of it (through presence coalescing), topics,
 * /history, and leaving the server. Rooms are looked up and made in the registry; history is
 * read through the {@linkcode HistoryReader}.
 *
 * @module
 */

import { type Awaitable, then } from "./awaitable.ts";
import {
  MAX_ROOMS,
  MAX_ROOMS_PER_USER,
  MEMBERS_FIRST_PAGE,
  TOPIC_MAX_LENGTH,
} from "../config/limits.ts";
import { type LeaveReason, LOBBY, type ServerFrame } from "../protocol/frames.ts";
import { sanitizeMessageText } from "../security/unicode.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import { broadcast, reply, send } from "./deliver.ts";
import type { Moderator } from "./moderator.ts";
import type { HistoryStore } from "./ports.ts";
import { Departures } from "./departures.ts";
import { Presence, type PresenceNotice } from "./presence.ts";
import type { Registry } from "./registry.ts";
import type { HistoryReader, HistoryRequest, Replayed } from "./replay.ts";
import { type Room, roomProblem } from "./room.ts";
import type { RoomDesk, RoomRefusal } from "./room_desk.ts";
import { type ResumeGrant, ResumeKeys } from "./resume_keys.ts";
import { modeString } from "./room_modes.ts";
import { outcomeUnknown } from "./relay.ts";
import { shown } from "./text.ts";
import type { User } from "./user.ts";

/** Settings for {@linkcode Rooms}. */
export interface RoomsOptions {
  /** Where rooms are looked up and made. */
  registry: Registry;
  /** Who comes and goes in silence, and who may not set topics. */
  moderation: Moderator;
  /** Where a room's history is replayed from on joining and for /history. */
  reader: HistoryReader;
  /** Where topics are saved. */
  store: Pick<HistoryStore, "setTopic">;
  /** The clock, in milliseconds since the epoch. */
  now: () => number;
  /** Messages replayed on joining a room. */
  historyReplay: number;
  /** Room modes, operators and claims. */
  desk: RoomDesk;
  /**
   * When the account holding `nick` was registered (`AccountRecord.created`), or null when none
   * does: resume passes are tied to the registration they were made under.
   * @default no accounts
   */
  registeredAt?: (nick: string) => number | null;
}

/**
 * Who is in which room. Joins and leaves are told to the room through {@linkcode Presence},
 * so a burst of them is coalesced; quiet rooms are forgotten.
 *
 * @example
 * ```ts
 * import { BanList } from "./moderation.ts";
 * import { Moderator } from "./moderator.ts";
 * import { Registry } from "./registry.ts";
 * import { HistoryReader } from "./replay.ts";
 * import { RoomClaims } from "./room_claims.ts";
 * import { RoomDesk } from "./room_desk.ts";
 * import { User } from "./user.ts";
 * import { MemoryClaims } from "../store/memory/claims.ts";
 * import { MemoryHistory } from "../store/memory/history.ts";
 * const store = new MemoryHistory();
 * const registry = new Registry(store);
 * const host = { now: Date.now, users: [] as User[], flush() {}, logout() {} };
 * const moderation = new Moderator(host, {
 *   bans: new BanList(store.moderation),
 *   operSecret: null,
 *   audit: () => {},
 * });
 * const reader = new HistoryReader({
 *   store,
 *   reads: { available: () => Infinity, charge: () => {} },
 *   frameBytes: (out) => JSON.stringify(out.frame).length + 1,
 *   replayBudgetBytes: 1 << 18,
 * });
 * const desk = new RoomDesk({
 *   registry,
 *   claims: new RoomClaims(new MemoryClaims()),
 *   now: Date.now,
 *   audit: () => {},
 * });
 * const rooms = new Rooms({
 *   registry,
 *   moderation,
 *   reader,
 *   store,
 *   now: Date.now,
 *   historyReplay: 50,
 *   desk,
 * });
 * const alice = new User("alice", { deliver() {}, close() {} });
 * rooms.join(alice, "#rust"); // the room is made, alice gets `joined` and its history
 * ```
 */
export class Rooms {
  readonly #options: RoomsOptions;
  readonly #registry: Registry;
  readonly #presence = new Presence();
  /** Who left the server lately (IRC `WHOWAS`). */
  readonly departures: Departures = new Departures();
  /** Keys of +k rooms that members left the server from, for their resume. */
  readonly #resumeKeys = new ResumeKeys();

  /** Membership over `options.registry`, with presence state for no room yet. */
  constructor(options: RoomsOptions) {
    this.#options = options;
    this.#registry = options.registry;
  }

  /**
   * Puts `user` in a room, creating it if needed, and replays its recent history (unless their
   * sink asks for none: `PeerSink.replaysOnJoin`). A room with modes may refuse them (+i, +k
   * unless `key` is right, +l, +b).
   */
  join(user: User, name: string, ref?: string, key?: string): Awaitable<Room | null> {
    const problem = roomProblem(name);
    if (problem !== null) {
      reply(user, "room_invalid", problem, ref);
      return null;
    }
    const existing = this.#registry.room(name);
    if (existing !== undefined && user.rooms.has(existing)) {
      send(user, joinedFrame(existing, user, ref));
      return existing;
    }
    if (user.rooms.size >= MAX_ROOMS_PER_USER) {
      reply(user, "too_many_rooms", `You may be in at most ${MAX_ROOMS_PER_USER} rooms.`, ref);
      return null;
    }
    const room = this.#registry.roomFor(name);
    if (room === null) {
      reply(user, "too_many_rooms", `The server already has ${MAX_ROOMS} rooms.`, ref);
      return null;
    }
    if (!this.admits(user, room, key, ref)) return null;
    return then(this.#registry.loaded([room]), () => {
      this.enter(user, room);
      send(user, joinedFrame(room, user, ref));
      // A reader that asks for history itself (IRC draft/chathistory) gets no replay: nothing
      // is read, and its address's history allowance is not charged for it.
      if (user.sink.replaysOnJoin === false) return room;
      return then(this.#options.reader.recent(user, room, this.#options.historyReplay), () => room);
    });
  }

  /** Takes `user` out of a room, telling its members (and `message`, their words, if any). */
  part(user: User, name: string, ref?: string, message = ""): boolean {
    const room = this.#registry.room(name);
    if (room === undefined || !user.rooms.has(room)) {
      reply(user, "not_in_room", `You are not in ${shown(name)}.`, ref);
      return false;
    }
    this.#leave(user, room, "part", message);
    send(user, { type: "parted", room: room.name, ref });
    return true;
  }

  /**
   * Replays the last `request.count` messages of a room (older than `request.before`, if given)
   * to `user`, as many as fit the replay budget and the address's history allowance, less those
   * from people they ignore; returns what was shown, hidden and left, or null if the allowance
   * is spent.
   */
  history(
    user: User,
    room: Room,
    request: HistoryRequest,
    ref?: string,
  ): Awaitable<Replayed | null> {
    if (this.#options.reader.readable(user) <= 0) {
      reply(
        user,
        "rate_limited",
        "Your address has read a lot of history just now; try again in a few seconds.",
        ref,
      );
      return null;
    }
    return this.#options.reader.page(user, room, request);
  }

  /**
   * True if `user` may enter `room` (made by the registry, perhaps just now) with `key`; else
   * they are told why, and a room made for them alone is forgotten again. A resume's `grant`
   * lets its member past what they had passed (see core/resume_keys.ts).
   */
  admits(user: User, room: Room, key?: string, ref?: string, grant?: ResumeGrant): boolean {
    const desk = this.#options.desk;
    desk.prepare(room);
    if (desk.admit(user, room, key, ref, grant)) return true;
    this.#registry.forgetIfEmpty(room);
    return false;
  }

  /**
   * Why `user` may not enter `room` (made by the registry, perhaps just now) with `key`, or
   * null; nobody is told and no invitation is used (see `RoomDesk.refusal`). A room made for
   * them alone is forgotten again when they may not enter it.
   */
  refusal(user: User, room: Room, key?: string, grant?: ResumeGrant): RoomRefusal | null {
    const desk = this.#options.desk;
    desk.prepare(room);
    const refusal = desk.refusal(user, room, key, grant);
    if (refusal !== null) this.#registry.forgetIfEmpty(room);
    return refusal;
  }

  /**
   * What `user` may pass again resuming `room` (its key, +i, +l) as they had when they left
   * the server from it (see core/resume_keys.ts: the same account, or a guest's seat), used once.
   */
  resumePass(user: User, room: Room): ResumeGrant | undefined {
    const registered = this.#options.registeredAt?.(user.nick) ?? null;
    return this.#resumeKeys.take(user, room, this.#options.now(), registered);
  }

  /**
   * Takes `target` out of `room` for `by`, a room operator (else `not_room_operator`): the room
   * and `target` see a `leave` with reason `kicked_room`, `by` and the reason. False if refused.
   */
  kick(by: User, room: Room, nick: string, reason: string, ref?: string): boolean {
    if (!this.#options.desk.isOp(by, room)) {
      reply(by, "not_room_operator", `Only operators of ${room.name} kick from it.`, ref);
      return false;
    }
    const target = this.#registry.user(nick);
    if (target === undefined || !room.members.has(target)) {
      reply(by, "user_not_in_room", `${shown(nick)} is not in ${room.name}.`, ref);
      return false;
    }
    const frame: ServerFrame = {
      type: "leave",
      room: room.name,
      nick: target.nick,
      reason: "kicked_room",
      ...(reason === "" ? {} : { message: reason }),
      by: by.nick,
      ts: this.#options.now(),
    };
    // Not through presence: a kick is told at once and to the one kicked too, whom the room
    // then no longer holds.
    broadcast(room, frame);
    if (!room.members.has(by)) send(by, frame);
    this.#remove(target, room);
    // Whichever node holds them: the operator's node tells the cluster.
    const told = { nick: target.nick, room: room.name, reason: "kicked_room" as const };
    this.#registry.publish(by, { t: "part", ...told, message: reason, by: by.nick });
    // The command's one answer with its ref (the leave above is the room's news).
    const text = `* Kicked ${target.nick} from ${room.name}.`;
    send(by, { type: "info", text, room: room.name, ref });
    return true;
  }

  /** Sets a room's topic, saves it, and tells the room. */
  setTopic(user: User, room: Room, topic: string, ref?: string): Awaitable<void> {
    if (this.#options.moderation.muted(user, ref)) return;
    if (!this.#options.desk.mayTopic(user, room, ref)) return;
    topic = sanitizeMessageText(topic).replaceAll("\n", " ").trim();
    if ([...topic].length > TOPIC_MAX_LENGTH) {
      const problem = `A topic may have at most ${TOPIC_MAX_LENGTH} characters.`;
      reply(user, "bad_command", problem, ref);
      return;
    }
    const failed = (error: unknown) => {
      const cause = (error as Error).message;
      // A topic whose save timed out may be saved: setting it again is harmless.
      const why = outcomeUnknown(error)
        ? `The topic could not be confirmed (${cause}): it may have been saved. Set it again ` +
          "to be sure."
        : `That could not be saved (${cause}).`;
      reply(user, "store_failed", why, ref);
    };
    const saved = () => {
      room.topic = topic;
      const ts = this.#options.now();
      room.topicBy = topic === "" ? "" : user.nick;
      room.topicAt = ts;
      const frame: ServerFrame = { type: "topic", room: room.name, topic, by: user.nick, ts };
      // Those who ignore the setter do not get its text: a topic is 300 characters of free text.
      broadcast(room, frame, user, user);
      send(user, { ...frame, ref });
      this.#registry.publish(user, { t: "topic", room: room.name, topic, by: user.nick, ts });
    };
    try {
      const write = this.#options.store.setTopic(room.name, topic);
      if (write instanceof Promise) return write.then(saved, failed);
    } catch (error) {
      return failed(error);
    }
    saved();
  }

  /**
   * A topic another node set (it was saved there): the room, if this node has it, shows it and
   * its members hear it (not those who ignore the setter, as for a local one).
   */
  topicFrom(name: string, topic: string, by: string, ts: number): void {
    const room = this.#registry.room(name);
    if (room === undefined) return;
    room.topic = topic;
    room.topicBy = topic === "" ? "" : by;
    room.topicAt = ts;
    const frame: ServerFrame = { type: "topic", room: room.name, topic, by, ts };
    broadcast(room, frame, undefined, this.#registry.user(by));
  }

  /**
   * Takes `user` (a mirror, or a local user kicked on another node) out of `room` as another
   * node told: a `kicked_room` is told at once, to the one kicked too, as a kick here is; any
   * other leave goes through presence as a local one does. Nothing if they are not in it.
   */
  leaveAs(user: User, room: Room, reason: LeaveReason, message: string, by?: string): void {
    if (!room.members.has(user)) return;
    if (reason !== "kicked_room") return this.#leave(user, room, reason, message, false);
    const frame: ServerFrame = {
      type: "leave",
      room: room.name,
      nick: user.nick,
      reason,
      ...(message === "" ? {} : { message }),
      ...(by === undefined ? {} : { by }),
      ts: this.#options.now(),
    };
    broadcast(room, frame);
    this.#remove(user, room);
  }

  /**
   * Puts `user` in `room` (made already) and tells its members, unless `user` is muted. A local
   * user's join is published to the cluster (once their login is: see `Registry.announce`).
   */
  enter(user: User, room: Room): void {
    room.members.add(user);
    user.rooms.add(room);
    this.#registry.publish(user, { t: "join", nick: user.nick, room: room.name });
    this.#options.desk.entered(user, room);
    // A muted user comes and goes in silence: joins and parts would be a way to keep talking.
    if (this.#options.moderation.isMuted(user)) return;
    tell(this.#presence.joined(room, user, this.#options.now()));
  }

  /** Removes a user from every room and from the server, telling the rooms why. Idempotent. */
  logout(user: User, reason: LeaveReason): void {
    if (!user.online) return;
    this.depart(user, reason);
    this.leaveAll(user, reason);
  }

  /**
   * The first half of a logout: the user is offline and their nick free from now on, but they
   * stay in their rooms (hearing nothing) until {@linkcode Rooms.leaveAll}, so that the rooms
   * hear of it in order with what was said before. The cluster hears it now (`bye`, for
   * `reason` and `message`): before anyone else here can take the nick, and so the nick's next
   * holder's `hello` never comes before it.
   */
  depart(user: User, reason: LeaveReason = "quit", message = ""): void {
    this.#registry.publish(user, { t: "bye", nick: user.nick, reason, message });
    user.online = false;
    this.departures.record(user, this.#options.now());
    this.#registry.remove(user);
    // Ignores that followed this person now hold the nick they leave with.
    for (const ignorer of user.ignoredBy) ignorer.ignores.wentAway(user);
    user.ignoredBy.clear();
    user.ignores.clear();
  }

  /**
   * The second half of a logout: takes a departed user out of every room, telling them why (and
   * `message`, the user's own words, if any).
   */
  leaveAll(user: User, reason: LeaveReason, message = ""): void {
    const now = this.#options.now();
    const local = user.node === undefined;
    const registered = local ? this.#options.registeredAt?.(user.nick) ?? null : null;
    for (const room of [...user.rooms]) {
      // A mirror resumes on its own node, which remembers its keys.
      if (local) this.#resumeKeys.remember(user, room, now, registered);
      this.#leave(user, room, reason, message, false);
    }
    // Given up only now: a login that took the nick meanwhile (a takeover) keeps the claim.
    if (local) this.#registry.releaseNick(user.key);
  }

  /** Tells the presence changes held back whose window has ended (see core/presence.ts). */
  tick(): void {
    if (this.#registry.closing) return;
    tell(this.#presence.due(this.#options.now()));
  }

  /** `publish`: tell the cluster (a part; a logout's `bye` says it for every room). */
  #leave(user: User, room: Room, reason: LeaveReason, message = "", publish = true): void {
    if (publish) {
      // Their node's words as given: each node applies +m and +b as it does here.
      const part = { nick: user.nick, room: room.name, reason, message };
      this.#registry.publish(user, { t: "part", ...part });
    }
    // Their words (PART, QUIT) are speech: not heard where they may not speak (+m, +b).
    if (message !== "" && !this.#options.desk.speaks(user, room)) message = "";
    room.members.delete(user);
    user.rooms.delete(room);
    // Moderation is told even for a muted user; their own comings and goings are not.
    const moderated = reason === "kicked" || reason === "banned";
    if (!this.#registry.closing && (moderated || !this.#options.moderation.isMuted(user))) {
      tell(this.#presence.left(room, user, reason, this.#options.now(), message));
    }
    this.#remove(user, room, false);
  }

  /**
   * Takes `user` out of `room` (the room was told already) and forgets what an empty room
   * need not keep: quiet rooms cost nothing. An unclaimed room forgets its topic, modes and
   * operators, as an IRC channel does; its history stays. A claimed one keeps them (its claim
   * and the store's topic bring them back).
   */
  #remove(user: User, room: Room, told = true): void {
    if (told) {
      room.members.delete(user);
      user.rooms.delete(room);
    }
    this.#options.desk.left(user, room);
    const empty = room.members.size === 0;
    // The lobby is never made anew, so nobody could set its topic again as its creator: it
    // keeps it (server operators set it, and may claim it).
    const forgets = room.claim === null && room.name !== LOBBY && room.topic !== "";
    if (empty && forgets && !this.#registry.closing) {
      room.topic = "";
      room.topicBy = "";
      try {
        const cleared = this.#options.store.setTopic(room.name, "");
        if (cleared instanceof Promise) cleared.catch(() => {});
      } catch {
        // A topic that could not be cleared shows again: nothing worse.
      }
    }
    if (this.#registry.forgetIfEmpty(room)) this.#presence.forget(room);
  }
}

/** The `joined` frame: the room, its topic, a first page of who is in it, and how many. */
function joinedFrame(room: Room, user: User, ref: string | undefined): ServerFrame {
  const page = memberPage(room, user);
  const marks = roomMarks(room, new Set(page.members));
  return { type: "joined", room: room.name, topic: room.topic, ...page, ...marks, ref };
}

/**
 * Who of a room's members is op and voiced, and its modes beyond `+n`, each absent when empty
 * (what `joined` and `who` add to their member lists). `listed` limits the marks to the nicks
 * shown; the modes never carry the key.
 */
export function roomMarks(
  room: Room,
  listed?: ReadonlySet<string>,
): { ops?: string[]; voiced?: string[]; modes?: string } {
  const pick = (users: Set<User>) =>
    [...users].map((u) => u.nick).filter((n) => listed === undefined || listed.has(n));
  const ops = pick(room.ops);
  const voiced = pick(room.voiced);
  const modes = modeString(room.modes);
  return {
    ...(ops.length > 0 ? { ops } : {}),
    ...(voiced.length > 0 ? { voiced } : {}),
    ...(modes !== "+n" ? { modes } : {}),
  };
}

/**
 * What a newcomer is told of a room's members: the first {@linkcode MEMBERS_FIRST_PAGE} (the
 * earliest to join, then `user` last, whether or not they are in `room.members` yet) and how
 * many there are in all, and which of them are verified (registered and proven). Costs a page,
 * not the room: a login storm stays O(n) bytes.
 */
export function memberPage(
  room: Room,
  user: User,
): { members: string[]; count: number; verified?: string[] } {
  const members: string[] = [];
  const verified: string[] = [];
  for (const member of room.members) {
    if (members.length >= MEMBERS_FIRST_PAGE - 1) break;
    if (member === user) continue;
    members.push(member.nick);
    if (member.verified) verified.push(member.nick);
  }
  members.push(user.nick);
  if (user.verified) verified.push(user.nick);
  const count = room.members.size + (room.members.has(user) ? 0 : 1);
  return verified.length === 0 ? { members, count } : { members, count, verified };
}

/**
 * Sends presence notices to their rooms. A leave in the leaver's own words goes without them to
 * those who ignore the leaver: they still learn who left, not what was said.
 */
function tell(notices: PresenceNotice[]): void {
  for (const { room, frame, except, words } of notices) {
    if (words === undefined) {
      broadcast(room, frame, except);
      continue;
    }
    broadcast(room, frame, except, words.from);
    let bare: Outgoing | undefined;
    for (const member of room.members) {
      if (member === except || member.ignores.isEmpty || !member.ignores.has(words.from)) continue;
      member.sink.deliver(bare ??= new Outgoing(words.without));
    }
  }
}
