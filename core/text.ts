/**
 * Text rules shared by the core's replies: how untrusted text is quoted back to people.
 *
 * @module
 */

import { sanitizeMessageText } from "../security/unicode.ts";

/** Characters of untrusted text an error message quotes before cutting it with "…". */
const SHOWN_MAX = 64;

/**
 * Untrusted text for an error message: cleaned, on one line, and short.
 *
 * @example
 * ```ts
 * import { shown } from "./text.ts";
 * shown("#" + "x".repeat(100)); // "#xxx…x…": 64 characters in all
 * ```
 */
export function shown(text: string): string {
  const clean = sanitizeMessageText(text).replaceAll("\n", " ");
  const chars = [...clean];
  return chars.length > SHOWN_MAX ? chars.slice(0, SHOWN_MAX - 1).join("") + "…" : clean;
}

/**
 * A count and its noun, singular for one: `1 user`, `2 users`. Every count the core words goes
 * through it, so that a server limited to one user does not say "(1 users)".
 *
 * @example
 * ```ts
 * import { counted } from "./text.ts";
 * counted(1, "user"); // "1 user"
 * counted(3, "message"); // "3 messages"
 * counted(2, "person", "people"); // "2 people"
 * ```
 */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/**
 * A length of time for people, in its two largest units: `3 days, 4 hours`, `5 minutes, 1
 * second`, `12 seconds`.
 *
 * @example
 * ```ts
 * import { describeDuration } from "./text.ts";
 * describeDuration(93_784_000); // "1 day, 2 hours"
 * describeDuration(1_000); // "1 second"
 * ```
 */
export function describeDuration(ms: number): string {
  let left = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  for (const [unit, seconds] of DURATION_UNITS) {
    const n = Math.floor(left / seconds);
    left -= n * seconds;
    if (n > 0 || parts.length > 0) parts.push(counted(n, unit));
  }
  const largest = parts.slice(0, 2).filter((p) => !p.startsWith("0 "));
  return largest.length === 0 ? "0 seconds" : largest.join(", ");
}

const DURATION_UNITS = [["day", 86_400], ["hour", 3_600], ["minute", 60], ["second", 1]] as const;
