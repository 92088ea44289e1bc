/**
 * The history store's limits: what is replayed and kept, how big the database may grow, how old
 * its messages may get, and how its upkeep paces itself. Re-exported by `limits.ts`.
 *
 * @module
 */

/** Messages replayed when joining a room (`--history`). */
export const DEFAULT_HISTORY_REPLAY = 50;

/** Messages `/history` replays when no N is given (with or without `before ID`). */
export const DEFAULT_HISTORY_REQUEST = 20;

/** Most messages `/history N` may ask for (`/history N before ID` too: one page of scroll-back). */
export const MAX_HISTORY_REQUEST = 500;

/** Most messages replayed to a resuming client per room; older ones are reported as a gap. */
export const MAX_RESUME_REPLAY = 1000;

/** Messages kept per room in the store (`--retention`); older ones are pruned. */
export const DEFAULT_RETENTION_PER_ROOM = 10_000;

/**
 * Bytes the history database may use (`--max-db-bytes`); past it the oldest messages of any room
 * are deleted first. 1 GiB holds about five million typical messages, keeps every room at its
 * full retention on a busy server, and fits any disk a chat server runs on, while one address
 * at the default flood rates could otherwise add about 10 GB a day.
 */
export const DEFAULT_MAX_DB_BYTES = 1024 * 1024 * 1024;

/** Smallest non-zero `--max-db-bytes`: the schema, a WAL's worth of pages and some history. */
export const MIN_MAX_DB_BYTES = 1024 * 1024;

/** Largest `--max-db-bytes` accepted (1 PiB): beyond it the flag is surely a typo. */
export const MAX_MAX_DB_BYTES = 1024 ** 5;

/**
 * Age past which messages are deleted and empty, unused rooms forgotten (`--max-age`). 90 days:
 * long enough for anyone coming back from a holiday to scroll back, short enough that abandoned
 * rooms and their topics do not stay for ever; 0 keeps everything until the caps remove it.
 */
export const DEFAULT_MAX_AGE_MS = 90 * 86_400_000;

/** Shortest non-zero `--max-age`: well above how often the store sweeps by age. */
export const MIN_MAX_AGE_MS = 3_600_000;

/** How often the store's upkeep runs: the age sweep and purging expired bans and mutes. */
export const STORE_UPKEEP_INTERVAL_MS = 10 * 60_000;

/** Messages (or rooms) one prune statement deletes at most: one short transaction each. */
export const STORE_PRUNE_BATCH = 256;

/** Batches one upkeep run may delete before it lets other work in (then goes on shortly). */
export const STORE_UPKEEP_BATCHES = 16;

/** Pause between upkeep runs while a backlog of old messages is being deleted. */
export const STORE_UPKEEP_BACKLOG_DELAY_MS = 50;
