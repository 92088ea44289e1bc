/**
 * IRC's room commands (contract §3): JOIN, PART, TOPIC, NAMES and MODE, checked against the
 * read-only chat first so that the numerics name the right target, then run by the core.
 *
 * @module
 */

import { IRC_MAX_KICK_TARGETS, IRC_MODES_PER_LINE } from "../../../config/irc_limits.ts";
import type { Awaitable } from "../../../core/awaitable.ts";
import { type Room, roomProblem } from "../../../core/room.ts";
import {
  keyProblem,
  type ModeChange,
  parseLimit,
  parseModeChanges,
  shownMask,
} from "../../../core/room_modes.ts";
import type { ChatView } from "../../session.ts";
import type { RoomModes } from "../../../core/room_modes.ts";
import { reasonText } from "../../../core/commands/arguments.ts";
import { hostmaskOf } from "../hostmask.ts";
import type { IrcLine } from "../line.ts";
import { numeric } from "../numerics.ts";
import { topicWhoTime } from "../notify.ts";
import { type CommandHost, eachCharged, eachInOrder } from "./host.ts";
import { invisible } from "./query.ts";

/** `JOIN #a,#b [k1,k2]`, or `JOIN 0` to leave every room. */
export function join(
  host: CommandHost,
  list: string,
  keyList: string | undefined,
): Awaitable<void> {
  if (list === "0") {
    const rooms = [...(host.port.user?.rooms ?? [])].map((room) => room.name);
    return eachInOrder(
      rooms,
      (room) => host.command(`/leave ${room}`, room, host.remember("PART", room)),
    );
  }
  const keys = keyList?.split(",") ?? [];
  return eachCharged(host, list.split(","), (room, i) => {
    const problem = room === "" ? null : roomProblem(room);
    if (room === "" || problem !== null) {
      // A name without # is no channel at all; one with # is told what is wrong with it.
      const why = room.startsWith("#") ? problem ?? undefined : undefined;
      host.reply(numeric.noSuchChannel(host.client, room === "" ? "*" : room, why));
      return;
    }
    if (host.port.isIn(room)) return;
    const key = keys[i] ?? "";
    const wanted = host.port.chat.room(room)?.modes.key ?? null;
    // A key for a room without +k is ignored (irssi sends `x` for every room).
    const keyed = wanted !== null && key !== "" && !/\s/.test(key) ? ` ${key}` : "";
    return host.command(`/join ${room}${keyed}`, room, host.remember("JOIN", room));
  });
}

/**
 * `PART #r [:message]`: 403 for no such room, 442 when not in it; the room (on every front end)
 * sees the message, cleaned and cut as a quit reason is.
 */
export function part(host: CommandHost, room: string, message = ""): Awaitable<void> {
  if (host.port.chat.room(room) === undefined) {
    host.reply(absentRoom(host, room));
    return;
  }
  if (!host.port.isIn(room)) {
    host.reply(numeric.notOnChannel(host.client, room));
    return;
  }
  const words = message.trim() === "" ? "" : ` ${message}`;
  // The words are kept with the ref for the client's own PART, cleaned and cut as the core does.
  const ref = host.remember("PART", room, reasonText(message));
  return host.command(`/leave ${room}${words}`, room, ref);
}

/** `TOPIC #r [:text]`: asks (332 and 333, or 331), sets, or with an empty text clears. */
export function topic(host: CommandHost, room: string, text: string | undefined): Awaitable<void> {
  const found = host.port.chat.room(room);
  const c = host.client;
  if (found === undefined) {
    host.reply(absentRoom(host, room));
    return;
  }
  if (!host.port.isIn(room)) {
    host.reply(numeric.notOnChannel(c, room));
    return;
  }
  if (text === undefined) {
    host.replies(
      found.topic === ""
        ? [numeric.noTopic(c, found.name)]
        : [numeric.topic(c, found.name, found.topic), ...topicWhoTime(c, found)],
    );
    return;
  }
  const ref = host.remember("TOPIC", found.name);
  // `TOPIC #r :` clears it, which no /topic line can say; so does a blank text, which a
  // /topic line would read as asking for the topic.
  if (text.trim() === "") return host.port.setTopic(found.name, "", ref);
  return host.command(`/topic ${text}`, found.name, ref);
}

