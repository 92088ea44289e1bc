/**
 * The IRCv3 notify caps as lines for one reader (contract §4.1, §5.6): `away-notify` (AWAY when
 * someone sharing a room goes away or comes back, and after the JOIN of someone away),
 * `account-notify` (ACCOUNT, and 900/901 for the reader's own account), `setname` (SETNAME) and
 * `invite-notify` (an operator's copy of an INVITE). A reader without the cap gets nothing of
 * them. Also the presence summary of a storm, turned back into the exact JOIN, PART and QUIT
 * lines an IRC client needs to keep its member lists true (contract §7.7).
 *
 * @module
 */

import type {
  AccountFrame,
  AwayFrame,
  InfoFrame,
  InviteFrame,
  JoinFrame,
  LeaveFrame,
  SetnameFrame,
} from "../frames.ts";
import { IRC_REALNAME_MAX } from "../../config/irc_limits.ts";
import type { Room } from "../../core/room.ts";
import type { ChatView, SessionPort } from "../session.ts";
import type { IrcCap } from "./caps.ts";
import { hostmaskByNick, setIdent } from "./hostmask.ts";
import { type IrcLine, serverTime } from "./line.ts";
import { numeric, serverReply } from "./numerics.ts";
import { cleanRealname } from "./registration.ts";
import { rememberProfile } from "./commands/whowas.ts";

/** What these lines depend on: the reader, and the chat to find masks in. */
export interface NotifyReader {
  /** The caps the reader has enabled. */
  readonly caps: ReadonlySet<IrcCap>;
  /** The reader's nick. */
  readonly client: string;
  /** The chat, read-only. */
  readonly chat: ChatView;
  /** The server, the source of numerics. */
  readonly info: { readonly serverName: string };
}

/**
 * What an away user with no message of their own (`/away` alone, from another front end) says:
 * an IRC AWAY without one would mean "back".
 */
export const AWAY_WITHOUT_MESSAGE = "Away";

/** The `time` tag of a line at `ts`, with server-time. */
function tags(reader: NotifyReader, ts: number): Record<string, string> {
  return reader.caps.has("server-time") ? { time: serverTime(ts) } : {};
}

/** The mask of `nick` as this reader's lines show it. */
function mask(reader: NotifyReader, nick: string): string {
  return hostmaskByNick(nick, (n) => reader.chat.user(n));
}

/**
 * The lines of a notify frame for `reader`.
 *
 * @example
 * ```ts
 * import type { ChatView } from "../session.ts";
 * declare const chat: ChatView;
 * const reader = { caps: new Set(["away-notify"] as const), client: "bob", chat, info: { serverName: "irc.test" } };
 * notifyLines({ type: "away", nick: "alice", message: "lunch", ts: 0 }, reader);
 * // [{ source: "alice!~sc@….sc", command: "AWAY", params: ["lunch"], trailing: true, tags: {} }]
 * ```
 */
export function notifyLines(
  frame: AwayFrame | AccountFrame | SetnameFrame | InviteFrame,
  reader: NotifyReader,
): IrcLine[] {
  switch (frame.type) {
    case "away":
      // The reader hears of its own away state from 305/306 (away-notify spec).
      if (!reader.caps.has("away-notify") || frame.nick === reader.client) return [];
      return [awayLine(reader, frame.nick, frame.message, frame.ts)];
    case "account":
      return accountLines(frame, reader);
    case "setname":
      if (!reader.caps.has("setname")) return [];
      return [{
        tags: tags(reader, frame.ts),
        source: mask(reader, frame.nick),
        command: "SETNAME",
        params: [frame.realname],
        trailing: true,
      }];
    case "invite":
      // An operator's copy of someone else's invitation: only with invite-notify.
      if (frame.notify && !reader.caps.has("invite-notify")) return [];
      return [{
        tags: tags(reader, frame.ts),
        source: mask(reader, frame.by),
        command: "INVITE",
        params: [frame.to, frame.room],
      }];
  }
}

/** `:n!u@h AWAY :msg`, or `:n!u@h AWAY` for someone back. */
function awayLine(reader: NotifyReader, nick: string, away: string | null, ts: number): IrcLine {
  const line = { tags: tags(reader, ts), source: mask(reader, nick), command: "AWAY" };
  if (away === null) return { ...line, params: [] };
  return { ...line, params: [away === "" ? AWAY_WITHOUT_MESSAGE : away], trailing: true };
}

/**
 * `ACCOUNT <acct|*>` with account-notify (the reader's own included, as the spec says), and for
 * the reader's own account `900`/`901` whatever its caps: a NickServ IDENTIFY or a nick change
 * away from the account logs it in or out.
 */
