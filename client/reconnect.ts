/**
 * The reconnection policy: how long to wait before each attempt, and which endings are worth
 * reconnecting after at all.
 *
 * @module
 */

import type { ErrorCode, LeaveReason } from "../protocol/frames.ts";

/** Wait before the first reconnection attempt. */
export const RECONNECT_BASE_MS = 500;
/** Longest wait between attempts; the wait doubles until it reaches this. */
export const RECONNECT_MAX_MS = 10_000;
/** Each wait is scaled by a random factor in 1 ± this, so clients of a restarted server spread out. */
export const RECONNECT_JITTER = 0.2;

/**
 * Milliseconds to wait before reconnection attempt `attempt` (1, 2, ...): 0.5 s doubling up to
 * 10 s, each with ±20 % jitter, never above 10 s.
 *
 * @example
 * ```ts
 * backoffDelay(1, () => 0.5); // 500
 * backoffDelay(9, () => 0.5); // 10000
 * ```
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.max(0, attempt - 1));
  const jitter = 1 - RECONNECT_JITTER + 2 * RECONNECT_JITTER * random();
  return Math.round(Math.min(RECONNECT_MAX_MS, base * jitter));
}

/** Fatal errors that end a connection without saying anything about the next one. */
const PASSING_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "shutting_down",
  "ping_timeout",
  "handshake_timeout",
  "too_many_connections",
]);

/** Goodbyes after which coming back makes sense (the server restarted, or we fell behind). */
const PASSING_BYES: ReadonlySet<LeaveReason> = new Set<LeaveReason>([
  "shutdown",
  "timeout",
  "too_slow",
  "dropped",
  "node_lost",
]);

/**
 * Login refusals worth retrying while reconnecting: besides passing trouble, the nick may still
 * be held by our own dead connection until the server notices it is gone, and a full server
 * may have room again later.
 */
const RETRY_LOGIN_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ...PASSING_ERRORS,
  "nick_taken",
  "server_full",
]);

/** How a connection ended, as far as reconnecting is concerned. */
export type Ending =
  | { kind: "lost" }
  | { kind: "error"; code: ErrorCode }
  | { kind: "bye"; reason: LeaveReason };

/** True when a connection that ended this way should be re-established. */
export function shouldReconnect(ending: Ending): boolean {
  switch (ending.kind) {
    case "lost":
      return true;
    case "error":
      return PASSING_ERRORS.has(ending.code);
    case "bye":
      return PASSING_BYES.has(ending.reason);
  }
}

/** True when a reconnection attempt refused with `code` should be tried again later. */
export function shouldRetryLogin(code: ErrorCode | undefined): boolean {
  return code === undefined || RETRY_LOGIN_ERRORS.has(code);
}
