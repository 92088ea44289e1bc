/**
 * Unicode defences: nick checks and a uniqueness key against impersonation, and a sanitiser
 * for message text the server relays.
 *
 * A nick is refused if it holds invisible, formatting or direction-changing characters, starts
 * with a combining mark, stacks too many marks, or fails the script restriction of
 * {@linkcode scriptProblem} (UTS #39's moderately restrictive level, stricter for Armenian, and
 * only the scripts UAX #31 recommends). Nicks that pass are compared by
 * {@linkcode nickSkeleton}, which folds the lookalikes left within those rules ("НЕХ" in
 * Cyrillic collides with "hex", "bဝb" with a Myanmar letter with "bob").
 *
 * @module
 */

import { NICK_MAX_COMBINING_RUN, TEXT_MAX_COMBINING_RUN } from "../config/security_limits.ts";
import { sanitizeKeepingFormatting, sanitizeText } from "../protocol/sanitize.ts";
import { LATIN_LOOKALIKES, LookalikeMap } from "./confusables.ts";
import { LATIN_CONFUSABLES } from "./confusables_data.ts";
import {
  LOOKALIKE_SCRIPTS,
  RECOMMENDED_SCRIPTS,
  SCRIPT_NAMES,
  WRITING_SYSTEMS,
} from "./scripts_data.ts";

/**
 * Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they reorder
 * the text after them, even beyond the message ("Trojan Source"). Plain marks (LRM, RLM, ALM)
 * only affect neutral characters next to them and are left alone in text.
 */
export const BIDI_REORDERING = /[\u202a-\u202e\u2066-\u2069]/u;

/** Every bidirectional formatting character, the marks included; refused in nicks. */
export const BIDI_CONTROLS = /\p{Bidi_Control}/u;

/**
 * Characters that draw nothing or nothing visible: default-ignorables (zero-width space and
 * joiners, soft hyphen, variation selectors, Hangul fillers, tags), format characters, the
 * Braille blank, private-use, unassigned and lone surrogate code points.
 */
export const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Co}\p{Cn}\p{Cs}\u2800]/u;

/** Controls and every kind of space or separator. */
export const CONTROL_OR_SPACE = /[\p{Cc}\p{Z}\s]/u;

/** An emoji followed by a text/emoji presentation selector, which is how "❤️" is spelled. */
const EMOJI_PRESENTATION = /(\p{Extended_Pictographic})[\ufe0e\ufe0f]/gu;

const LOOKALIKE_LETTER = new RegExp(
  `[${LOOKALIKE_SCRIPTS.map((script) => `\\p{Script=${script}}`).join("")}]`,
  "u",
);

const MARK = /\p{M}/u;
const LEADING_MARK = /^\p{M}/u;
const NICK_MARK_RUN = new RegExp(`\\p{M}{${NICK_MAX_COMBINING_RUN + 1}}`, "u");
const TEXT_MARK_RUN = new RegExp(`(\\p{M}{${TEXT_MAX_COMBINING_RUN}})\\p{M}+`, "gu");
const LINE_SEPARATORS = /[\u2028\u2029]/gu;
const PRESENTATION_SELECTORS = /[\ufe0e\ufe0f]/gu;
const ALL_BIDI_REORDERING = new RegExp(BIDI_REORDERING.source, "gu");

/**
 * Why a nick is unsafe to show or to tell apart from others, as a sentence; null when it is
 * fine. Complements the basic rules in core/nick.ts (length, leading `#`, and so on).
 *
 * @example
 * ```ts
 * nickSafetyProblem("alice"); // null
 * nickSafetyProblem("bob\u202Eevil"); // "A nickname may not contain characters that change ..."
 * ```
 */
export function nickSafetyProblem(nick: string): string | null {
  const text = nick.normalize("NFC");
  if (BIDI_CONTROLS.test(text)) {
    return "A nickname may not contain characters that change the direction of text.";
  }
  if (INVISIBLE.test(text.replace(EMOJI_PRESENTATION, "$1"))) {
    return "A nickname may not contain invisible or formatting characters, such as zero-width " +
      "spaces or joiners.";
  }
  if (CONTROL_OR_SPACE.test(text)) {
    return "A nickname may not contain spaces or control characters.";
  }
  if (LEADING_MARK.test(text)) {
    return "A nickname may not start with a combining mark (an accent with no letter under it).";
  }
  if (NICK_MARK_RUN.test(text)) {
    return `A nickname may have at most ${NICK_MAX_COMBINING_RUN} accents or marks on one letter.`;
  }
  return scriptProblem(text, "A nickname");
}

