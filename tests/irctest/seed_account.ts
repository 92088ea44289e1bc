/**
 * Saves a password account into a stopped server's SQLite database, for the irctest
 * controller (tests/irctest/sockchat_controller.py): irctest registers accounts with
 * passwords like "sesame", shorter than NickServ accepts (ACCOUNT_PASSWORD_MIN_LENGTH), and
 * then checks SASL and account replies against them. Not for real servers.
 *
 * Usage: `deno run -A tests/irctest/seed_account.ts DB NICK PASSWORD`
 *
 * @module
 */

import { nickKey } from "../../core/nick.ts";
import { ScryptHasher } from "../../security/password_hash.ts";
import { SqliteAccounts } from "../../store/sqlite/accounts.ts";
import { openDatabase } from "../../store/sqlite/db.ts";

/** Saves `nick` with `password` in the database at `path`, replacing any account of that nick. */
export async function seedAccount(path: string, nick: string, password: string): Promise<void> {
  const hash = await new ScryptHasher().hash(password);
  if (hash === null) throw new Error("the hasher is busy");
  const db = openDatabase(path, "normal", Date.now());
  try {
    new SqliteAccounts(db).save({
      key: nickKey(nick),
      nick,
      created: Date.now(),
      kind: "password",
      hash,
    });
  } finally {
    db.close();
  }
}

if (import.meta.main) {
  const [path, nick, password] = Deno.args;
  if (path === undefined || nick === undefined || password === undefined) {
    console.error("usage: seed_account.ts DB NICK PASSWORD");
    Deno.exit(2);
  }
  await seedAccount(path, nick, password);
}
