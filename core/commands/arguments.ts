/**
 * A command's arguments: the shapes a command may take ({@linkcode oneWord},
 * {@linkcode optionalWord}, {@linkcode someText}, {@linkcode nothing}), each a parser that gives
 * null when the arguments do not fit; {@linkcode taking}, which shows the usage when they do not;
 * {@linkcode firstWord}, for commands that split their own; {@linkcode reasonText}, for the
 * free text of a reason; and {@linkcode roomArg}, for a room the user must be in.
 *
 * @module
 */

import { MAX_REASON_LENGTH } from "../../config/limits.ts";
import { sanitizeMessageText } from "../../security/unicode.ts";
import type { Awaitable } from "../awaitable.ts";
import type { Room } from "../room.ts";
import { shown } from "../text.ts";
import type { CommandContext, CommandOutcome, CommandSpec } from "./spec.ts";

/**
 * Splits off the first word.
 *
 * @example
 * ```ts
 * firstWord("msg bob hi there"); // ["msg", "bob hi there"]
 * ```
 */
export function firstWord(args: string): [string, string] {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(args);
  return match ? [match[1], match[2]] : ["", ""];
}

/**
 * A handler that parses its arguments first: when `parse` gives null they were wrong (the usage
 * is shown); otherwise `run` gets what it parsed.
 *
 * @example
 * ```ts
 * import type { CommandSpec } from "./spec.ts";
 *
 * const nick: CommandSpec = {
 *   name: "nick",
 *   usage: "/nick NEW",
 *   help: "change your nickname",
 *   run: taking(oneWord, (ctx, wanted) => {
 *     ctx.hub.rename(ctx.user, wanted, ctx.ref);
 *     return {};
 *   }),
 * };
 * ```
 */
export function taking<A>(
  parse: (args: string) => A | null,
  run: (ctx: CommandContext, args: A) => Awaitable<CommandOutcome>,
): CommandSpec["run"] {
  return (ctx) => {
    const args = parse(ctx.args);
    return args === null ? false : run(ctx, args);
  };
}

/** Arguments that are exactly one word (a nick, a room), or null. */
export function oneWord(args: string): string | null {
  return args === "" || /\s/.test(args) ? null : args;
}

/** Arguments that are one word or none (""), or null. */
export function optionalWord(args: string): string | null {
  return /\s/.test(args) ? null : args;
}

/** Arguments that are some text, or null when there are none. */
export function someText(args: string): string | null {
  return args === "" ? null : args;
}

/** No arguments (true), or null when there are some. */
export function nothing(args: string): true | null {
  return args === "" ? true : null;
}

/**
 * A reason as everyone may see it (an operator's for a kick or ban, a user's for /quit):
 * cleaned, on one line, and at most {@linkcode MAX_REASON_LENGTH} characters.
 *
 * @example
 * ```ts
 * reasonText("  off to\nbed  "); // "off to bed"
 * ```
 */
export function reasonText(reason: string): string {
  const clean = sanitizeMessageText(reason).replaceAll("\n", " ").trim();
  return [...clean].slice(0, MAX_REASON_LENGTH).join("");
}

/** The room a command names, or the current one; replies not_in_room when not a member. */
export function roomArg(ctx: CommandContext, name: string): Room | null {
  const room = ctx.hub.room(name);
  if (room === undefined || !ctx.user.rooms.has(room)) {
    ctx.hub.reply(ctx.user, "not_in_room", `You are not in ${shown(name)}.`, ctx.ref);
    return null;
  }
  return room;
}