/** `NAMES [#a,#b]`: each room after the first charged to flood control, as a JOIN list is. */
export function names(host: CommandHost, list: string | undefined): Awaitable<void> {
  const c = host.client;
  if (list === undefined || list === "") {
    host.reply(numeric.endOfNames(c, "*"));
    return;
  }
  return eachCharged(host, list.split(","), (name) => {
    const room = host.port.chat.room(name);
    if (room === undefined) host.reply(numeric.endOfNames(c, name));
    else host.replies(host.names(room));
  });
}

/**
 * `MODE <me> [+i|-i]`: 221, or the change echoed (irssi sends `MODE <me> +i` after 001); `+o`
 * is ignored (only OPER gives it), other letters are 501, another nick 502.
 */
function userMode(host: CommandHost, target: string, change: string | undefined): void {
  const c = host.client;
  const user = host.port.user;
  if (target.toLowerCase() !== c.toLowerCase() || user === null) {
    host.reply(numeric.usersDontMatch(c));
    return;
  }
  if (change === undefined) {
    host.reply(numeric.uModeIs(c, invisible.has(user) ? "+i" : "+"));
    return;
  }
  let sign = "+";
  let applied = "";
  let shown = "";
  let unknown = false;
  for (const letter of change) {
    if (letter === "+" || letter === "-") sign = letter;
    else if (letter === "i") {
      if (sign === "+" ? invisible.has(user) : !invisible.has(user)) continue;
      if (sign === "+") invisible.add(user);
      else invisible.delete(user);
      applied += (shown === sign ? "" : sign) + "i";
      shown = sign;
    } else if (letter !== "o") unknown = true;
  }
  if (applied !== "") {
    host.replies([{
      source: hostmaskOf(user),
      command: "MODE",
      params: [c, applied],
      trailing: true,
    }]);
  }
  if (unknown) host.reply(numeric.uModeUnknownFlag(c));
}

/**
 * The reply to a command on a room that is not live: 442 for a claimed room, which exists while
 * empty (nobody, so not the client, is in it), else 403 (Modern IRC).
 */
function absentRoom(host: CommandHost, name: string): IrcLine {
  const claim = host.port.chat.claimed(name);
  return claim === undefined
    ? numeric.noSuchChannel(host.client, name)
    : numeric.notOnChannel(host.client, claim.room);
}

/** `MODE #r` or `MODE #r b` (the ban list): a question, not a change. */
function isModeQuery(params: readonly string[]): boolean {
  if (params.length === 1) return true;
  // Without a mask, `b` is the list query; with one, `+b mask` is a change for the core.
  return (params[1] === "b" || params[1] === "+b") && (params.length === 2 || params[2] === "");
}

/**
 * 324 and 329 for `MODE #r` (the key shown only to a `member`), or the ban list (367s, 368) for
 * `MODE #r b`, from a live room or an empty claimed one.
 */
function modeQuery(
  c: string,
  name: string,
  room: { readonly modes: RoomModes; readonly created: number },
  member: boolean,
  params: readonly string[],
): IrcLine[] {
  if (params.length > 1) {
    return [
      ...room.modes.bans.map((ban) =>
        numeric.banList(c, name, shownMask(ban), ban.by, Math.floor(ban.at / 1000))
      ),
      numeric.endOfBanList(c, name),
    ];
  }
  const { t, m, i, key, limit } = room.modes;
  let modes = "+n" + (t ? "t" : "") + (m ? "m" : "") + (i ? "i" : "");
  const args: string[] = [];
  if (key !== null) {
    modes += "k";
    args.push(member ? key : "*");
  }
  if (limit !== null) {
    modes += "l";
    args.push(String(limit));
  }
  return [
    numeric.channelModeIs(c, name, modes, args),
    numeric.creationTime(c, name, Math.floor(room.created / 1000)),
  ];
}

