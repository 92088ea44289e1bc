/**
 * Decides whether a message names the user, so that it can be highlighted and ring the bell.
 *
 * @module
 */

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * True when `text` contains `nick` as a whole word, ignoring case: `alice`, `@alice` and
 * `Alice:` count, `malice` and `alice_bot` do not.
 *
 * @example
 * ```ts
 * mentions("hey @Alice, lunch?", "alice"); // true
 * mentions("malice aforethought", "alice"); // false
 * ```
 */
export function mentions(text: string, nick: string): boolean {
  if (nick === "") return false;
  const word = new RegExp(
    `(?<![\\p{L}\\p{N}\\p{M}_-])${escapeRegExp(nick)}(?![\\p{L}\\p{N}\\p{M}_-])`,
    "iu",
  );
  return word.test(text.normalize("NFC"));
}
