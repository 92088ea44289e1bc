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