/** `MODE <me>` (221) and `MODE #r [changes]` (324, or the core's `/mode`). */
export function mode(host: CommandHost, params: readonly string[]): Awaitable<void> {
  const c = host.client;
  const [target] = params;
  if (!target.startsWith("#")) {
    userMode(host, target, params[1]);
    return;
  }
  const room = host.port.chat.room(target);
  if (room === undefined) {
    // A claimed room exists while empty: its modes are answered, and only a change needs
    // someone in it (Modern IRC: 403 is for a channel that does not exist).
    const claim = host.port.chat.claimed(target);
    if (claim !== undefined && isModeQuery(params)) {
      host.replies(modeQuery(c, claim.room, claim, false, params));
    } else host.reply(absentRoom(host, target));
    return;
  }
  if (isModeQuery(params)) {
    const created = room.claim?.created ?? room.created;
    host.replies(
      modeQuery(c, room.name, { modes: room.modes, created }, host.port.isIn(target), params),
    );
    return;
  }
  const parsed = parseModeChanges(params.slice(1));
  if (!parsed.ok && parsed.code === "unknown_mode") {
    host.reply(numeric.unknownMode(c, unknownModeLetter(params[1])));
    return;
  }
  const changes = parsed.ok ? perLine(parsed.changes) : [];
  const refusal = modeRefusal(host, room, changes);
  if (refusal !== null) {
    host.reply(refusal);
    return;
  }
  // A trailing parameter with spaces (`MODE #r +b :a b`) would become several arguments.
  const spaced = params.slice(2).find((param) => /\s/.test(param));
  if (spaced !== undefined || /\s/.test(params[1])) {
    const letter = changes.find((change) => change.arg === spaced)?.letter ?? "*";
    host.reply(numeric.invalidModeParam(c, room.name, letter, "*", "Invalid parameter"));
    return;
  }
  const ref = host.remember("MODE", room.name);
  const words = parsed.ok && changes.length < parsed.changes.length
    ? modeWords(changes)
    : params.slice(1);
  return host.command(`/mode ${room.name} ${words.join(" ")}`, room.name, ref);
}

/** The channel mode letters CHANMODES and PREFIX advertise (`isupport.ts`). */
const ROOM_MODE_LETTERS = "ovbklimnt";

/** The first letter of a mode string no room mode has, for 472. */
function unknownModeLetter(spec: string): string {
  const letter = [...spec].find((ch) =>
    ch !== "+" && ch !== "-" && !ROOM_MODE_LETTERS.includes(ch)
  );
  return letter ?? spec;
}

/**
 * `changes` up to {@linkcode IRC_MODES_PER_LINE} with a parameter (ISUPPORT `MODES`): the
 * changes past it are ignored, as other servers do, so one line cannot ban or op a crowd.
 */
function perLine(changes: readonly ModeChange[]): readonly ModeChange[] {
  let withParam = 0;
  return changes.filter((change) => change.arg === undefined || ++withParam <= IRC_MODES_PER_LINE);
}

/** `changes` as MODE words again: `+bb-o a b c`. */
function modeWords(changes: readonly ModeChange[]): string[] {
  let spec = "";
  let sign = "";
  const args: string[] = [];
  for (const { add, letter, arg } of changes) {
    const s = add ? "+" : "-";
    if (s !== sign) spec += sign = s;
    spec += letter;
    if (arg !== undefined) args.push(arg);
  }
  return [spec, ...args];
}

/**
 * The numeric refusing a channel MODE before the core sees it, or null: a bad key or limit is
 * 696 naming the letter (a key is not echoed: `*`), and `+o`/`+v` for a nick not online is 401,
 * for one not in the room 441 (Modern MODE; irctest chmodes/key.py, limit.py, operator.py).
 */
