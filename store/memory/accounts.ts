/**
 * Accounts in memory: what the core's tests run on, and the accounts of a server that should
 * keep nothing. Records are copied in and out, as a database would.
 *
 * @module
 */

import type { AccountRecord, AccountStore, AccountTable } from "../../core/ports.ts";

/** An account table in memory; writes first call `check`, which throws when the store fails. */
export class MemoryAccounts implements AccountTable, AccountStore {
  readonly #check: () => void;
  readonly #records = new Map<string, AccountRecord>();

  /** An empty table. @param check throws a StoreError while the store beside it is failing. */
  constructor(check: () => void = () => {}) {
    this.#check = check;
  }

  /** This table (so a MemoryAccounts is an {@linkcode AccountStore} too). */
  get accounts(): AccountTable {
    return this;
  }

  /** {@inheritDoc AccountTable.load} */
  load(): AccountRecord[] {
    return [...this.#records.values()].map((r) => ({ ...r }));
  }

  /** {@inheritDoc AccountTable.save} */
  save(record: AccountRecord): void {
    this.#check();
    this.#records.set(record.key, { ...record });
  }

  /** {@inheritDoc AccountTable.delete} */
  delete(key: string): void {
    this.#check();
    this.#records.delete(key);
  }
}
