/**
 * `WHOWAS <nick> [count]` (contract §3): who held a nick that has left, from the core's bounded
 * memory of departures (`core/departures.ts`, at most `WHOWAS_MAX`). An entry is `314` (ident,
 * cloak, real name: never the address) and `312` (this server, and when they left), newest
 * first; `406` when there is none; `369` ends the answer either way.
 *
 * The ident and real name are the IRC front end's own (USER, SETNAME), so they are remembered
 * here, by nick and login (two spells under one nick each show their own), as their holder last
 * had them: {@linkcode rememberProfile}.
 *
 * @module
 */

import { WHOWAS_MAX } from "../../../config/irc_limits.ts";
import { nickKey } from "../../../core/nick.ts";
import type { User } from "../../../core/user.ts";
import { cloakOf } from "../hostmask.ts";
import type { IrcLine } from "../line.ts";
import { numeric } from "../numerics.ts";
import type { QueryContext } from "./query.ts";

/** What an IRC user showed of themselves under a nick. */
interface Profile {
  /** The USER name, folded (shown as `~ident`). */
  readonly ident: string;
  /** The real name (USER's, or SETNAME's). */
  readonly realname: string;
}

/**
 * Profiles by {@linkcode profileId} (folded nick and login time), oldest first, at most
 * {@linkcode WHOWAS_MAX}: the core remembers no more departures than that, so no more profiles
 * can be asked for.
 */
const profiles = new Map<string, Profile>();

/**
 * Remembers what `user` (an IRC user) shows under its nick as ident and real name, for `WHOWAS`
 * once they are gone. Called at the welcome, on a nick change and on SETNAME.
 *
 * @example
 * ```ts
 * import type { User } from "../../../core/user.ts";
 * declare const alice: User;
 * rememberProfile(alice, "alice", "Alice Liddell");
 * ```
 */
export function rememberProfile(user: User, ident: string, realname: string): void {
  const key = profileId(user.nick, user.since);
  profiles.delete(key);
  if (profiles.size >= WHOWAS_MAX) {
    const oldest = profiles.keys().next().value;
    if (oldest !== undefined) profiles.delete(oldest);
  }
  profiles.set(key, { ident, realname });
}

/** A profile's key: one holder's spell under one nick (`since` is `User.since`). */
function profileId(nick: string, since: number): string {
  return `${nickKey(nick)}\n${since}`;
}

/**
 * The `WHOWAS` answer for `nick`: up to `count` entries (all when absent or not a positive
 * number), newest first, then `369`; or `406` then `369`.
 *
 * @example
 * ```ts
 * import type { ChatView } from "../../session.ts";
 * declare const chat: ChatView;
 * const ctx = { chat, client: "bob", serverName: "irc.test" };
 * whowasLines(ctx, "alice").at(-1)?.command; // "369"
 * ```
 */
export function whowasLines(ctx: QueryContext, nick: string, count?: string): IrcLine[] {
  const { chat, client, serverName } = ctx;
  const asked = Number(count);
  const limit = Number.isInteger(asked) && asked > 0 ? asked : undefined;
  const gone = chat.whowas(nick, limit);
  if (gone.length === 0) {
    return [numeric.wasNoSuchNick(client, nick), numeric.endOfWhowas(client, nick)];
  }
  const lines: IrcLine[] = [];
  for (const { nick: held, address, at, since } of gone) {
    const own = profiles.get(profileId(held, since));
    lines.push(numeric.whowasUser(
      client,
      held,
      `~${own?.ident ?? "sc"}`,
      cloakOf(address),
      own?.realname ?? "sockchat user",
    ));
    lines.push(numeric.whoisServer(client, held, serverName, new Date(at).toUTCString()));
  }
  lines.push(numeric.endOfWhowas(client, nick));
  return lines;
}