// --- Restriction level (UTS #39 §5.2) --------------------------------------------------------

const ASCII = /^\p{ASCII}*$/u;
const ASCII_LETTER = /[A-Za-z]/;
/** Common characters with no script of their own: no Script_Extensions beyond Common. */
const COMMON_ONLY = /\p{Script_Extensions=Common}/u;
/** Combining marks (and joiners) take the script of the letter they sit on. */
const INHERITED = /\p{Script=Inherited}/u;
/** Symbols allowed beside letters: emoji, with skin tones. */
const EMOJI = /[\p{Extended_Pictographic}\p{Emoji_Modifier}]/u;
/**
 * Emoji that are letters, in a box or a circle or not (©, ™, ℹ, Ⓜ, 🅰, 🆗), which imitate
 * Latin: the Letterlike Symbols, Enclosed Alphanumerics and their Supplement blocks.
 */
const LETTERLIKE_EMOJI = /[\u00a9\u00ae\u2100-\u214f\u2460-\u24ff\u{1f100}-\u{1f1ff}]/u;

const RECOMMENDED = RECOMMENDED_SCRIPTS.map((script) => ({
  script,
  extension: new RegExp(`\\p{Script_Extensions=${script}}`, "u"),
  own: new RegExp(`\\p{Script=${script}}`, "u"),
}));

/**
 * Sets of writing systems a string may be spread over (UTS #39 moderately restrictive): Latin
 * with Japanese (Han and kana), Korean (Han and Hangul), Han with Bopomofo, or any one other
 * recommended script except the lookalike ones.
 */
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ["Latin", "Japanese"],
  ["Latin", "Korean"],
  ["Latin", "Han with Bopomofo"],
  ...RECOMMENDED_SCRIPTS
    .filter((script) => !LOOKALIKE_SCRIPTS.includes(script))
    .map((script) => ["Latin", script]),
];

/**
 * Why `text` (a nick or a room name, NFC) is refused for the scripts it uses, as a sentence
 * starting with `subject`; null when it is fine. Every letter must belong to a recommended
 * script (UAX #31), and the scripts may be mixed only as UTS #39's moderately restrictive level
 * allows, Armenian counting with Greek and Cyrillic as a lookalike of Latin. Other than letters
 * and marks, only ASCII and emoji are allowed. `suggestion`, if given, is offered in place of a
 * name that mixes lookalike scripts. Costs about thirty regex tests per non-ASCII character,
 * some 30 µs for a 32-letter Cyrillic nick; ASCII costs one.
 *
 * @example
 * ```ts
 * scriptProblem("tanaka山田", "A nickname"); // null
 * scriptProblem("\u13aalice", "A nickname"); // "A nickname may not use Cherokee letters: ..."
 * ```
 */
export function scriptProblem(text: string, subject: string, suggestion?: string): string | null {
  if (ASCII.test(text)) return null;
  /** For each letter, the writing systems it may belong to. */
  const sets: Set<string>[] = [];
  /** The scripts seen, in order, for the message. */
  const seen = new Set<string>();
  for (const char of text) {
    if (char <= "\x7f") {
      if (ASCII_LETTER.test(char)) {
        sets.push(new Set(["Latin"]));
        seen.add("Latin");
      }
      continue;
    }
    if (INHERITED.test(char)) continue;
    if (COMMON_ONLY.test(char)) {
      if (EMOJI.test(char) && !LETTERLIKE_EMOJI.test(char)) continue;
      return `${subject} may not contain the character "${char}" (${codePoint(char)}).`;
    }
    const scripts = RECOMMENDED.filter(({ extension }) => extension.test(char));
    if (scripts.length === 0) {
      const name = scriptName(char);
      return name === null
        ? `${subject} may not contain the character "${char}" (${codePoint(char)}).`
        : `${subject} may not use ${name} letters: only the scripts Unicode recommends for ` +
          "identifiers are allowed.";
    }
    const set = new Set<string>();
    for (const { script } of scripts) {
      set.add(script);
      for (const system of WRITING_SYSTEMS[script] ?? []) set.add(system);
    }
    sets.push(set);
    seen.add((scripts.find(({ own }) => own.test(char)) ?? scripts[0]).script);
  }
  if (sets.length === 0 || oneWritingSystem(sets)) return null;
  if (ALLOWED_MIXES.some((mix) => sets.every((set) => mix.some((system) => set.has(system))))) {
    return null;
  }
  // Latin first, as the script the others are weighed against; the rest as they come.
  const scripts = [...seen].sort((a, b) => Number(b === "Latin") - Number(a === "Latin"));
  if (scripts.every((script) => (LOOKALIKE_SCRIPTS as readonly string[]).includes(script))) {
    return `${subject} may not mix ${listed(scripts)} letters, which look alike; ` +
      (suggestion === undefined ? "use one alphabet." : `did you mean ${suggestion}?`);
  }
  return `${subject} may not mix ${listed(scripts)} letters.`;
}

