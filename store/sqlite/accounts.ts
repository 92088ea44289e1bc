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
import { nickKey } from "../../core/nick.ts";
import { guarded } from "./db.ts";

/** Starts the key of a row whose nick now folds like an older account's (see load). */
const PARKED = "\u0001parked:";

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
  readonly #rekey: StatementSync;

  /** The table of `db`. */
  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#save = db.prepare(
      "INSERT OR REPLACE INTO accounts (nick_key, nick, kind, fingerprint, source, hash, created) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#delete = db.prepare("DELETE FROM accounts WHERE nick_key = ?");
    this.#rekey = db.prepare("UPDATE accounts SET nick_key = ? WHERE nick_key = ?");
  }

  /** This table (so a SqliteAccounts is an {@linkcode AccountStore} too). */
  get accounts(): AccountTable {
    return this;
  }

  /**
   * {@inheritDoc AccountTable.load} Rows that do not make an account are skipped. Each account's
   * key is its nick folded as nicks fold now; a row saved under another key is moved to it.
   */
  load(): AccountRecord[] {
    const rows = guarded(() =>
      this.#db.prepare(
        "SELECT nick_key, nick, kind, fingerprint, source, hash, created FROM accounts",
      ).all() as unknown as AccountRow[]
    );
    const records: AccountRecord[] = [];
    // The key is worked out again from the nick, never trusted from the row: a row saved under an
    // older folding (one that kept "al1ce" apart from "alice") must protect its nick as nicks fold
    // now. If a change of folding makes two saved nicks one, the first registered keeps it; the
    // other row is parked under a key no nick folds to (it starts with a control character), kept
    // for an operator to see, and not loaded.
    rows.sort((a, b) => a.created - b.created);
    const winners = new Map<string, AccountRow>();
    const losers: AccountRow[] = [];
    for (const row of rows) {
      const key = nickKey(row.nick);
      if (winners.has(key)) losers.push(row);
      else winners.set(key, row);
    }
    for (const row of losers) {
      if (!row.nick_key.startsWith(PARKED)) {
        guarded(() => this.#rekey.run(PARKED + row.nick_key, row.nick_key));
      }
    }
    for (const [key, row] of winners) {
      if (key !== row.nick_key) guarded(() => this.#rekey.run(key, row.nick_key));
      const base = { key, nick: row.nick, created: row.created };
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
