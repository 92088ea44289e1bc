/**
 * IRC's room commands (contract §3): JOIN, PART, TOPIC, NAMES and MODE, checked against the
 * read-only chat first so that the numerics name the right target, then run by the core.
 *
 * @module
 */

import type { Awaitable } from "../../../core/awaitable.ts";
import { roomProblem } from "../../../core/room.ts";
import { numeric } from "../numerics.ts";
import { type CommandHost, eachInOrder } from "./host.ts";

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
  return eachInOrder(list.split(","), (room, i) => {
    if (room === "" || roomProblem(room) !== null) {
      host.reply(numeric.noSuchChannel(host.client, room === "" ? "*" : room));
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

/** `PART #r`: 403 for no such room, 442 when not in it. */
export function part(host: CommandHost, room: string): Awaitable<void> {
  if (host.port.chat.room(room) === undefined) {
    host.reply(numeric.noSuchChannel(host.client, room));
    return;
  }
  if (!host.port.isIn(room)) {
    host.reply(numeric.notOnChannel(host.client, room));
    return;
  }
  return host.command(`/leave ${room}`, room, host.remember("PART", room));
}

/** `TOPIC #r [:text]`. */
export function topic(host: CommandHost, room: string, text: string | undefined): Awaitable<void> {
  const found = host.port.chat.room(room);
  const c = host.client;
  if (found === undefined) {
    host.reply(numeric.noSuchChannel(c, room));
    return;
  }
  if (!host.port.isIn(room)) {
    host.reply(numeric.notOnChannel(c, room));
    return;
  }
  if (text === undefined || text === "") {
    host.reply(
      found.topic === ""
        ? numeric.noTopic(c, found.name)
        : numeric.topic(c, found.name, found.topic),
    );
    return;
  }
  return host.command(`/topic ${text}`, found.name, host.remember("TOPIC", found.name));
}

/** `NAMES [#a,#b]`. */
export function names(host: CommandHost, list: string | undefined): void {
  const c = host.client;
  if (list === undefined || list === "") {
    host.reply(numeric.endOfNames(c, "*"));
    return;
  }
  for (const name of list.split(",")) {
    const room = host.port.chat.room(name);
    if (room === undefined) host.reply(numeric.endOfNames(c, name));
    else host.replies(host.names(room));
  }
}

/** `MODE <me>` (221) and `MODE #r [changes]` (324, or the core's `/mode`). */
export function mode(host: CommandHost, params: readonly string[]): Awaitable<void> {
  const c = host.client;
  const [target] = params;
  if (!target.startsWith("#")) {
    if (target.toLowerCase() !== c.toLowerCase()) host.reply(numeric.usersDontMatch(c));
    else if (params.length === 1) host.reply(numeric.uModeIs(c, "+"));
    return;
  }
  const room = host.port.chat.room(target);
  if (room === undefined) {
    host.reply(numeric.noSuchChannel(c, target));
    return;
  }
  if (params.length === 1) {
    const { t, m, i, key, limit } = room.modes;
    let modes = "+n" + (t ? "t" : "") + (m ? "m" : "") + (i ? "i" : "");
    const args: string[] = [];
    if (key !== null) {
      modes += "k";
      args.push(host.port.isIn(target) ? key : "*");
    }
    if (limit !== null) {
      modes += "l";
      args.push(String(limit));
    }
    host.reply(numeric.channelModeIs(c, room.name, modes, args));
    return;
  }
  if (params[1] === "b" || params[1] === "+b") {
    host.reply(numeric.endOfBanList(c, room.name));
    return;
  }
  const ref = host.remember("MODE", room.name);
  return host.command(`/mode ${room.name} ${params.slice(1).join(" ")}`, room.name, ref);
}
