/**
 * Unicode defences: nick checks and a uniqueness key against impersonation, and a sanitiser
 * for message text the server relays.
 *
 * A nick is refused if it holds invisible, formatting or direction-changing characters, starts
 * with a combining mark, stacks too many marks, or mixes Latin, Greek, Cyrillic and Armenian
 * letters. Nicks that pass are compared by {@linkcode nickSkeleton}, which also folds
 * whole-script lookalikes ("НЕХ" in Cyrillic collides with "hex").
 *
 * @module
 */

import { NICK_MAX_COMBINING_RUN, TEXT_MAX_COMBINING_RUN } from "../config/security_limits.ts";
import { sanitizeText } from "../protocol/sanitize.ts";
import { toLatinLookalikes } from "./confusables.ts";

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

/** Scripts whose letters imitate each other; a nick may use only one of them. */
const LOOKALIKE_SCRIPTS = ["Latin", "Greek", "Cyrillic", "Armenian"] as const;

const SCRIPT_TESTS = LOOKALIKE_SCRIPTS.map((script) => ({
  script,
  test: new RegExp(`\\p{Script=${script}}`, "u"),
}));

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
  const scripts = SCRIPT_TESTS.filter(({ test }) => test.test(text)).map(({ script }) => script);
  if (scripts.length > 1) {
    return `A nickname may not mix ${scripts.join(" and ")} letters, which look alike; ` +
      "use one alphabet.";
  }
  return null;
}

/**
 * The key under which nicks must be unique: NFKC, accents dropped from Latin, Greek, Cyrillic
 * and Armenian letters (some, like a dot above an i, are nearly invisible, so "rené" and "rene"
 * count as one nick), lookalike letters replaced by the Latin letter they imitate, emoji presentation
 * selectors dropped, and full case folding (so "STRASSE" and "straße" collide).
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
  const compatible = toLatinLookalikes(nick).normalize("NFKC").normalize("NFD");
  const unaccented = dropMarksOnLookalikeLetters(compatible)
    .replace(PRESENTATION_SELECTORS, "")
    .normalize("NFC");
  return toLatinLookalikes(caseFold(toLatinLookalikes(unaccented))).normalize("NFKC");
}

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
  return sanitizeText(text)
    .replace(ALL_BIDI_REORDERING, "")
    .replace(LINE_SEPARATORS, "\n")
    .replace(TEXT_MARK_RUN, "$1");
}