/** True if one writing system is common to every letter. */
function oneWritingSystem(sets: readonly Set<string>[]): boolean {
  return [...sets[0]].some((system) => sets.every((set) => set.has(system)));
}

let scriptTests: { name: string; test: RegExp }[] | undefined;

/** The name of the script of `char` ("Canadian Aboriginal"), or null. Only on refusal. */
function scriptName(char: string): string | null {
  scriptTests ??= SCRIPT_NAMES.flatMap((name) => {
    try {
      return [{ name, test: new RegExp(`\\p{Script=${name}}`, "u") }];
    } catch {
      return []; // a script newer than this JavaScript engine
    }
  });
  return scriptTests.find(({ test }) => test.test(char))?.name.replaceAll("_", " ") ?? null;
}

function codePoint(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** "A", "A and B", "A, B and C". */
function listed(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

// --- Skeleton --------------------------------------------------------------------------------

/**
 * Lookalikes and the basic Latin letter or digit each imitates: the confusables of recommended
 * scripts (security/confusables_data.ts, from Unicode's table), overridden by sockchat's
 * hand-picked table (security/confusables.ts) where the two disagree.
 */
const TO_LATIN = new LookalikeMap([LATIN_CONFUSABLES, LATIN_LOOKALIKES]);

/**
 * `text` with every lookalike of a basic Latin letter or digit replaced by it (letters in lower
 * case); everything else left alone.
 *
 * @example
 * ```ts
 * toLatinLetters("\u0430lice"); // "alice" (the first letter was Cyrillic)
 * toLatinLetters("b\u101db"); // "bob" (Myanmar wa)
 * ```
 */
export function toLatinLetters(text: string): string {
  return TO_LATIN.replace(text);
}

/**
 * The key under which nicks must be unique: NFKC, accents dropped from Latin, Greek, Cyrillic
 * and Armenian letters (some, like a dot above an i, are nearly invisible, so "rené" and "rene"
 * count as one nick), lookalike letters replaced by the Latin letter they imitate, emoji presentation
 * selectors dropped, full case folding (so "STRASSE" and "straße" collide), and last the basic Latin
 * lookalikes of {@linkcode ASCII_LOOKALIKES} (so "aIice" and "al1ce" collide with "alice").
 *
 * @example
 * ```ts
 * nickSkeleton("Alice") === nickSkeleton("\u0430lice"); // true: Cyrillic а
 * nickSkeleton("ΗΕΧ") === nickSkeleton("hex"); // true: Greek capitals
 * ```
 */
export function nickSkeleton(nick: string): string {
  // Lookalikes are mapped three times: first, as typed, because NFKC would turn some into
  // letters that no longer look Latin (Greek lunate Ϲ becomes Σ); then with accents gone and
  // case intact, because case matters to the eye (Greek Η looks like H, η like n); and last
  // after folding, for capitals that the table only lists in lower case.
  const compatible = toLatinLetters(nick).normalize("NFKC").normalize("NFD");
  const unaccented = dropMarksOnLookalikeLetters(compatible)
    .replace(PRESENTATION_SELECTORS, "")
    .normalize("NFC");
  const folded = toLatinLetters(caseFold(toLatinLetters(unaccented))).normalize("NFKC");
  // Last, the basic Latin letters and digits that pass for each other (after case folding, so
  // I has become i): an "aIice" or "al1ce" is "alice" to most readers, in most fonts.
  return folded.replace(ASCII_LOOKALIKE, (char) => ASCII_LOOKALIKES[char] ?? char);
}

/**
 * Basic Latin characters that pass for one another, each mapped to one of its class, as UTS #39's
 * skeleton does (I, 1 and | to l; 0 to O) but for case-folded text: i joins l's class, since
 * capital I is l's lookalike and folds to i, and 0 joins o.
 */
export const ASCII_LOOKALIKES: Readonly<Record<string, string>> = {
  i: "l",
  "1": "l",
  "|": "l",
  "0": "o",
};

const ASCII_LOOKALIKE = /[i1|0]/g;

/** Removes combining marks whose base letter is Latin, Greek, Cyrillic or Armenian. Linear. */
function dropMarksOnLookalikeLetters(decomposed: string): string {
  let out = "";
  let dropping = false;
  for (const char of decomposed) {
    if (MARK.test(char)) {
      if (!dropping) out += char;
      continue;
    }
    dropping = LOOKALIKE_LETTER.test(char);
    out += char;
  }
  return out;
}

/**
 * Full case folding, close enough for identifiers: lower, upper, lower. Upper-casing expands
 * "ß" to "SS" and "ﬀ" to "FF", which simple lower-casing misses; lowering first turns "ẞ" into
 * "ß" so that it expands too.
 */
export function caseFold(text: string): string {
  return text.toLowerCase().toUpperCase().toLowerCase();
}

/**
 * Message text made safe to relay and print: escape sequences (CSI, OSC, DCS, ...) and control
 * characters other than `\n` removed (tab becomes a space) by protocol/sanitize.ts; bidi
 * embeddings, overrides and isolates removed; U+2028/U+2029 turned into `\n`; and runs of
 * combining marks cut to {@linkcode TEXT_MAX_COMBINING_RUN}.
 *
 * @example
 * ```ts
 * sanitizeMessageText("\x1b[31mred\x1b[0m\u202E txt\ttab"); // "red txt tab"
 * ```
 */
export function sanitizeMessageText(text: string): string {
  return cleanUnicode(sanitizeText(text));
}

/**
 * {@linkcode sanitizeMessageText}, but keeping IRC's formatting codes: `\x02` bold,
 * `\x03[fg[,bg]]` colour, `\x04[RRGGBB[,RRGGBB]]` hex colour, `\x0f` reset, `\x11` monospace,
 * `\x16` reverse, `\x1d` italic, `\x1e` strike-through and `\x1f` underline. What the core stores
 * and relays as a message's text: IRC readers get it as sent, every other encoder passes it
 * through {@linkcode stripIrcFormatting}, so no control character reaches a terminal or a page.
 *
 * @example
 * ```ts
 * sanitizeFormattedText("\x0304red\x0f \x1b[2Jtext"); // "\x0304red\x0f text"
 * ```
 */
export function sanitizeFormattedText(text: string): string {
  return cleanUnicode(sanitizeKeepingFormatting(text));
}

/** Bidi overrides removed, line separators as `\n`, runs of combining marks cut. */
function cleanUnicode(text: string): string {
  return text
    .replace(ALL_BIDI_REORDERING, "")
    .replace(LINE_SEPARATORS, "\n")
    .replace(TEXT_MARK_RUN, "$1");
}

// One formatting code with its colour digits: \x03 takes 1-2 digits, then a comma and 1-2 more
// only if they follow (a comma alone is text); \x04 takes 6 hex digits, likewise.
const IRC_FORMATTING =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\x02\x0f\x11\x16\x1d\x1e\x1f]|\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?/g;
// deno-lint-ignore no-control-regex -- as above
const ANY_IRC_FORMATTING = /[\x02-\x04\x0f\x11\x16\x1d-\x1f]/;

/**
 * True if `text` holds an IRC formatting code (or any of their bytes): one regex test, what an
 * encoder checks before copying a frame.
 */
export function hasIrcFormatting(text: string): boolean {
  return ANY_IRC_FORMATTING.test(text);
}

/**
 * `text` without IRC formatting codes and their colour digits (see
 * {@linkcode sanitizeFormattedText}); `text` itself when it has none, found by one regex test.
 * Combining marks that removing a code brought together are cut to
 * {@linkcode TEXT_MAX_COMBINING_RUN} again.
 *
 * @example
 * ```ts
 * stripIrcFormatting("\x02bold\x02 \x0304,12red\x03 \x0399"); // "bold red "
 * stripIrcFormatting("\x033,x"); // ",x"
 * ```
 */
export function stripIrcFormatting(text: string): string {
  if (!ANY_IRC_FORMATTING.test(text)) return text;
  return text.replace(IRC_FORMATTING, "").replace(TEXT_MARK_RUN, "$1");
}