function accountLines(frame: AccountFrame, reader: NotifyReader): IrcLine[] {
  const source = mask(reader, frame.nick);
  const lines: IrcLine[] = [];
  if (frame.nick === reader.client) {
    const S = reader.info.serverName;
    lines.push({
      source: S,
      ...(frame.account === null
        ? numeric.loggedOut(frame.nick, source)
        : numeric.loggedIn(frame.nick, source, frame.account)),
    });
  }
  if (reader.caps.has("account-notify")) {
    lines.push({
      tags: tags(reader, frame.ts),
      source,
      command: "ACCOUNT",
      params: [frame.account ?? "*"],
    });
  }
  return lines;
}

/**
 * After the JOIN of `nick` into `room`, with away-notify: their AWAY, if they are away (the
 * spec's "when a user joins and has an away message set"). Its words only if they may speak in
 * `room` (not muted, +m, +b): as the AWAY sent when they went away (core/presence.ts tellAway).
 */
export function awayAfterJoin(
  nick: string,
  room: string,
  reader: NotifyReader,
  ts: number,
): IrcLine[] {
  if (!reader.caps.has("away-notify") || nick === reader.client) return [];
  const user = reader.chat.user(nick);
  if (user === undefined || user.away === null) return [];
  const joined = reader.chat.room(room);
  const heard = joined !== undefined && reader.chat.speaksIn(user, joined);
  return [awayLine(reader, nick, heard ? user.away : "", ts)];
}

/**
 * A presence summary as the joins and leaves it counts, for a reader that shows each (null for
 * any other `info`). The reader's own join, and those before it, are left out: it had its own
 * `joined`, whose names listed them.
 */
export function presenceFrames(
  frame: InfoFrame,
  reader: NotifyReader,
): (JoinFrame | LeaveFrame)[] | null {
  const { room, joined, left } = frame;
  if (room === undefined || (joined === undefined && left === undefined)) return null;
  const ts = frame.ts ?? Date.now();
  // Those who joined before the reader did were in its NAMES already: only later joins are news.
  const all = joined ?? [];
  const fresh = all.slice(all.indexOf(reader.client) + 1);
  const joins = fresh.map((nick): JoinFrame => ({
    type: "join",
    room,
    nick,
    ts,
  }));
  const leaves = (left ?? []).map(({ nick, reason }): LeaveFrame => ({
    type: "leave",
    room,
    nick,
    reason,
    ts,
  }));
  return [...joins, ...leaves];
}

/**
 * `333` for a room's topic when its setter is known (not for a topic kept from before a
 * restart), after `332`.
 */
export function topicWhoTime(client: string, room: Room): IrcLine[] {
  if (room.topic === "" || room.topicBy === "") return [];
  return [numeric.topicWhoTime(client, room.name, room.topicBy, Math.floor(room.topicAt / 1000))];
}

/** What `SETNAME` needs of its session. */
export interface SetnameHost {
  /** The peer. */
  readonly port: SessionPort;
  /** The client's nick. */
  readonly client: string;
  /** The client's ident (USER's name, folded). */
  readonly ident: string;
  /** Sends one line from the server. */
  reply(line: IrcLine): void;
}

/**
 * `SETNAME :<realname>`: the real name is cleaned as USER's is; one longer than
 * {@linkcode IRC_REALNAME_MAX} code points, or empty once cleaned, is refused with
 * `FAIL SETNAME INVALID_REALNAME`, and a muted user's with `CANNOT_CHANGE_REALNAME` (sent
 * whatever the caps, as the spec says). Accepted, it is
 * what WHO, WHOIS, WHOWAS and extended-join show from now on, and the client and everyone
 * sharing a room with it get `SETNAME` (with the cap).
 */
export function setname(host: SetnameHost, text: string | undefined): void {
  const user = host.port.user;
  if (user === null) return;
  if (text === undefined) {
    host.reply(numeric.needMoreParams(host.client, "SETNAME"));
    return;
  }
  const realname = cleanRealname(text);
  if ([...text].length > IRC_REALNAME_MAX || realname === "") {
    const why = `Realname is not valid: 1 to ${IRC_REALNAME_MAX} characters, printable ones`;
    host.reply(serverReply.standard("FAIL", "SETNAME", "INVALID_REALNAME", [], why));
    return;
  }
  if (!host.port.announceRealname(realname)) {
    const why = "You are muted: your realname cannot change now";
    host.reply(serverReply.standard("FAIL", "SETNAME", "CANNOT_CHANGE_REALNAME", [], why));
    return;
  }
  setIdent(user, host.ident, realname);
  rememberProfile(user, host.ident, realname);
}
