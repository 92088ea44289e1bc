/**
 * The bans and mutes tables: what the {@linkcode BanList} writes through so that bans and mutes
 * outlive a restart. Expired rows are left for the store's upkeep to purge: checking a ban or a
 * mute never writes.
 *
 * @module
 */

import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { Ban, BanStore, Mute, MuteStore, RecordTable } from "../../core/ports.ts";
import { guarded } from "./db.ts";

/** One of the two tables, `bans` or `mutes`, whose columns are the record's fields. */
export class SqliteTable<
  T extends { kind: string; target: string } & Record<keyof T, SQLInputValue>,
> implements RecordTable<T> {
  readonly #db: DatabaseSync;
  readonly #columns: readonly (keyof T & string)[];
  readonly #select: string;
  readonly #save: StatementSync;
  readonly #delete: StatementSync;
  readonly #purge: StatementSync;

  /** The table `name` of `db` (whose schema is current, see db.ts), read and written by `columns`. */
  constructor(db: DatabaseSync, name: "bans" | "mutes", columns: readonly (keyof T & string)[]) {
    const list = columns.join(", ");
    this.#db = db;
    this.#columns = columns;
    this.#select = `SELECT ${list} FROM ${name}`;
    this.#save = db.prepare(
      `INSERT OR REPLACE INTO ${name} (${list}) VALUES (${columns.map(() => "?").join(", ")})`,
    );
    this.#delete = db.prepare(`DELETE FROM ${name} WHERE kind = ? AND target = ?`);
    this.#purge = db.prepare(`DELETE FROM ${name} WHERE until > 0 AND until <= ?`);
  }

  /** {@inheritDoc RecordTable.load} */
  load(): T[] {
    return guarded(() => this.#db.prepare(this.#select).all() as unknown as T[]);
  }

  /** {@inheritDoc RecordTable.save} */
  save(record: T): void {
    guarded(() => this.#save.run(...this.#columns.map((column) => record[column])));
  }

  /** {@inheritDoc RecordTable.delete} */
  delete(kind: T["kind"], target: string): void {
    guarded(() => this.#delete.run(kind, target));
  }

  /** Deletes the records that ended by `now` (`until` 0 never ends). */
  purgeExpired(now: number): void {
    guarded(() => this.#purge.run(now));
  }
}

/** Bans and mutes in one SQLite database. Every method throws a StoreError on failure. */
export class SqliteModeration implements BanStore, MuteStore {
  /** {@inheritDoc BanStore.bans} */
  readonly bans: SqliteTable<Ban>;
  /** {@inheritDoc MuteStore.mutes} */
  readonly mutes: SqliteTable<Mute>;

  /** The tables of `db`, whose schema is current (see db.ts). */
  constructor(db: DatabaseSync) {
    this.bans = new SqliteTable<Ban>(db, "bans", ["kind", "target", "until", "reason", "by"]);
    this.mutes = new SqliteTable<Mute>(db, "mutes", ["kind", "target", "until", "by"]);
  }

  /** Deletes bans and mutes that ended by `now` (upkeep: a side path, never a check). */
  purgeExpired(now: number): void {
    this.bans.purgeExpired(now);
    this.mutes.purgeExpired(now);
  }
}
