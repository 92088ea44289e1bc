/**
 * IRC's read-only commands (contract §3): LUSERS, MOTD, WHO, WHOIS, ISON, VERSION, answered from
 * the chat's read-only view without a hub call. Each returns the lines, without source; the
 * session adds the server's.
 *
 * @module
 */

import { WHO_MAX_REPLIES } from "../../../config/irc_limits.ts";
import type { Room } from "../../../core/room.ts";
import type { User } from "../../../core/user.ts";
import type { ChatView } from "../../session.ts";
import { cloakOf, hostmaskOf, realnameOf } from "../hostmask.ts";
import type { IrcLine } from "../line.ts";
import { numeric } from "../numerics.ts";

/** Who asks, and where. */
export interface QueryContext {
  /** The chat, read-only. */
  readonly chat: ChatView;
  /** The asker's nick. */
  readonly client: string;
  /** The server name. */
  readonly serverName: string;
  /** The asker has multi-prefix: WHO flags show both `@` and `+`. */
  readonly multiPrefix?: boolean;
}

/**
 * Users who set `+i` (IRC's invisible, `MODE <me> +i`): a WHO by mask leaves them out unless
 * they share a room with the asker (Modern WHO), and LUSERS counts them apart.
 */
export const invisible: WeakSet<User> = new WeakSet<User>();

/**
 * The most users each chat has had at one LUSERS reply (every IRC registration sends one), for
 * 265/266's `max`: that is the peak seen, not `--max-users` (irctest lusers.py; Modern LUSERS).
 * Kept apart for this server's own users (265) and the whole chat's (266), which differ in a
 * cluster.
 */
const peaks = new WeakMap<ChatView, { local: number; global: number }>();

/**
 * 251, 252, 254, 255, 265, 266 with the counts of now (and the peak so far). 253 (unknown
 * connections) is left out, as Modern allows: the chat does not see connections that have not
 * logged in, and a 0 would be wrong whenever there are some (irctest lusers.py).
 *
 * In a cluster (`serve --redis`) the users other nodes hold are here as mirrors (`User.node`
 * set), and the counts say which is which, as an IRC network does: 251, 252 and 266 are the
 * whole chat's, with one server per node that has users (this one always counts); 255 and 265
 * are this node's own users, and 255's servers are the other nodes. On its own a server says 1
 * server in 251 and 0 in 255, as before.
 *
 * @example
 * ```ts
 * import type { ChatView } from "../../session.ts";
 * declare const chat: ChatView;
 * lusersLines({ chat, client: "alice", serverName: "irc.test" }).length; // 6
 * ```
 */
export function lusersLines(ctx: QueryContext): IrcLine[] {
  const { chat, client } = ctx;
  let users = 0;
  let local = 0;
  let ops = 0;
  let hidden = 0;
  let rooms = 0;
  // Other nodes are known by their users: a node with nobody on it is not seen from here.
  const nodes = new Set<string>();
  for (const user of chat.users) {
    users++;
    if (user.node === undefined) local++;
    else nodes.add(user.node);
    if (user.operator) ops++;
    if (invisible.has(user)) hidden++;
  }
  for (const room of chat.rooms) if (room.members.size > 0) rooms++;
  const before = peaks.get(chat);
  const peak = {
    local: Math.max(before?.local ?? 0, local),
    global: Math.max(before?.global ?? 0, users),
  };
  peaks.set(chat, peak);
  return [
    numeric.luserClient(client, users - hidden, hidden, 1 + nodes.size),
    numeric.luserOp(client, ops),
    numeric.luserChannels(client, rooms),
    numeric.luserMe(client, local, nodes.size),
    numeric.localUsers(client, local, peak.local),
    numeric.globalUsers(client, users, peak.global),
  ];
}

/** The MOTD as 375, one 372 per line, 376; or 422 when there is none. */
export function motdLines(client: string, serverName: string, motd: string): IrcLine[] {
  if (motd === "") return [numeric.noMotd(client)];
  return [
    numeric.motdStart(client, serverName),
    ...motd.split("\n").map((line) => numeric.motd(client, line)),
    numeric.endOfMotd(client),
  ];
}

