/**
 * Nickname rules: what a nick may contain, and the key under which two nicks count as the same.
 *
 * @module
 */

import { NICK_MAX_LENGTH } from "../config/limits.ts";
import { nickSafetyProblem, nickSkeleton } from "../security/unicode.ts";

/**
 * Why a nick was refused, as a sentence; null when it is fine. Besides the rules here, the
 * Unicode checks of {@linkcode nickSafetyProblem}: nothing invisible or direction-changing, and
 * letters only from the scripts Unicode recommends, mixed only as UTS #39 allows.
 */
export function nickProblem(nick: string): string | null {
  const length = [...nick].length;
  if (length === 0) return "A nickname needs at least one character.";
  if (length > NICK_MAX_LENGTH) {
    return `A nickname may have at most ${NICK_MAX_LENGTH} characters; that one has ${length}.`;
  }
  // \p{Cc}: C0/C1 controls and DEL; \p{Cf}: invisible format characters (zero-width, bidi).
  if (/[\s\p{Cc}\p{Cf}\p{Z}]/u.test(nick)) {
    return "A nickname may not contain spaces, control or invisible characters.";
  }
  if (/^[#/*!]/.test(nick)) return "A nickname may not start with #, /, * or !.";
  if (/[<>,]/.test(nick)) return "A nickname may not contain <, > or a comma.";
  return nickSafetyProblem(nick);
}

/** The nick as it will be shown: Unicode-normalised (NFC) so equal-looking nicks compare equal. */
export function displayNick(nick: string): string {
  return nick.normalize("NFC");
}

/**
 * The key under which nicks are unique: see {@linkcode nickSkeleton}. Compatibility forms,
 * case, accents on lookalike letters and letters of other scripts that imitate Latin ones are
 * all folded away, so "Аlice" with a Cyrillic А cannot pose as "alice".
 */
export function nickKey(nick: string): string {
  return nickSkeleton(nick);
}
