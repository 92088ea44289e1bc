/**
 * The rows of the command table for room operators: /op, /deop, /voice, /devoice, /mode and
 * /invite. Each is a call to the hub's typed method (the one the IRC front end calls for MODE
 * and INVITE), so every front end gets the same rules. They join {@linkcode COMMANDS} in
 * `chat.ts`, so /help lists them too.
 *
 * @module
 */

import { type Awaitable, then } from "../awaitable.ts";
import { parseModeChanges } from "../room_modes.ts";
import { taking } from "./arguments.ts";
import type { CommandContext, CommandOutcome, CommandSpec } from "./spec.ts";

/** `NICK [#room]`: the nick, and the room (null: the current one). */
function nickAndRoom(args: string): { nick: string; room: string | null } | null {
  const words = args.split(/\s+/).filter((w) => w !== "");
  if (words.length === 0 || words.length > 2 || words[0].startsWith("#")) return null;
  if (words.length === 2 && !words[1].startsWith("#")) return null;
  return { nick: words[0], room: words[1] ?? null };
}

/** The command's outcome once `event` is over. */
function done(event: Awaitable<boolean>): Awaitable<CommandOutcome> {
  return then(event, (): CommandOutcome => ({}));
}

/** A row that grants or takes operator (`o`) or voice (`v`) status. */
function grant(name: string, add: boolean, letter: "o" | "v", help: string): CommandSpec {
  return {
    name,
    usage: `/${name} NICK [#room]`,
    help,
    run: taking(
      nickAndRoom,
      (ctx, { nick, room }) =>
        done(ctx.hub.setModes(ctx.user, room ?? ctx.room, [{ add, letter, arg: nick }], ctx.ref)),
    ),
  };
}

/** `/mode [#room] [+-letters [args...]]`. */
function runMode(ctx: CommandContext): Awaitable<CommandOutcome> {
  const words = ctx.args.split(/\s+/).filter((w) => w !== "");
  const room = words[0]?.startsWith("#") ? words.shift() as string : ctx.room;
  if (words.length === 0) return done(ctx.hub.setModes(ctx.user, room, [], ctx.ref));
  const parsed = parseModeChanges(words);
  if (!parsed.ok) {
    ctx.hub.reply(ctx.user, parsed.code, parsed.problem, ctx.ref);
    return {};
  }
  return done(ctx.hub.setModes(ctx.user, room, parsed.changes, ctx.ref));
}

/** The room operator rows, in /help order. */
export const ROOM_COMMANDS: readonly CommandSpec[] = [
  {
    name: "mode",
    usage: "/mode [#room] [+-MODES [ARGS]]",
    help: "show a room's modes, or (room operators) change them: +t topic by ops, +m only " +
      "voiced speak, +i invite-only, +k KEY, +l N, +b MASK (nick glob, nick!user@host, " +
      "address/CIDR, $a:ACCOUNT), +o/+v NICK; +b alone lists the bans",
    run: runMode,
  },
  grant("op", true, "o", "(room operators) make NICK an operator of the room"),
  grant("deop", false, "o", "(room operators) take NICK's operator status"),
  grant("voice", true, "v", "(room operators) let NICK speak in a moderated (+m) room"),
  grant("devoice", false, "v", "(room operators) take NICK's voice"),
  {
    name: "invite",
    usage: "/invite NICK [#room]",
    help: "invite NICK into a room once: past +i, +k, +l and +b from a room operator, past " +
      "+i only from anyone else (only operators invite into a +i room)",
    run: taking(
      nickAndRoom,
      (ctx, { nick, room }) => done(ctx.hub.invite(ctx.user, room ?? ctx.room, nick, ctx.ref)),
    ),
  },
];