/** The ident part of a user's mask (`~name`). */
function identOf(user: User): string {
  const mask = hostmaskOf(user);
  return mask.slice(mask.indexOf("!") + 1, mask.indexOf("@"));
}

/** `H`/`G`, `*` for an operator, then `@`/`+` in `room` (both with `multiPrefix`). */
function whoFlags(user: User, room: Room | undefined, multiPrefix = false): string {
  let flags = user.away === null ? "H" : "G";
  if (user.operator) flags += "*";
  if (room !== undefined) {
    const op = room.ops.has(user) ? "@" : "";
    const voice = room.voiced.has(user) ? "+" : "";
    flags += multiPrefix ? op + voice : op || voice;
  }
  return flags;
}

/** A `*`/`?` glob as a case-insensitive regular expression. */
function globRegExp(mask: string): RegExp {
  const body = mask.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll(
    "?",
    ".",
  );
  return new RegExp(`^${body}$`, "i");
}

/** WHOX field letters, in the order the reply gives them whatever the order asked. */
const WHOX_ORDER = "tcuihsnfdlaor";

/**
 * `WHO <mask> [%fields[,token]]`: a room's members, or the users whose nick matches a glob
 * (`*`/`0`: everyone sharing a room with the asker; `+i` users only then); 352 each (354 with exactly the WHOX fields
 * asked, in canonical order), at most {@linkcode WHO_MAX_REPLIES}, then 315 with the mask as sent.
 */
export function whoLines(ctx: QueryContext, mask: string, options = "", now = 0): IrcLine[] {
  const { chat, client, serverName } = ctx;
  const lines: IrcLine[] = [];
  const whox = options.startsWith("%") ? parseWhox(options) : null;
  const reply = (user: User, room: Room | undefined) => {
    if (lines.length >= WHO_MAX_REPLIES) return;
    if (whox !== null) {
      lines.push(whoxReply(ctx, user, room, whox, now));
      return;
    }
    lines.push(numeric.whoReply(client, {
      channel: room?.name ?? "*",
      user: identOf(user),
      host: cloakOf(user.address),
      server: serverName,
      nick: user.nick,
      flags: whoFlags(user, room, ctx.multiPrefix),
      realname: realnameOf(user),
    }));
  };
  if (mask.startsWith("#")) {
    const room = chat.room(mask);
    for (const user of room?.members ?? []) reply(user, room);
  } else {
    const me = chat.user(client);
    const everyone = mask === "*" || mask === "0";
    const glob = /[*?]/.test(mask);
    const pattern = globRegExp(mask);
    for (const user of chat.users) {
      if (everyone ? !sharesRoom(user, me) : !pattern.test(user.nick)) continue;
      // An exact nick finds an invisible user; a mask does not, unless a room is shared.
      if (glob && invisible.has(user) && !sharesRoom(user, me)) continue;
      reply(user, undefined);
    }
  }
  return [...lines, numeric.endOfWho(client, mask)];
}

/** `%fields[,token]`: the field letters asked for (known ones only) and the token. */
function parseWhox(options: string): { fields: string; token: string } {
  const [letters, token = ""] = options.slice(1).split(",", 2);
  const fields = [...WHOX_ORDER].filter((f) => letters.includes(f)).join("");
  // A token is up to 3 digits (WHOX spec); anything else is not echoed.
  return { fields, token: /^\d{1,3}$/.test(token) ? token : "0" };
}

