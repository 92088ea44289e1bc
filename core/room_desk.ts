/**
 * Room operators and modes at work: who may enter a room ({@linkcode RoomDesk.admit}), speak
 * in it and set its topic, who is op on entering, and the acts of room operators: modes
 * (`/mode`, `/op`, `/voice`), invitations and claims. Server operators pass every room check.
 * Kicks are in rooms.ts, which owns leaving. The rules are pure in room_modes.ts; this desk
 * applies them to live rooms and tells the rooms.
 *
 * @module
 */

import {
  INVITE_TTL_MS,
  MAX_CLAIM_MEMBERS,
  MAX_PENDING_ROOM_STATES,
  MAX_ROOM_BANS,
  MAX_ROOM_INVITES,
  PENDING_ROOM_STATE_MS,
} from "../config/limits.ts";
import { type InviteFrame, LOBBY, type ServerFrame } from "../protocol/frames.ts";
import { broadcast, reply, send } from "./deliver.ts";
import { tellOperators } from "./presence.ts";
import type { Registry } from "./registry.ts";
import type { ResumeGrant } from "./resume_keys.ts";
import { type Room, roomKey } from "./room.ts";
import { forgetState, type RoomClaims } from "./room_claims.ts";
import {
  banMask,
  banMatches,
  banShown,
  keyProblem,
  type ModeChange,
  type ModeDone,
  modeLine,
  modeString,
  parseLimit,
  shownMask,
} from "./room_modes.ts";
import { cloakOf } from "./cloak.ts";
import type { RoomState } from "./cluster.ts";
import { applyRoomState, isMirror, roomStateOf } from "./cluster_moderation.ts";
import { shown } from "./text.ts";
import type { User } from "./user.ts";

/** Why a room turns someone away: the error's code, and the sentence for them. */
export interface RoomRefusal {
  /** What the refusal is, for programs. */
  code: "room_invite_only" | "room_bad_key" | "room_full" | "room_banned";
  /** What it is, for people. */
  why: string;
}

/** Settings for a {@linkcode RoomDesk}. */
export interface RoomDeskOptions {
  /** Where users are looked up by nick. */
  registry: Registry;
  /** Claimed rooms, written through to the store. */
  claims: RoomClaims;
  /** The clock, in milliseconds since the epoch. */
  now: () => number;
  /** Told of room operator acts, for the log. */
  audit: (event: string, fields: Record<string, string | number>) => void;
}

/**
 * Where a fresh room's state comes from (see {@linkcode RoomDesk.isFresh}): when the room was
 * made and by which node, the order in which two fresh copies of one room give way.
 */
interface FreshOrigin {
  /** When the room was made, ms since the epoch (the making node's clock). */
  created: number;
  /** The node that made it. */
  node: string;
}

/** Another node's state of a room this node has not made yet (see `RoomDesk.keep`). */
interface PendingState {
  /** The state. */
  state: RoomState;
  /** The node that published it. */
  node: string;
  /** As the event said. */
  fresh: boolean;
  /** Dropped after this, ms since the epoch. */
  until: number;
}

/** The accounts of another node's state a room ops or voices as they enter this node's copy. */
interface Roles {
  /** Folded nicks opped on entering. */
  ops: Set<string>;
  /** Folded nicks voiced on entering. */
  voices: Set<string>;
}

/** The account a user speaks for: their folded nick once proven, else null (a guest). */
export function accountOf(user: User): string | null {
  return user.verified ? user.key : null;
}

/**
 * Applies room modes and operator status to live rooms.
 *
 * @example
 * ```ts
 * import { MemoryClaims } from "../store/memory/claims.ts";
 * import { MemoryHistory } from "../store/memory/history.ts";
 * import { Registry } from "./registry.ts";
 * import { RoomClaims } from "./room_claims.ts";
 * const desk = new RoomDesk({
 *   registry: new Registry(new MemoryHistory()),
 *   claims: new RoomClaims(new MemoryClaims()),
 *   now: Date.now,
 *   audit: () => {},
 * });
 * ```
 */
