/**
 * `:shortcode:` emoji for the terminal client, with GitHub's names (`:tada:` is 🎉) from the
 * `gemoji` package. The table is built once, when this module loads, into a `Map`, so a lookup
 * costs the same however many names there are, and a name like `constructor` that every object
 * has is not mistaken for one.
 *
 * @module
 */

import { gemoji } from "gemoji";

/** Shortcode (without colons) → emoji, every alias included. */
const BY_NAME: ReadonlyMap<string, string> = new Map(
  gemoji.flatMap((g) => g.names.map((name) => [name, g.emoji] as const)),
);

/** Every shortcode, sorted, so that a prefix is found by binary search. */
const SORTED_NAMES: readonly string[] = [...BY_NAME.keys()].sort();

/**
 * A `:name:` that stands apart from the text around it: not after a letter, digit or `_`, so that
 * `12:30:45` and `a:b:c` stay as typed, and not before one either. Adjacent shortcodes
 * (`:tada::tada:`) both count, since a colon may sit on either side.
 */
const SHORTCODE = /(?<![\p{L}\p{N}_]):([a-z0-9_+-]+):(?![\p{L}\p{N}_])/gu;

/** A URL (`scheme://…` up to the next space): its colons are never shortcodes. */
const URL = /[a-z][a-z0-9+.-]*:\/\/\S*/giu;

/**
 * Every shortcode and its emoji, the same table on every call: it is built once.
 *
 * @example
 * ```ts
 * shortcodeTable().get("tada"); // "🎉"
 * ```
 */
export function shortcodeTable(): ReadonlyMap<string, string> {
  return BY_NAME;
}

/**
 * The emoji for a shortcode given without colons, or undefined for a name that is not one.
 *
 * @example
 * ```ts
 * emojiFor("tada"); // "🎉"
 * emojiFor("nope"); // undefined
 * ```
 */
export function emojiFor(name: string): string | undefined {
  return BY_NAME.get(name);
}

/**
 * The shortcodes (without colons) that start with `prefix`, ignoring case, sorted.
 *
 * @example
 * ```ts
 * shortcodesStartingWith("tad"); // ["tada"]
 * ```
 */
export function shortcodesStartingWith(prefix: string): string[] {
  const lower = prefix.toLowerCase();
  let low = 0;
  let high = SORTED_NAMES.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (SORTED_NAMES[mid] < lower) low = mid + 1;
    else high = mid;
  }
  const found: string[] = [];
  for (let i = low; i < SORTED_NAMES.length && SORTED_NAMES[i].startsWith(lower); i++) {
    found.push(SORTED_NAMES[i]);
  }
  return found;
}

function expandPart(text: string): string {
  return text.replace(SHORTCODE, (whole, name: string) => BY_NAME.get(name) ?? whole);
}

/**
 * Replaces each known `:shortcode:` in `text` with its emoji. Unknown names, shortcodes inside a
 * word and anything inside a URL stay as typed.
 *
 * @example
 * ```ts
 * expandShortcodes("ship it :tada: :nope:"); // "ship it 🎉 :nope:"
 * expandShortcodes("see http://a:b:c/:tada:"); // unchanged
 * ```
 */
export function expandShortcodes(text: string): string {
  // Cheap exit for the common message with no colon pair at all.
  if (text.indexOf(":") === text.lastIndexOf(":")) return text;
  let out = "";
  let last = 0;
  for (const url of text.matchAll(URL)) {
    out += expandPart(text.slice(last, url.index)) + url[0];
    last = url.index + url[0].length;
  }
  return out + expandPart(text.slice(last));
}