/** One 354 line with the asked fields in canonical order. */
function whoxReply(
  ctx: QueryContext,
  user: User,
  room: Room | undefined,
  whox: { fields: string; token: string },
  now: number,
): IrcLine {
  const values: string[] = [];
  let realname: string | undefined;
  for (const f of whox.fields) {
    switch (f) {
      case "t":
        values.push(whox.token);
        break;
      case "c":
        values.push(room?.name ?? "*");
        break;
      case "u":
        values.push(identOf(user));
        break;
      case "i":
        values.push("255.255.255.255");
        break;
      case "h":
        values.push(cloakOf(user.address));
        break;
      case "s":
        values.push(ctx.serverName);
        break;
      case "n":
        values.push(user.nick);
        break;
      case "f":
        values.push(whoFlags(user, room, ctx.multiPrefix));
        break;
      case "d":
        values.push("0");
        break;
      case "l":
        values.push(String(Math.max(0, Math.floor((now - user.lastActive) / 1000))));
        break;
      case "a":
        values.push(user.verified ? user.nick : "0");
        break;
      case "o":
        values.push("n/a");
        break;
      case "r":
        realname = realnameOf(user);
        break;
    }
  }
  return numeric.whoSpcRpl(ctx.client, values, realname);
}

/** `LIST`: 321, a 322 for each room with members (busiest first, at most `limit`), 323. */
export function listLines(ctx: QueryContext, limit: number): IrcLine[] {
  const rooms = [...ctx.chat.rooms].filter((room) => room.members.size > 0)
    .sort((a, b) => b.members.size - a.members.size).slice(0, limit);
  return [
    numeric.listStart(ctx.client),
    ...rooms.map((room) => numeric.list(ctx.client, room.name, room.members.size, room.topic)),
    numeric.listEnd(ctx.client),
  ];
}

/** `USERHOST n1 … n5`: 302 with `nick[*]=<+|->~ident@cloak` for those online. */
export function userhostLines(ctx: QueryContext, nicks: readonly string[]): IrcLine[] {
  const replies = nicks.slice(0, 5).flatMap((nick) => {
    const user = ctx.chat.user(nick);
    if (user === undefined) return [];
    const oper = user.operator ? "*" : "";
    const away = user.away === null ? "+" : "-";
    return [`${user.nick}${oper}=${away}${identOf(user)}@${cloakOf(user.address)}`];
  });
  return [numeric.userhost(ctx.client, replies)];
}

/** True if `a` and `b` are in some room together (or are the same user). */
function sharesRoom(a: User, b: User | undefined): boolean {
  if (b === undefined) return false;
  if (a === b) return true;
  for (const room of a.rooms) if (room.members.has(b)) return true;
  return false;
}

/** `WHOIS <nick>`: 311, 319, 312, 301, 313, 330, 317, 318; or 401 then 318. */
export function whoisLines(ctx: QueryContext, nick: string, now: number): IrcLine[] {
  const { chat, client, serverName } = ctx;
  const user = chat.user(nick);
  if (user === undefined) {
    return [numeric.noSuchNick(client, nick), numeric.endOfWhois(client, nick)];
  }
  const n = user.nick;
  const lines: IrcLine[] = [
    numeric.whoisUser(client, n, identOf(user), cloakOf(user.address), realnameOf(user)),
  ];
  const rooms = [...user.rooms].map((room) =>
    (room.ops.has(user) ? "@" : room.voiced.has(user) ? "+" : "") + room.name
  );
  if (rooms.length > 0) lines.push(numeric.whoisChannels(client, n, rooms));
  lines.push(numeric.whoisServer(client, n, serverName, "sockchat"));
  if (user.away !== null) lines.push(numeric.away(client, n, user.away));
  if (user.operator) lines.push(numeric.whoisOperator(client, n));
  if (user.verified) lines.push(numeric.whoisAccount(client, n, n));
  const idle = Math.max(0, Math.floor((now - user.lastActive) / 1000));
  lines.push(numeric.whoisIdle(client, n, idle, Math.floor(user.since / 1000)));
  lines.push(numeric.endOfWhois(client, n));
  return lines;
}

/** `ISON n1 n2 …`: 303 with those online, as the server spells them. */
export function isonLines(ctx: QueryContext, nicks: readonly string[]): IrcLine[] {
  const online = nicks.flatMap((nick) => {
    const user = ctx.chat.user(nick);
    return user === undefined ? [] : [user.nick];
  });
  return [numeric.ison(ctx.client, online)];
}