export class RoomDesk {
  readonly #options: RoomDeskOptions;
  /** Rooms changed here whose state is not published yet, with who changed them last. */
  readonly #changed = new Map<Room, string>();
  /**
   * Rooms whose state is only the default this node gave them when it made them (first member
   * op), not yet changed here nor confirmed by another node's state: they give way to any
   * state another node knows (core/cluster_moderation.ts).
   */
  readonly #fresh = new WeakMap<Room, FreshOrigin>();
  /** A round of every room's state is due (see {@linkcode RoomDesk.announceRooms}). */
  #announcing = false;
  /** Other nodes' states of rooms not made here yet, by room key, oldest first. */
  readonly #pending = new Map<string, PendingState>();
  /**
   * Who the last state taken from another node ops and voices, for members who enter this
   * node's copy after it (their `hello` came later): each is opped or voiced as they enter.
   */
  readonly #roles = new WeakMap<Room, Roles>();

  /** A desk over these rooms and claims. */
  constructor(options: RoomDeskOptions) {
    this.#options = options;
  }

  /** The claims (for /register #room and /unregister #room). */
  get claims(): RoomClaims {
    return this.#options.claims;
  }

  /** True if `user` acts as an operator of `room`: opped there, or a server operator. */
  isOp(user: User, room: Room): boolean {
    return user.operator || room.ops.has(user);
  }

  /** A room made anew (nobody in it) takes the state its claim kept, if it was claimed. */
  prepare(room: Room): void {
    if (room.members.size === 0 && room.claim === null) this.#options.claims.restore(room);
    // Kept until someone is in: a joiner it refuses leaves it for the next one.
    if (room.members.size === 0) this.#takePending(room, false);
  }