function modeRefusal(
  host: CommandHost,
  room: Room,
  changes: readonly ModeChange[],
): IrcLine | null {
  const c = host.client;
  for (const { add, letter, arg } of changes) {
    if (arg === undefined) continue;
    if (add && letter === "k") {
      const problem = keyProblem(arg);
      if (problem !== null) return numeric.invalidModeParam(c, room.name, "k", "*", problem);
    } else if (add && letter === "l") {
      const limit = parseLimit(arg);
      if (typeof limit === "string") {
        return numeric.invalidModeParam(c, room.name, "l", arg, limit);
      }
    } else if (letter === "o" || letter === "v") {
      const user = host.port.chat.user(arg);
      if (user === undefined) return numeric.noSuchNick(c, arg);
      if (!room.members.has(user)) return numeric.userNotInChannel(c, user.nick, room.name);
    }
  }
  return null;
}

/**
 * The numeric refusing `INVITE nick #room` before the core sees it, or null: 401 naming the
 * nick when nobody holds it, 443 when they are in the room already (Modern INVITE; irctest
 * invite.py testInviteAlreadyInChannel).
 */
export function inviteRefusal(
  chat: ChatView,
  client: string,
  nick: string,
  room: string,
): IrcLine | null {
  const user = chat.user(nick);
  if (user === undefined) return numeric.noSuchNick(client, nick);
  const found = chat.room(room);
  if (found !== undefined && found.members.has(user)) {
    return numeric.userOnChannel(client, user.nick, found.name);
  }
  return null;
}

/**
 * `KICK #r nick[,nick…] [:reason]`, or `KICK #a,#b n1,n2` (pairs, RFC 2812): one KICK per user,
 * at most {@linkcode IRC_MAX_KICK_TARGETS} (TARGMAX; the rest are dropped, as Modern allows),
 * each list entry after the first charged to flood control. A room that does not exist is 403;
 * a list of rooms that does not pair with the users is 461. Only the reason may have spaces:
 * `KICK #r :bob carol` must not kick bob "carol", nor `KICK bob x` become a server kick of bob.
 */
export function kick(host: CommandHost, params: readonly string[]): Awaitable<void> {
  const c = host.client;
  const rooms = params[0].split(",");
  const nicks = params[1].split(",").slice(0, IRC_MAX_KICK_TARGETS);
  if (rooms.length > 1 && rooms.length !== params[1].split(",").length) {
    host.reply(numeric.needMoreParams(c, "KICK"));
    return;
  }
  const reason = params[2] ?? "";
  return eachCharged(host, nicks, (nick, i) => {
    const room = rooms.length === 1 ? rooms[0] : rooms[i];
    if (!room.startsWith("#") || /\s/.test(room)) {
      host.reply(numeric.noSuchChannel(c, room));
      return;
    }
    if (host.port.chat.room(room) === undefined) {
      host.reply(absentRoom(host, room));
      return;
    }
    if (nick === "" || /\s/.test(nick)) {
      host.reply(numeric.noSuchNick(c, nick === "" ? "*" : nick));
      return;
    }
    const refusal = kickRefusal(host, room, nick);
    if (refusal !== null) {
      host.reply(refusal);
      return;
    }
    return host.command(`/kick ${room} ${nick} ${reason}`.trim(), "", host.remember("KICK", room));
  });
}

/**
 * The numeric refusing an operator's `KICK #r nick` before the core sees it, or null: 401 when
 * nobody holds the nick, 441 when its holder is not in the room (Modern KICK; the core's answer
 * is a sentence). A client that may not kick is left to the core, whose 482 comes first.
 */
function kickRefusal(host: CommandHost, roomName: string, nick: string): IrcLine | null {
  const room = host.port.chat.room(roomName);
  const me = host.port.user;
  if (room === undefined || me === null || !(me.operator || room.ops.has(me))) return null;
  const target = host.port.chat.user(nick);
  if (target === undefined) return numeric.noSuchNick(host.client, nick);
  if (!room.members.has(target)) {
    return numeric.userNotInChannel(host.client, target.nick, room.name);
  }
  return null;
}
