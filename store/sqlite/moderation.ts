/**
 * The bans and mutes tables: what the {@linkcode BanList} writes through so that bans and mutes
 * outlive a restart. Expired rows are left for the store's upkeep to purge: checking a ban or a
 * mute never writes.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Ban, BanStore, Mute, MuteStore } from "../../core/ports.ts";
import { guarded } from "./db.ts";

/** Bans and mutes in one SQLite database. Every method throws a StoreError on failure. */
export class SqliteModeration implements BanStore, MuteStore {
  readonly #db: DatabaseSync;
  readonly #saveBan: StatementSync;
  readonly #deleteBan: StatementSync;
  readonly #saveMute: StatementSync;
  readonly #deleteMute: StatementSync;
  readonly #purgeBans: StatementSync;
  readonly #purgeMutes: StatementSync;

  /** The tables of `db`, whose schema is current (see db.ts). */
  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#saveBan = db.prepare(
      "INSERT OR REPLACE INTO bans (kind, target, until, reason, by) VALUES (?, ?, ?, ?, ?)",
    );
    this.#deleteBan = db.prepare("DELETE FROM bans WHERE kind = ? AND target = ?");
    this.#saveMute = db.prepare(
      "INSERT OR REPLACE INTO mutes (kind, target, until, by) VALUES (?, ?, ?, ?)",
    );
    this.#deleteMute = db.prepare("DELETE FROM mutes WHERE kind = ? AND target = ?");
    this.#purgeBans = db.prepare("DELETE FROM bans WHERE until > 0 AND until <= ?");
    this.#purgeMutes = db.prepare("DELETE FROM mutes WHERE until > 0 AND until <= ?");
  }

  /** {@inheritDoc BanStore.loadBans} */
  loadBans(): Ban[] {
    return guarded(() =>
      this.#db.prepare("SELECT kind, target, until, reason, by FROM bans").all() as unknown as Ban[]
    );
  }

  /** {@inheritDoc BanStore.saveBan} */
  saveBan(ban: Ban): void {
    guarded(() => this.#saveBan.run(ban.kind, ban.target, ban.until, ban.reason, ban.by));
  }

  /** {@inheritDoc BanStore.deleteBan} */
  deleteBan(kind: Ban["kind"], target: string): void {
    guarded(() => this.#deleteBan.run(kind, target));
  }

  /** {@inheritDoc MuteStore.loadMutes} */
  loadMutes(): Mute[] {
    return guarded(() =>
      this.#db.prepare("SELECT kind, target, until, by FROM mutes").all() as unknown as Mute[]
    );
  }

  /** {@inheritDoc MuteStore.saveMute} */
  saveMute(mute: Mute): void {
    guarded(() => this.#saveMute.run(mute.kind, mute.target, mute.until, mute.by));
  }

  /** {@inheritDoc MuteStore.deleteMute} */
  deleteMute(kind: Mute["kind"], target: string): void {
    guarded(() => this.#deleteMute.run(kind, target));
  }

  /** Deletes bans and mutes that ended by `now` (upkeep: a side path, never a check). */
  purgeExpired(now: number): void {
    guarded(() => {
      this.#purgeBans.run(now);
      this.#purgeMutes.run(now);
    });
  }
}
