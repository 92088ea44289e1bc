/**
 * Room claims in memory: what the core's tests run on, and the claims of a server that should
 * keep nothing. Records are copied in and out, as a database would.
 *
 * @module
 */

import type { ClaimRecord, ClaimStore, ClaimTable } from "../../core/room_claims.ts";

/** A claim table in memory; writes first call `check`, which throws when the store fails. */
export class MemoryClaims implements ClaimTable, ClaimStore {
  readonly #check: () => void;
  readonly #records = new Map<string, ClaimRecord>();

  /** An empty table. @param check throws a StoreError while the store beside it is failing. */
  constructor(check: () => void = () => {}) {
    this.#check = check;
  }

  /** This table (so a MemoryClaims is a {@linkcode ClaimStore} too). */
  get claims(): ClaimTable {
    return this;
  }

  /** {@inheritDoc ClaimTable.load} */
  load(): ClaimRecord[] {
    return [...this.#records.values()].map(copy);
  }

  /** {@inheritDoc ClaimTable.save} */
  save(record: ClaimRecord): void {
    this.#check();
    this.#records.set(record.roomKey, copy(record));
  }

  /** {@inheritDoc ClaimTable.delete} */
  delete(roomKey: string): void {
    this.#check();
    this.#records.delete(roomKey);
  }
}

function copy(record: ClaimRecord): ClaimRecord {
  return structuredClone(record);
}
