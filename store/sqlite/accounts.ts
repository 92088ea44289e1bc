/**
 * The accounts table: registered nicks, each with a key fingerprint or an scrypt hash (never a
 * password). On the server thread's own connection, beside bans and mutes: read once at start,
 * written through on each /register and /unregister.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { AccountRecord, AccountStore, AccountTable } from "../../core/ports.ts";
import type { KeySource } from "../../core/identity.ts";
import { guarded } from "./db.ts";

/** A row as SQLite gives it back. */
interface AccountRow {
  nick_key: string;
  nick: string;
  kind: string;
  fingerprint: string | null;
  source: string | null;
  hash: string | null;
  created: number;
}

/** The `accounts` table of a database whose schema is current (see db.ts). */
export class SqliteAccounts implements AccountTable, AccountStore {
  readonly #db: DatabaseSync;
  readonly #save: StatementSync;
  readonly #delete: StatementSync;

  /** The table of `db`. */
  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#save = db.prepare(
      "INSERT OR REPLACE INTO accounts (nick_key, nick, kind, fingerprint, source, hash, created) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#delete = db.prepare("DELETE FROM accounts WHERE nick_key = ?");
  }

  /** This table (so a SqliteAccounts is an {@linkcode AccountStore} too). */
  get accounts(): AccountTable {
    return this;
  }

  /** {@inheritDoc AccountTable.load} Rows that do not make an account are skipped. */
  load(): AccountRecord[] {
    const rows = guarded(() =>
      this.#db.prepare(
        "SELECT nick_key, nick, kind, fingerprint, source, hash, created FROM accounts",
      ).all() as unknown as AccountRow[]
    );
    const records: AccountRecord[] = [];
    for (const row of rows) {
      const base = { key: row.nick_key, nick: row.nick, created: row.created };
      if (row.kind === "key" && row.fingerprint !== null && isSource(row.source)) {
        records.push({ ...base, kind: "key", fingerprint: row.fingerprint, source: row.source });
      } else if (row.kind === "password" && row.hash !== null) {
        records.push({ ...base, kind: "password", hash: row.hash });
      }
    }
    return records;
  }

  /** {@inheritDoc AccountTable.save} */
  save(record: AccountRecord): void {
    const key = record.kind === "key" ? [record.fingerprint, record.source, null] : [
      null,
      null,
      record.hash,
    ];
    guarded(() =>
      this.#save.run(record.key, record.nick, record.kind, ...key, Math.floor(record.created))
    );
  }

  /** {@inheritDoc AccountTable.delete} */
  delete(key: string): void {
    guarded(() => this.#delete.run(key));
  }
}

function isSource(source: string | null): source is KeySource {
  return source === "ssh" || source === "sockchat";
}
