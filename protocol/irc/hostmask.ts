/**
 * The `nick!~ident@cloak` every IRC line from a user carries. The cloak hides the address (an
 * HMAC under a key made at each start, so it cannot be reversed or matched across restarts);
 * IPv6 addresses are cloaked by their /64, as the door counts them. The ident is the USER name
 * an IRC client gave, or `~sc` for users of the other front ends.
 *
 * @module
 */

import { cloakOf } from "../../core/cloak.ts";
import { IRC_USERLEN } from "../../config/irc_limits.ts";
import { nickKey } from "../../core/nick.ts";
import type { User } from "../../core/user.ts";

/** Masks remembered per nick, at most this many. */
const CACHE_MAX = 10_000;
/** The last mask of each nick, for lines about users who are already gone (a QUIT). */
const lastMasks = new Map<string, string>();
/** USER realnames of IRC users (see {@linkcode setIdent}). */
const realnames = new WeakMap<User, string>();

// The cloak moved to the core (room bans match it); IRC code keeps importing it from here.
export { cloakOf };

/**
 * The ident an IRC user gave in USER, folded to `[A-Za-z0-9._-]` and cut to
 * {@linkcode IRC_USERLEN} (empty → `u`).
 *
 * @example
 * ```ts
 * foldIdent("Alice Smith"); // "AliceSmith"
 * ```
 */
export function foldIdent(name: string): string {
  const folded = name.replace(/[^A-Za-z0-9._-]/g, "").slice(0, IRC_USERLEN - 1);
  return folded === "" ? "u" : folded;
}

/**
 * Records the USER name of an IRC user, shown as `~name` in their mask, and their realname
 * (WHO, WHOIS, extended-join).
 */
export function setIdent(user: User, ident: string, realname = ""): void {
  user.ident = ident;
  if (realname !== "") realnames.set(user, realname);
}

/**
 * A user's realname: USER's for IRC users, else a description of sockchat's.
 *
 * @example
 * ```ts
 * import type { User } from "../../core/user.ts";
 * declare const alice: User;
 * realnameOf(alice); // "sockchat user"
 * ```
 */
export function realnameOf(user: User): string {
  return realnames.get(user) ?? "sockchat user";
}

/**
 * `nick!~ident@cloak` of a user online now.
 *
 * @example
 * ```ts
 * import type { User } from "../../core/user.ts";
 * declare const alice: User;
 * hostmaskOf(alice); // "alice!~sc@1a2b3c4d5e.sc"
 * ```
 */
export function hostmaskOf(user: User): string {
  const mask = `${user.nick}!~${user.ident}@${cloakOf(user.address)}`;
  // The user's own folded nick: nickKey again per line was a measurable part of IRC's time.
  const key = user.key;
  if (lastMasks.get(key) !== mask) {
    if (lastMasks.size >= CACHE_MAX) lastMasks.clear();
    lastMasks.set(key, mask);
  }
  return mask;
}

/**
 * The mask for `nick`: the user's own when online (`find` looks them up), else the last one
 * seen, else a placeholder that still parses as a mask.
 */
export function hostmaskByNick(nick: string, find: (nick: string) => User | undefined): string {
  const user = find(nick);
  if (user !== undefined && user.nick === nick) return hostmaskOf(user);
  return lastMasks.get(nickKey(nick)) ?? `${nick}!~sc@gone.sc`;
}
