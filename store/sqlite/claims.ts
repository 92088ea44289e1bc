/**
 * The room claims table (`/register #room`): each claimed room's owner, modes, key, limit, bans
 * and the accounts it ops and voices. On the server thread's own connection, beside accounts:
 * read once at start, written through on each change to a claimed room.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { MAX_CLAIM_MEMBERS, MAX_ROOM_BANS } from "../../config/limits.ts";
import type { ClaimRecord, ClaimStore, ClaimTable } from "../../core/room_claims.ts";
import { roomKey } from "../../core/room.ts";
import { banMask, banShown, keyProblem, parseLimit, type RoomBan } from "../../core/room_modes.ts";
import { guarded } from "./db.ts";

/** A row as SQLite gives it back. */
interface ClaimRow {
  room_key: string;
  room: string;
  owner_key: string;
  modes: string;
  room_key_secret: string | null;
  user_limit: number | null;
  ops: string;
  voices: string;
  bans: string;
  created: number;
}

/** The `room_claims` table of a database whose schema is current (see db.ts). */
export class SqliteClaims implements ClaimTable, ClaimStore {
  readonly #db: DatabaseSync;
  readonly #save: StatementSync;
  readonly #delete: StatementSync;

  /** The table of `db`. */
  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#save = db.prepare(
      "INSERT OR REPLACE INTO room_claims (room_key, room, owner_key, modes, room_key_secret, " +
        "user_limit, ops, voices, bans, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#delete = db.prepare("DELETE FROM room_claims WHERE room_key = ?");
  }

  /** This table (so a SqliteClaims is a {@linkcode ClaimStore} too). */
  get claims(): ClaimTable {
    return this;
  }

  /**
   * {@inheritDoc ClaimTable.load} Each value is checked as the core would have checked it when
   * set: a row edited by hand or written by a later version never brings in a key, limit, ban
   * or list the core would refuse; what does not parse is left out.
   */
  load(): ClaimRecord[] {
    const rows = guarded(() =>
      this.#db.prepare(
        "SELECT room_key, room, owner_key, modes, room_key_secret, user_limit, ops, voices, " +
          "bans, created FROM room_claims",
      ).all() as unknown as ClaimRow[]
    );
    const records: ClaimRecord[] = [];
    for (const row of rows) {
      const key = row.room_key_secret;
      const limit = row.user_limit === null ? null : parseLimit(String(row.user_limit));
      records.push({
        roomKey: roomKey(row.room),
        room: row.room,
        owner: row.owner_key,
        modes: {
          t: row.modes.includes("t"),
          m: row.modes.includes("m"),
          i: row.modes.includes("i"),
          key: key !== null && keyProblem(key) === null ? key : null,
          limit: typeof limit === "number" ? limit : null,
          bans: bansOf(row.bans),
        },
        ops: accountsOf(row.ops),
        voices: accountsOf(row.voices),
        created: row.created,
      });
    }
    return records;
  }

  /** {@inheritDoc ClaimTable.save} */
  save(record: ClaimRecord): void {
    const { modes } = record;
    const letters = (modes.t ? "t" : "") + (modes.m ? "m" : "") + (modes.i ? "i" : "");
    guarded(() =>
      this.#save.run(
        record.roomKey,
        record.room,
        record.owner,
        letters,
        modes.key,
        modes.limit,
        JSON.stringify(record.ops),
        JSON.stringify(record.voices),
        JSON.stringify(modes.bans),
        Math.floor(record.created),
      )
    );
  }

  /** {@inheritDoc ClaimTable.delete} */
  delete(roomKey: string): void {
    guarded(() => this.#delete.run(roomKey));
  }
}

/** A JSON list of account keys, capped; anything else is none. */
function accountsOf(json: string): string[] {
  const value = parse(json);
  if (!Array.isArray(value)) return [];
  return value.filter((a): a is string => typeof a === "string" && a !== "").slice(
    0,
    MAX_CLAIM_MEMBERS,
  );
}

/**
 * A JSON list of bans, each mask as the core keeps it, capped at MAX_ROOM_BANS. A written form
 * (`shown`) is kept only if it is one the core would have written for that mask; a row from
 * before it existed, or with one that is not, shows the folded mask.
 */
function bansOf(json: string): RoomBan[] {
  const value = parse(json);
  if (!Array.isArray(value)) return [];
  const bans: RoomBan[] = [];
  for (const ban of value) {
    if (typeof ban !== "object" || ban === null) continue;
    const { mask, shown, by, at } = ban as Record<string, unknown>;
    if (typeof mask !== "string" || typeof by !== "string" || typeof at !== "number") continue;
    if (banMask(mask) !== mask) continue;
    const written = typeof shown === "string" && banShown(shown) === shown &&
      banMask(shown) === mask;
    bans.push(written ? { mask, shown, by, at } : { mask, by, at });
    if (bans.length >= MAX_ROOM_BANS) break;
  }
  return bans;
}

function parse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}
