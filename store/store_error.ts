/**
 * Store failures in words people can act on. SQLite reports a full disk as "database or disk is
 * full", and a failed ROLLBACK after it as "cannot rollback - no transaction is active"; the
 * store turns every such error into a {@linkcode StoreError} whose message names the cause
 * ("the disk is full"), so that whoever shows it (the hub's `store_failed` replies, the log)
 * needs no SQLite knowledge.
 *
 * @module
 */

/** A store operation failed; the message is a short clause naming the cause, such as "the disk is full". */
export class StoreError extends Error {
  /** An error whose `message` is the cause as a clause; `options.cause` keeps SQLite's own. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
  }
}

/** SQLite's own messages (sqlite3_errstr), and what they mean for whoever runs the server. */
const CAUSES: readonly (readonly [string, string])[] = [
  ["database or disk is full", "the disk is full"],
  ["attempt to write a readonly database", "the database is read-only"],
  ["disk I/O error", "the disk could not be read or written (I/O error)"],
  ["database is locked", "the database is locked by another program"],
  ["database table is locked", "the database is busy"],
  ["database disk image is malformed", "the database file is damaged"],
  ["file is not a database", "the file is not a database"],
  ["unable to open database file", "the database file cannot be opened"],
  ["out of memory", "the server is out of memory"],
  ["string or blob too big", "it is too big for the database"],
  ["database connection is not open", "the database is closed"],
];

/**
 * One clause naming why a SQLite call failed, lower-case and without a full stop, to be set in a
 * sentence: "Your message could not be saved (the disk is full)."
 *
 * @example
 * ```ts
 * describeStoreError(new Error("database or disk is full")); // "the disk is full"
 * ```
 */
export function describeStoreError(error: unknown): string {
  if (error instanceof StoreError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  for (const [sqlite, cause] of CAUSES) if (message.includes(sqlite)) return cause;
  return `the database failed (${message})`;
}

/** `error` as a {@linkcode StoreError} (itself if it already is one). */
export function storeError(error: unknown): StoreError {
  return error instanceof StoreError
    ? error
    : new StoreError(describeStoreError(error), { cause: error });
}
