/**
 * The rows of the command table about the server itself: /motd, /uptime and /version. They
 * join {@linkcode COMMANDS} in `chat.ts`, so /help lists them too.
 *
 * @module
 */

import { describeDuration } from "../text.ts";
import { nothing, taking } from "./arguments.ts";
import type { CommandContext, CommandOutcome, CommandSpec } from "./spec.ts";

/** Runs `text(ctx)` and sends it to whoever typed the command as an info frame. */
function answer(text: (ctx: CommandContext) => string): CommandSpec["run"] {
  return taking(nothing, (ctx): CommandOutcome => {
    ctx.hub.send(ctx.user, { type: "info", text: text(ctx), ref: ctx.ref });
    return {};
  });
}

/** The time as people read it in UTC, to the minute: `2026-11-30 22:05 UTC`. */
function utcMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** The rows about the server, in /help order. */
export const SERVER_INFO_COMMANDS: readonly CommandSpec[] = [
  {
    name: "motd",
    usage: "/motd",
    help: "show the message of the day again",
    // As written by the operator, like at login; the file was checked when the server started.
    run: answer((ctx) => ctx.hub.motd === "" ? "* No message of the day." : ctx.hub.motd),
  },
  {
    name: "uptime",
    usage: "/uptime",
    help: "how long the server has been running",
    run: answer((ctx) =>
      `* Up for ${describeDuration(ctx.hub.now() - ctx.hub.startedAt)} ` +
      `(since ${utcMinute(ctx.hub.startedAt)}).`
    ),
  },
  {
    name: "version",
    usage: "/version",
    help: "the server's name and version",
    run: answer((ctx) => `* This server runs ${ctx.hub.serverName}.`),
  },
];
