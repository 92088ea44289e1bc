/**
 * The accounts table (issue 13): SQLite keeps accounts across close and reopen, a database made
 * before accounts gains the table, and the memory engine keeps the same contract.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { AccountRecord, AccountTable } from "../core/ports.ts";
import { nickKey } from "../core/nick.ts";
import { MemoryAccounts } from "../store/memory/accounts.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { StoreError } from "../store/store_error.ts";

const KEY: AccountRecord = {
  key: nickKey("Alice"),
  nick: "Alice",
  created: 1_700_000_000_000,
  kind: "key",
  fingerprint: "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
  source: "ssh",
};
const PASSWORD: AccountRecord = {
  key: nickKey("dave"),
  nick: "dave",
  created: 1_700_000_000_001,
  kind: "password",
  hash: "scrypt$N=1024,r=8,p=1$c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5",
};

function byKey(records: AccountRecord[]): AccountRecord[] {
  return records.sort((a, b) => a.key.localeCompare(b.key));
}

/** The contract both engines keep. */
function exercise(table: AccountTable): void {
  table.save(KEY);
  table.save(PASSWORD);
  assert.deepEqual(byKey(table.load()), [KEY, PASSWORD]);
  // Saving under the same key replaces.
  const rekeyed = { ...KEY, fingerprint: "SHA256:another" };
  table.save(rekeyed);
  assert.deepEqual(byKey(table.load()), [rekeyed, PASSWORD]);
  table.delete(nickKey("dave"));
  table.delete("nobody");
  assert.deepEqual(table.load(), [rekeyed]);
}

Deno.test("accounts store: SQLite keeps key and password accounts across close and reopen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_accounts_store_" });
  try {
    const path = `${dir}/chat.db`;
    const first = new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    exercise(first.accounts);
    first.accounts.save(PASSWORD);
    first.close();
    const second = new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    assert.deepEqual(byKey(second.accounts.load()), [
      { ...KEY, fingerprint: "SHA256:another" },
      PASSWORD,
    ]);
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("accounts store: a database made before accounts gains the table on open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_accounts_store_" });
  try {
    const path = `${dir}/chat.db`;
    new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 }).close();
    const old = new DatabaseSync(path);
    old.exec("DROP TABLE accounts");
    old.close();
    const store = new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    assert.deepEqual(store.accounts.load(), []);
    store.accounts.save(KEY);
    assert.deepEqual(store.accounts.load(), [KEY]);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("accounts store: the memory engine keeps the same contract, and fails with its store", () => {
  exercise(new MemoryAccounts());
  const store = new MemoryHistory();
  store.fail("the disk is full");
  assert.throws(() => store.accounts.save(KEY), StoreError);
});

Deno.test("accounts store: a key saved under an older folding is worked out again from the nick on load", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_accounts_store_" });
  try {
    const path = `${dir}/chat.db`;
    const first = new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    // Rows as a server that kept "al1ce" apart from "alice" saved them.
    first.accounts.save({ ...PASSWORD, key: "alice", nick: "alice", created: 1 });
    first.accounts.save({ ...KEY, key: "al1ce", nick: "al1ce", created: 2 });
    first.accounts.save({ ...KEY, key: "old-bob", nick: "bob", created: 3 });
    first.close();
    const second = new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    // alice, registered first, owns the nick as it folds now; al1ce folds the same, and is set
    // aside; bob is found under his nick's key.
    assert.deepEqual(second.accounts.load().map((r) => [r.key, r.nick]), [
      [nickKey("alice"), "alice"],
      [nickKey("bob"), "bob"],
    ]);
    // The rows moved too: deleting under the new key deletes them.
    second.accounts.delete(nickKey("bob"));
    second.accounts.delete(nickKey("alice"));
    second.close();
    const third = new SqliteHistory({ path, retention: 100, upkeepIntervalMs: 0 });
    // With alice's account gone, the one set aside comes back.
    assert.deepEqual(third.accounts.load().map((r) => [r.key, r.nick]), [
      [nickKey("al1ce"), "al1ce"],
    ]);
    third.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
