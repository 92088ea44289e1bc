/**
 * Tab completion for the input line: command names after a leading `/`, emoji shortcodes for
 * words starting with `:` (`:ta` offers `:taco:`, `:tada:`, …), room names for words starting
 * with `#` (and for the argument of /join, /leave and /who), nicks otherwise: people present
 * first, and recent speakers only when no one present matches.
 *
 * @module
 */

import { COMMANDS } from "../core/commands/chat.ts";
import { shortcodesStartingWith } from "./emoji.ts";

/** Every slash command the server documents, for completion. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => `/${c.name}`);

/**
 * A shortcode being typed: a colon and at least one character of a name. A lone `:` or a
 * smiley like `:)` is not one.
 */
const SHORTCODE_PREFIX = /^:([a-z0-9_+-]+)$/i;

/** Commands whose first argument is a room. */
const ROOM_COMMANDS = new Set(["/join", "/leave", "/who"]);
/** Commands whose first argument is a nick. */
const NICK_COMMANDS = new Set(["/msg"]);

/** What completion may choose from. */
export interface CompletionSources {
  /** Command names, `/` included. */
  commands: readonly string[];
  /** Nicks of people in the user's rooms now: the first choice. */
  nicks: readonly string[];
  /**
   * Nicks heard lately that are not known to be present (a DM, a room since left, a big room's
   * unlisted members), offered only when no present nick matches. @default []
   */
  speakers?: readonly string[];
  /** Rooms joined or listed. */
  rooms: readonly string[];
}

/** The outcome of completing a word. */
export interface Completion {
  /** The word before the cursor that is being completed (possibly empty). */
  word: string;
  /** Full replacements for `word`, in the spelling of the source, sorted within their tier. */
  candidates: string[];
  /** What to type after the word when there is exactly one candidate. */
  suffix: string;
}

function matching(word: string, pool: readonly string[]): string[] {
  const lower = word.toLowerCase();
  return [...new Set(pool.filter((p) => p.toLowerCase().startsWith(lower)))].sort();
}

/**
 * Completes the last word of `before` (the input line up to the cursor).
 *
 * @example
 * ```ts
 * const sources = {
 *   commands: ["/join", "/who"],
 *   nicks: ["Bob"],
 *   speakers: ["bobby", "carol"],
 *   rooms: ["#rust"],
 * };
 * complete("/jo", sources); // { word: "/jo", candidates: ["/join"], suffix: " " }
 * complete("bo", sources); // { word: "bo", candidates: ["Bob"], suffix: ": " }: present first
 * complete("hi ca", sources); // { word: "ca", candidates: ["carol"], suffix: " " }
 * complete("yay :tad", sources); // { word: ":tad", candidates: [":tada:"], suffix: " " }
 * ```
 */
export function complete(before: string, sources: CompletionSources): Completion {
  const word = /\S*$/.exec(before)?.[0] ?? "";
  const head = before.slice(0, before.length - word.length);
  const words = head.trim() === "" ? [] : head.trim().split(/\s+/);
  const command = words[0]?.toLowerCase();

  if (words.length === 0 && word.startsWith("/") && !word.startsWith("//")) {
    return { word, candidates: matching(word, sources.commands), suffix: " " };
  }
  const shortcode = SHORTCODE_PREFIX.exec(word);
  if (shortcode !== null) {
    // Completed as the `:name:` itself, which the line shows as typed until it is sent, and
    // which sending turns into the emoji.
    const names = shortcodesStartingWith(shortcode[1]).map((name) => `:${name}:`);
    return { word, candidates: names, suffix: " " };
  }
  if (word.startsWith("#") || (words.length === 1 && ROOM_COMMANDS.has(command ?? ""))) {
    return { word, candidates: matching(word, sources.rooms), suffix: " " };
  }
  if (word === "" && !(words.length === 1 && NICK_COMMANDS.has(command ?? ""))) {
    return { word, candidates: [], suffix: "" };
  }
  // A nick at the start of a message is addressed, IRC style: "bob: ".
  const suffix = words.length === 0 ? ": " : " ";
  // Someone present is nearly always who is meant; a recent speaker who matches as well would
  // only stop Tab from completing.
  const present = matching(word, sources.nicks);
  const candidates = present.length > 0 ? present : matching(word, sources.speakers ?? []);
  return { word, candidates, suffix };
}

/** The longest prefix all of `words` share, ignoring case, in the spelling of the first one. */
export function commonPrefix(words: readonly string[]): string {
  if (words.length === 0) return "";
  let end = words[0].length;
  for (const w of words.slice(1)) {
    let i = 0;
    while (i < end && i < w.length && w[i].toLowerCase() === words[0][i].toLowerCase()) i++;
    end = i;
  }
  return words[0].slice(0, end);
}