  /**
   * True if `user` may enter `room` now, with `key` if they gave one; else they are told why
   * (see {@linkcode RoomDesk.refusal}). An invitation is used up when it lets them in.
   */
  admit(
    user: User,
    room: Room,
    key: string | undefined,
    ref?: string,
    grant?: ResumeGrant,
  ): boolean {
    const refusal = this.refusal(user, room, key, grant);
    if (refusal !== null) {
      reply(user, refusal.code, refusal.why, ref);
      return false;
    }
    // Kept until it gets them in: a member's invitation refused by +k is still good with the key.
    if (!user.operator && !this.#claimOp(user, room)) room.invited.delete(user.key);
    return true;
  }

  /**
   * Why `user` may not enter `room` now with `key` (`room_invite_only`, `room_bad_key`,
   * `room_full`, `room_banned`), or null if they may; nobody is told and nothing is used up (a
   * login asks before its welcome, which lists only the rooms it enters). A server operator and
   * the claim's operators pass all four. A pending invitation from an operator lets them past
   * all four; one from a plain member only past +i, so a member cannot undo the operators'
   * bans, key or limit. A resume's `grant` (core/resume_keys.ts) lets its member past the +i and
   * +l they had passed before; its key is given as `key`.
   */
  refusal(
    user: User,
    room: Room,
    key: string | undefined,
    grant?: ResumeGrant,
  ): RoomRefusal | null {
    if (user.operator || this.#claimOp(user, room)) return null;
    let invitation = room.invited.get(user.key);
    if (invitation !== undefined && invitation.until <= this.#options.now()) {
      room.invited.delete(user.key);
      invitation = undefined;
    }
    if (invitation?.byOperator) return null;
    const { modes } = room;
    if (modes.i && invitation === undefined && grant?.invited !== true) {
      return {
        code: "room_invite_only",
        why: `${room.name} is invite-only (+i): ask an operator there to /invite you.`,
      };
    }
    if (modes.key !== null && key !== modes.key) {
      return {
        code: "room_bad_key",
        why: `${room.name} needs a key (+k): /join ${room.name} KEY${
          key === undefined ? "" : " (that key is wrong)"
        }.`,
      };
    }
    if (modes.limit !== null && room.members.size >= modes.limit && grant?.seat !== true) {
      return { code: "room_full", why: `${room.name} is full (+l ${modes.limit}).` };
    }
    if (this.#banned(user, room)) {
      return { code: "room_banned", why: `You are banned from ${room.name}.` };
    }
    return null;
  }

  /**
   * Makes `user`, who just entered `room`, op or voiced as the room says: the first into an
   * unclaimed room (not the lobby) is its operator; a claimed room ops and voices the accounts
   * its claim lists.
   */
  entered(user: User, room: Room): void {
    // A room made here for another node's user (their join, from the log) takes its claim's
    // state too, as one made for a local user does when it is admitted.
    if (isMirror(user) && room.members.size === 1 && room.claim === null) {
      this.#options.claims.restore(room);
    }
    // A local joiner's room took it in `prepare`.
    if (room.members.size === 1) this.#takePending(room, true);
    const roles = this.#roles.get(room);
    // Made here and known from nowhere else: this node may not have heard of the room's state
    // yet (it was cut off, it just started, or someone made it on another node at the same
    // time), so its default gives way to any state another node has.
    if (room.members.size === 1 && room.claim === null && roles === undefined) {
      this.#fresh.set(room, { created: room.created, node: this.#node });
    }
    const claim = room.claim;
    // Another node's state says who is op here (guests it opped too), not whoever came first.
    if (this.#claimOp(user, room) || roles?.ops.has(user.key)) room.ops.add(user);
    else if (
      roles?.voices.has(user.key) ||
      (claim !== null && accountOf(user) !== null && claim.voices.has(user.key))
    ) room.voiced.add(user);
    else if (
      claim === null && roles === undefined && room.members.size === 1 && room.name !== LOBBY
    ) room.ops.add(user);
    // Other nodes apply the same rule to their mirror, but may not hold the claim's state.
    if (!isMirror(user) && (room.ops.has(user) || room.voiced.has(user))) {
      this.#publish(room, user.nick);
    }
  }

  /**
   * Publishes `room`'s state (`room`) for the other nodes, once the event that changed it is
   * done: after the `join` that made someone op, and once for several changes together.
   */
  #publish(room: Room, by: string): void {
    const cluster = this.#options.registry.cluster;
    if (cluster === null) return;
    if (this.#changed.size === 0) {
      queueMicrotask(() => {
        for (const [changed, who] of this.#changed) {
          cluster.publish({ t: "room", room: changed.name, by: who, ...this.#stateOf(changed) });
        }
        this.#changed.clear();
      });
    }
    this.#changed.set(room, by);
  }

  /** `room`'s state as published, marked `fresh` while it is (with where it came from). */
  #stateOf(room: Room): { state: RoomState; fresh?: true } {
    const state = roomStateOf(room);
    const origin = this.#fresh.get(room);
    if (origin === undefined) return { state };
    return { state: { ...state, created: origin.created }, fresh: true };
  }

  /** This node's id in the cluster ("" on its own). */
  get #node(): string {
    return this.#options.registry.cluster?.node ?? "";
  }

  /**
   * True while `room`'s state is only the default this node gave it when it made it (see
   * {@linkcode RoomDesk.entered}): no change made here, no state taken from another node.
   */
  isFresh(room: Room): boolean {
    return this.#fresh.has(room);
  }

  /**
   * Whether `room` takes `state`, published by `node` (`fresh` as the event says), and notes
   * what taking it means. A state that is not fresh is always taken (the last change wins, as
   * before), and the room is no longer fresh here. A fresh one is taken only by a room fresh
   * here too that was made later (by creation time, then node id: every node orders two copies
   * the same way, so two nodes that made one room at once agree on whose default stands); any
   * other room keeps what it has, so a room made on a node that had not heard of it never
   * wipes the modes, bans and operators the others know.
   */
  takes(room: Room, state: RoomState, node: string, fresh: boolean): boolean {
    if (!fresh) {
      this.#fresh.delete(room);
    } else {
      const mine = this.#fresh.get(room);
      if (mine === undefined || !precedes(state.created, node, mine)) return false;
      this.#fresh.set(room, { created: state.created, node });
    }
    this.#roles.set(room, { ops: new Set(state.ops), voices: new Set(state.voices) });
    return true;
  }

  /**
   * Keeps `state` (published by `node`) of the room called `name`, which this node has not
   * made: it is taken when the room is made here (a `hello` or `join` of one of its members, or
   * a local joiner, whose admission it then decides). A state that is not fresh replaces any
   * kept; a fresh one replaces only an older-made fresh one. Kept PENDING_ROOM_STATE_MS at
   * most, MAX_PENDING_ROOM_STATES at once.
   */
  keep(name: string, state: RoomState, node: string, fresh: boolean): void {
    const key = roomKey(name);
    const now = this.#options.now();
    const held = this.#pending.get(key);
    if (held !== undefined && held.until > now && fresh) {
      if (!held.fresh) return;
      if (!precedes(state.created, node, { created: held.state.created, node: held.node })) return;
    }
    this.#pending.delete(key);
    for (const [old, { until }] of this.#pending) {
      if (until > now && this.#pending.size < MAX_PENDING_ROOM_STATES) break;
      this.#pending.delete(old);
    }
    this.#pending.set(key, { state, node, fresh, until: now + PENDING_ROOM_STATE_MS });
  }

  /**
   * Gives a room being made here the state another node published for it, if one is kept;
   * `consume` once its first member is in.
   */
  #takePending(room: Room, consume: boolean): void {
    const key = roomKey(room.name);
    const kept = this.#pending.get(key);
    if (kept === undefined) return;
    if (consume || kept.until <= this.#options.now()) this.#pending.delete(key);
    // Taken already (`prepare`, for the joiner now in), or too old.
    if (this.#roles.has(room) || kept.until <= this.#options.now()) return;
    // Nobody here yet: only the modes change, and nobody is told.
    applyRoomState(room, kept.state, "*", this.#options.now());
    this.#roles.set(room, { ops: new Set(kept.state.ops), voices: new Set(kept.state.voices) });
    if (kept.fresh) this.#fresh.set(room, { created: kept.state.created, node: kept.node });
  }

  /**
   * Publishes, once, the state of every room this node has members in or holds a claim on, so
   * a node that started (`node_up`) or came back after an outage learns the modes, key,
   * limit, bans, operators and voices it could not read from the log. Calls made before the
   * round goes out share it: at most one state per room per round. Each room says whether it
   * is fresh, so a room made while cut off still gives way when it comes back.
   */
  announceRooms(): void {
    const { registry } = this.#options;
    const cluster = registry.cluster;
    if (cluster === null || this.#announcing) return;
    this.#announcing = true;
    // After the `hello`s published in the same step: a receiver makes the rooms from them.
    queueMicrotask(() => {
      this.#announcing = false;
      for (const room of registry.rooms) {
        const held = room.claim !== null || [...room.members].some((m) => !isMirror(m));
        if (held) cluster.publish({ t: "room", room: room.name, ...this.#stateOf(room) });
      }
    });
  }

  /** `user` left `room`: drops their marks, and an emptied unclaimed room's modes. */
  left(user: User, room: Room): void {
    room.ops.delete(user);
    room.voiced.delete(user);
    this.#roles.get(room)?.ops.delete(user.key);
    this.#roles.get(room)?.voices.delete(user.key);
    if (room.members.size === 0) {
      this.#fresh.delete(room);
      this.#roles.delete(room);
    }
    if (room.members.size === 0 && room.claim === null) forgetState(room);
  }

  /**
   * True if `user` may speak in `room` now; else they are told why: `room_moderated` (+m) or
   * `room_banned` (a ban matching a member who is neither op nor voiced).
   */
  maySpeak(user: User, room: Room, ref?: string): boolean {
    if (this.isOp(user, room) || room.voiced.has(user)) return true;
    if (room.modes.m) {
      reply(
        user,
        "room_moderated",
        `${room.name} is moderated (+m): only voiced users and operators speak.`,
        ref,
      );
      return false;
    }
    if (room.modes.bans.length > 0 && this.#banned(user, room)) {
      reply(user, "room_banned", `You are banned from ${room.name} and may not speak there.`, ref);
      return false;
    }
    return true;
  }

  /**
   * True if `user` may speak in `room` now (as {@linkcode RoomDesk.maySpeak}), and nobody is
   * told: whether their other words there (a PART or QUIT message, a real name, an away message)
   * are heard, so none of those is a way around +m or +b.
   */
  speaks(user: User, room: Room): boolean {
    if (this.isOp(user, room) || room.voiced.has(user)) return true;
    return !room.modes.m && !(room.modes.bans.length > 0 && this.#banned(user, room));
  }

  /**
   * True if `user` may set `room`'s topic; else told why: `not_room_operator` (+t), or as
   * {@linkcode RoomDesk.maySpeak} says (a topic is words too: whoever may not speak in the room
   * may not set it, as on Charybdis).
   */
  mayTopic(user: User, room: Room, ref?: string): boolean {
    if (this.isOp(user, room)) return true;
    if (!room.modes.t) return this.maySpeak(user, room, ref);
    reply(user, "not_room_operator", `Only operators of ${room.name} set its topic (+t).`, ref);
    return false;
  }

  /** Shows `room`'s modes (with key and limit to members), or its bans for `+b`. */
  showModes(user: User, room: Room, ref?: string): void {
    const member = room.members.has(user) || user.operator;
    const text = `* ${room.name} modes: ${modeString(room.modes, member)}` +
      (room.claim === null ? "" : " (claimed)");
    send(user, { type: "info", text, room: room.name, ref });
  }

  /**
   * Applies mode changes from `user`, a room operator (else `not_room_operator`). Each change
   * that cannot apply is told and skipped (`user_not_in_room`, `bad_command`); those that do
   * are told to the room as one `mode` frame, and saved if the room is claimed. False if
   * refused outright.
   */
  setModes(user: User, room: Room, changes: readonly ModeChange[], ref?: string): boolean {
    const listing = changes.length > 0 &&
      changes.every((c) => c.letter === "b" && c.arg === undefined);
    if (listing) {
      const bans = room.modes.bans;
      const text = bans.length === 0
        ? `* ${room.name} has no bans.`
        : [`* Bans in ${room.name}:`, ...bans.map((b) => `*   ${shownMask(b)} by ${b.by}`)]
          .join("\n");
      send(user, { type: "info", text, room: room.name, ref });
      return true;
    }
    if (!this.isOp(user, room)) {
      reply(user, "not_room_operator", `Only operators of ${room.name} change its modes.`, ref);
      return false;
    }
    const done: ModeDone[] = [];
    const bad = (code: "bad_command" | "user_not_in_room", why: string) =>
      reply(user, code, why, ref);
    for (const change of changes) {
      const { add, letter, arg } = change;
      switch (letter) {
        case "n":
          break;
        case "t":
        case "m":
        case "i":
          if (room.modes[letter] !== add) {
            room.modes[letter] = add;
            done.push({ add, letter });
          }
          break;
        case "k":
          if (!add) {
            if (room.modes.key !== null) done.push({ add, letter, arg: "*" });
            room.modes.key = null;
          } else if (arg !== undefined) {
            const problem = keyProblem(arg);
            if (problem !== null) bad("bad_command", problem);
            else {
              room.modes.key = arg;
              done.push({ add, letter, arg });
            }
          }
          break;
        case "l":
          if (!add) {
            if (room.modes.limit !== null) done.push({ add, letter });
            room.modes.limit = null;
          } else if (arg !== undefined) {
            const limit = parseLimit(arg);
            if (typeof limit === "string") bad("bad_command", limit);
            else {
              room.modes.limit = limit;
              done.push({ add, letter, arg: String(limit) });
            }
          }
          break;
        case "o":
        case "v": {
          const target = arg === undefined ? undefined : this.#options.registry.user(arg);
          if (target === undefined || !room.members.has(target)) {
            bad("user_not_in_room", `${shown(arg ?? "")} is not in ${room.name}.`);
            break;
          }
          const set = letter === "o" ? room.ops : room.voiced;
          if (set.has(target) !== add) {
            if (add) set.add(target);
            else set.delete(target);
            done.push({ add, letter, arg: target.nick });
          }
          this.#rememberRole(room, target, letter, add);
          break;
        }
        case "b": {
          if (arg === undefined) break;
          const mask = banMask(arg);
          if (mask === null) {
            bad(
              "bad_command",
              `${
                shown(arg)
              } is not a ban mask: use a nick glob (bob*), nick!user@host, an address or block (203.0.113.0/24), or $a:ACCOUNT.`,
            );
            break;
          }
          const bans = room.modes.bans;
          const at = bans.findIndex((b) => b.mask === mask);
          if (add && at === -1) {
            if (bans.length >= MAX_ROOM_BANS) {
              bad("bad_command", `${room.name} has ${MAX_ROOM_BANS} bans already: -b one first.`);
              break;
            }
            // Kept folded to match and find by, shown as written (folded, `evil` reads `evll`).
            const written = banShown(arg) ?? mask;
            bans.push({ mask, shown: written, by: user.nick, at: this.#options.now() });
            done.push({ add, letter, arg: written });
          } else if (!add && at !== -1) {
            // Found by its folded form (`-b EVIL` lifts `+b evil`); the line shows the ban lifted.
            const [lifted] = bans.splice(at, 1);
            done.push({ add, letter, arg: shownMask(lifted) });
          }
          break;
        }
      }
    }
    if (done.length === 0) {
      // Still one answer with the ref: nothing had to change (or each change was refused).
      const text = `* ${room.name} modes: ${modeString(room.modes, true)} (unchanged)`;
      send(user, { type: "info", text, room: room.name, ref });
      return true;
    }
    const { changes: letters, args } = modeLine(done);
    this.#options.audit("room_mode", {
      room: room.name,
      by: user.nick,
      changes: `${letters} ${args.join(" ")}`.trim(),
    });
    this.#tell(user, room, {
      type: "mode",
      room: room.name,
      by: user.nick,
      changes: letters,
      args,
      ts: this.#options.now(),
    }, ref);
    this.#save(user, room, ref);
    // Changed here on purpose: other nodes take this state, whatever they had.
    this.#fresh.delete(room);
    this.#publish(room, user.nick);
    return true;
  }

  /**
   * Invites `nick` into `room`: `by` must be in it (an op when it is +i). The invitee is told
   * with an `invite` frame and may join once, within INVITE_TTL_MS: past +i, +k, +l and +b if
   * `by` is an operator there (or a server operator), else past +i only (see {@linkcode admit}).
   */
  invite(by: User, room: Room, nick: string, ref?: string): boolean {
    if (!room.members.has(by) && !by.operator) {
      reply(by, "not_in_room", `You are not in ${room.name}.`, ref);
      return false;
    }
    if (room.modes.i && !this.isOp(by, room)) {
      reply(
        by,
        "not_room_operator",
        `${room.name} is invite-only: only its operators invite.`,
        ref,
      );
      return false;
    }
    const target = this.#options.registry.user(nick);
    if (target === undefined) {
      reply(by, "no_such_user", `Nobody called ${shown(nick)} is here.`, ref);
      return false;
    }
    if (room.members.has(target)) {
      reply(by, "already_in_room", `${target.nick} is in ${room.name} already.`, ref);
      return false;
    }
    const now = this.#options.now();
    grantInvitation(room, target, this.isOp(by, room), now);
    const invite: InviteFrame = {
      type: "invite",
      room: room.name,
      by: by.nick,
      to: target.nick,
      ts: now,
    };
    send(target, invite);
    tellOperators(room, invite, by, target);
    // The node that holds them lets them in (and tells them, and its own operators).
    if (isMirror(target)) {
      const event = { t: "invite", room: room.name, nick: target.nick, by: by.nick } as const;
      this.#options.registry.cluster?.publish(event);
    }
    const text = `* Invited ${target.nick} to ${room.name}.`;
    send(by, { type: "info", text, room: room.name, ref });
    return true;
  }

  /**
   * `/register #room`: `user` (a verified account, opped there or a server operator) claims
   * `room`, which keeps its state while empty and across restarts.
   */
  claimRoom(user: User, room: Room, ref?: string): boolean {
    const account = accountOf(user);
    if (account === null) {
      reply(
        user,
        "not_registered",
        "Only a registered, proven nick can claim a room: /register first.",
        ref,
      );
      return false;
    }
    if (!this.isOp(user, room)) {
      reply(user, "not_room_operator", `Only an operator of ${room.name} can claim it.`, ref);
      return false;
    }
    let refusal;
    try {
      refusal = this.#options.claims.claim(room, account, this.#options.now());
    } catch (error) {
      return storeFailed(user, "The claim could not be saved", error, ref);
    }
    if (refusal !== null) {
      reply(user, refusal.code, refusal.problem, ref);
      return false;
    }
    // The operators present now stay operators, by account.
    for (const op of room.ops) this.#rememberRole(room, op, "o", true);
    for (const voiced of room.voiced) this.#rememberRole(room, voiced, "v", true);
    this.#save(user, room, ref);
    this.#fresh.delete(room);
    this.#options.audit("room_claimed", { room: room.name, by: user.nick });
    const text = `* ${room.name} is yours now: it keeps its topic, modes, bans and operators.`;
    send(user, { type: "info", text, room: room.name, ref });
    return true;
  }

  /** `/unregister #room`: its owner or a server operator releases the claim. */
  releaseRoom(user: User, name: string, room: Room | undefined, ref?: string): boolean {
    const record = this.#options.claims.get(name);
    if (record === undefined) {
      reply(user, "room_not_claimed", `${shown(name)} is not claimed.`, ref);
      return false;
    }
    if (!user.operator && accountOf(user) !== record.owner) {
      reply(
        user,
        "not_room_operator",
        `Only the owner of ${record.room} (or a server operator) can release it.`,
        ref,
      );
      return false;
    }
    try {
      this.#options.claims.release(name, room);
    } catch (error) {
      return storeFailed(user, "The claim could not be removed", error, ref);
    }
    this.#options.audit("room_released", { room: record.room, by: user.nick });
    send(user, {
      type: "info",
      text: `* ${record.room} is no longer claimed: it forgets its modes when empty.`,
      ref,
    });
    return true;
  }

  /**
   * True if a ban of `room` matches `user`: by nick, account, the ident and cloak every front
   * end's users show on IRC (`nick!~ident@cloak`, what an IRC client's /kb writes), or the real
   * address.
   */
  #banned(user: User, room: Room): boolean {
    const who = {
      nickKey: user.key,
      account: accountOf(user),
      address: user.address,
      ident: `~${user.ident}`,
      cloak: cloakOf(user.address),
    };
    return room.modes.bans.some((ban) => banMatches(ban.mask, who));
  }

  /** True if `user` is the owner or a listed operator of `room`'s claim, and proven. */
  #claimOp(user: User, room: Room): boolean {
    const claim = room.claim;
    const account = accountOf(user);
    return claim !== null && account !== null &&
      (claim.owner === account || claim.ops.has(account));
  }

  /** A claimed room remembers, by account, whom it opped or voiced. */
  #rememberRole(room: Room, target: User, letter: "o" | "v", add: boolean): void {
    const claim = room.claim;
    const account = accountOf(target);
    if (claim === null || account === null || account === claim.owner) return;
    const set = letter === "o" ? claim.ops : claim.voices;
    if (add && set.size < MAX_CLAIM_MEMBERS) set.add(account);
    else if (!add) set.delete(account);
  }

  /** Saves a claimed room's state; a failure is told to `user`. */
  #save(user: User, room: Room, ref?: string): void {
    if (room.claim === null) return;
    try {
      this.#options.claims.save(room);
    } catch (error) {
      reply(
        user,
        "store_failed",
        `${room.name}'s modes could not be saved (${
          (error as Error).message
        }); they hold until the server restarts.`,
        ref,
      );
    }
  }

  /** Tells the room a change; the one who made it gets it with their `ref`, in or out. */
  #tell(user: User, room: Room, frame: ServerFrame, ref?: string): void {
    broadcast(room, frame, user);
    send(user, { ...frame, ref } as ServerFrame);
  }
}

/**
 * True if a room made at `created` by `node` was made before the one `than` says (by creation
 * time, then node id): the order every node gives two fresh copies of one room.
 */
function precedes(created: number, node: string, than: FreshOrigin): boolean {
  return created < than.created || (created === than.created && node < than.node);
}

/**
 * Lets `target` into `room` once, within INVITE_TTL_MS: past +i, and past +k, +l and +b too when
 * `byOperator` (see {@linkcode RoomDesk.invite}). The oldest pending invitation gives way at
 * MAX_ROOM_INVITES.
 */
export function grantInvitation(room: Room, target: User, byOperator: boolean, now: number): void {
  for (const [key, { until }] of room.invited) if (until <= now) room.invited.delete(key);
  // The oldest invitation gives way: a Map iterates in insertion order.
  if (room.invited.size >= MAX_ROOM_INVITES) {
    room.invited.delete(room.invited.keys().next().value as string);
  }
  room.invited.delete(target.key);
  room.invited.set(target.key, { until: now + INVITE_TTL_MS, byOperator });
}

/** Tells `user` that the store failed (`what` did not happen); the command is not done. */
function storeFailed(user: User, what: string, error: unknown, ref?: string): false {
  reply(user, "store_failed", `${what} (${(error as Error).message}).`, ref);
  return false;
}
