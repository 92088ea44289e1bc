/**
 * Nickname rules: what a nick may contain, and the key under which two nicks count as the same.
 *
 * @module
 */

import { NICK_MAX_LENGTH } from "../config/limits.ts";
import { nickSafetyProblem, nickSkeleton } from "../security/unicode.ts";

/**
 * Nicks of services that IRC users talk to (`/msg NickServ IDENTIFY ...`): nobody may take or
 * register them, or anything that folds to them ({@linkcode nickKey}), on any front end.
 */
export const SERVICE_NICKS: readonly string[] = ["NickServ", "ChanServ"];

let serviceKeys: Set<string> | undefined;

/** The service `nick` stands for ("NickServ" for "nickserv" or "NICKSERV"), or null. */
export function serviceNick(nick: string): string | null {
  serviceKeys ??= new Set(SERVICE_NICKS.map(nickKey));
  const key = nickKey(nick);
  return serviceKeys.has(key) ? SERVICE_NICKS.find((s) => nickKey(s) === key) ?? null : null;
}

/**
 * Why IRC could not carry `nick`, as a sentence; null when it can. IRC writes a sender as
 * `nick!user@host` and matches masks with `*` and `?`, so `!`, `@`, `*` and `?` would break
 * every client's parsing; and reads a leading `:`, `$`, `&`, `~`, `%` or `+` as a prefix (a
 * trailing parameter, a server mask, a channel, or a member's status).
 */
export function ircNickProblem(nick: string): string | null {
  if (/[!@*?]/.test(nick)) {
    return "A nickname may not contain !, @, * or ? (IRC uses them in addresses and masks).";
  }
  if (/^[:$&~%+]/.test(nick)) {
    return "A nickname may not start with :, $, &, ~, % or + (IRC reads them as prefixes).";
  }
  return null;
}

/** Settings for {@linkcode nickProblem}. */
export interface NickRules {
  /**
   * The nick is a registered account's, proven: accounts registered before the IRC rules (see
   * {@linkcode ircNickProblem}) keep working. @default false
   */
  registered?: boolean;
}

/**
 * Why a nick was refused, as a sentence; null when it is fine. Besides the rules here, the
 * Unicode checks of {@linkcode nickSafetyProblem}: nothing invisible or direction-changing, and
 * letters only from the scripts Unicode recommends, mixed only as UTS #39 allows; the IRC
 * rules of {@linkcode ircNickProblem}; and no {@linkcode SERVICE_NICKS}.
 */
export function nickProblem(nick: string, rules: NickRules = {}): string | null {
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
  const irc = rules.registered ? null : ircNickProblem(nick);
  if (irc !== null) return irc;
  const unsafe = nickSafetyProblem(nick);
  if (unsafe !== null) return unsafe;
  const service = serviceNick(nick);
  return service === null
    ? null
    : `${service} is the name of a service (IRC users send it commands); pick another nickname.`;
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
