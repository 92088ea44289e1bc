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
