/**
 * Claimed rooms (`/register #room`): the {@linkcode ClaimTable} port the stores implement, and
 * {@linkcode RoomClaims}, which holds every claim in memory (read once at start) and writes each
 * change through, so a claimed room keeps its modes, bans and operators while empty and across
 * restarts. Its topic is kept by the history store, as every room's is.
 *
 * @module
 */

import { MAX_CLAIMED_ROOMS, MAX_CLAIMS_PER_ACCOUNT } from "../config/limits.ts";
import type { RoomClaim } from "./room.ts";
import { type Room, roomKey } from "./room.ts";
import { newModes, type RoomModes } from "./room_modes.ts";

/** A claim as a store keeps it. */
export interface ClaimRecord {
  /** The room's folded name (its key). */
  roomKey: string;
  /** The room's name as claimed. */
  room: string;
  /** The owning account's key. */
  owner: string;
  /** The room's modes, key, limit and bans. */
  modes: RoomModes;
  /** Accounts opped on joining. */
  ops: string[];
  /** Accounts voiced on joining. */
  voices: string[];
  /** When the room was made (its creation time when claimed), milliseconds since the epoch. */
  created: number;
}

/** The claims a store keeps. Writes throw a StoreError when the store fails. */
export interface ClaimTable {
  /** Every claim saved. */
  load(): ClaimRecord[];
  /** Saves a claim, replacing the one for the same room. */
  save(record: ClaimRecord): void;
  /** Removes the claim on this room key, if there is one. */
  delete(roomKey: string): void;
}

/** What room claims need of a store: its table of claims. */
export interface ClaimStore {
  /** Every claim, kept across restarts. */
  readonly claims: ClaimTable;
}

/** Why a claim was refused, as the error code and sentence the user is told. */
export type ClaimRefusal = { code: "room_claimed" | "bad_command"; problem: string };

/**
 * Every claim by room key, written through to a {@linkcode ClaimTable}.
 *
 * @example
 * ```ts
 * import { MemoryClaims } from "../store/memory/claims.ts";
 * import { Room } from "./room.ts";
 * const claims = new RoomClaims(new MemoryClaims());
 * const room = new Room("#rust");
 * claims.claim(room, "alice", Date.now()); // null: claimed
 * claims.restore(new Room("#Rust"))?.owner; // "alice"
 * ```
 */
export class RoomClaims {
  readonly #table: ClaimTable;
  readonly #records = new Map<string, ClaimRecord>();

  /** The claims `table` holds (read once, here). */
  constructor(table: ClaimTable) {
    this.#table = table;
    for (const record of table.load()) this.#records.set(record.roomKey, record);
  }

  /** How many rooms are claimed. */
  get size(): number {
    return this.#records.size;
  }

  /** The claim on the room called `name`, if any. */
  get(name: string): ClaimRecord | undefined {
    return this.#records.get(roomKey(name));
  }

  /**
   * Gives a room made anew the state its claim kept (modes, bans, who is op and voiced); the
   * claim, or null when the room is not claimed.
   */
  restore(room: Room): RoomClaim | null {
    const record = this.#records.get(roomKey(room.name));
    if (record === undefined) return null;
    room.modes = { ...record.modes, bans: record.modes.bans.map((b) => ({ ...b })) };
    room.claim = {
      owner: record.owner,
      ops: new Set(record.ops),
      voices: new Set(record.voices),
      created: record.created,
    };
    return room.claim;
  }

  /** Claims `room` for `owner`; null when done, else why not. Throws when the store fails. */
  claim(room: Room, owner: string, now: number): ClaimRefusal | null {
    const held = this.#records.get(roomKey(room.name));
    if (held !== undefined) {
      const whose = held.owner === owner ? "yours already" : "claimed by another account";
      return { code: "room_claimed", problem: `${room.name} is ${whose}.` };
    }
    let owned = 0;
    for (const record of this.#records.values()) if (record.owner === owner) owned++;
    if (owned >= MAX_CLAIMS_PER_ACCOUNT) {
      return {
        code: "bad_command",
        problem: `An account may claim at most ${MAX_CLAIMS_PER_ACCOUNT} rooms; /unregister ` +
          "one of yours first.",
      };
    }
    if (this.#records.size >= MAX_CLAIMED_ROOMS) {
      return {
        code: "bad_command",
        problem: `This server keeps at most ${MAX_CLAIMED_ROOMS} claimed rooms.`,
      };
    }
    // The claim keeps the room's own creation time (IRC's 329), not the moment it was claimed;
    // the min only guards against a hub clock behind the wall clock (tests inject one).
    const created = Math.min(room.created, now);
    const claim: RoomClaim = { owner, ops: new Set([owner]), voices: new Set(), created };
    this.#write(recordOf(room, claim));
    room.claim = claim;
    return null;
  }

  /** Writes `room`'s state to its claim (after a change of modes, ops or voices). */
  save(room: Room): void {
    if (room.claim !== null) this.#write(recordOf(room, room.claim));
  }

  /** Forgets the claim on `room` (and on the room key, whether or not it exists now). */
  release(name: string, room?: Room): void {
    const key = roomKey(name);
    this.#table.delete(key);
    this.#records.delete(key);
    if (room !== undefined) room.claim = null;
  }

  /**
   * Drops what `account` holds: the rooms it owns are released, and it is taken off the others'
   * lists of operators and voiced. Live rooms are passed so their claims change too. Returns
   * the keys of the rooms released.
   */
  dropAccount(account: string, live: (key: string) => Room | undefined): string[] {
    const released: string[] = [];
    for (const record of [...this.#records.values()]) {
      const room = live(record.roomKey);
      if (record.owner === account) {
        this.release(record.room, room);
        released.push(record.roomKey);
        continue;
      }
      if (!record.ops.includes(account) && !record.voices.includes(account)) continue;
      const next = {
        ...record,
        ops: record.ops.filter((a) => a !== account),
        voices: record.voices.filter((a) => a !== account),
      };
      this.#table.save(next);
      this.#records.set(record.roomKey, next);
      room?.claim?.ops.delete(account);
      room?.claim?.voices.delete(account);
    }
    return released;
  }

  /**
   * Takes in a claim another node saved (`record`) or released (`released`: the room key), in
   * memory only: the shared table holds it already, and writing it again would publish it again.
   * `live` is the room as this node holds it, if it does: its claim changes too (its modes come
   * with the room's own state, `room` events).
   */
  applyRemote(change: { record: ClaimRecord } | { released: string }, live?: Room): void {
    if ("released" in change) {
      this.#records.delete(change.released);
      if (live !== undefined) live.claim = null;
      return;
    }
    const record = change.record;
    this.#records.set(record.roomKey, record);
    if (live === undefined) return;
    live.claim = {
      owner: record.owner,
      ops: new Set(record.ops),
      voices: new Set(record.voices),
      created: record.created,
    };
  }

  #write(record: ClaimRecord): void {
    this.#table.save(record);
    this.#records.set(record.roomKey, record);
  }
}

/** A claim as the store keeps it, from the room's live state. */
function recordOf(room: Room, claim: RoomClaim): ClaimRecord {
  return {
    roomKey: roomKey(room.name),
    room: room.name,
    owner: claim.owner,
    modes: { ...room.modes, bans: room.modes.bans.map((b) => ({ ...b })) },
    ops: [...claim.ops],
    voices: [...claim.voices],
    created: claim.created,
  };
}

/** The state a room forgets when its last member leaves and nobody claimed it. */
export function forgetState(room: Room): void {
  room.modes = newModes();
  room.ops.clear();
  room.voiced.clear();
  room.invited.clear();
}
