/**
 * The rows of the command table about accounts: /register, /identify and /unregister. They join
 * {@linkcode COMMANDS} in `chat.ts`, so /help lists them too.
 *
 * @module
 */

import { ACCOUNT_PASSWORD_MIN_LENGTH } from "../../config/security_limits.ts";
import { type Awaitable, then } from "../awaitable.ts";
import { firstWord, optionalWord, taking } from "./arguments.ts";
import type { CommandOutcome, CommandSpec } from "./spec.ts";

/** The command's outcome once `event` is over (hashing a password takes a while). */
function done(event: Awaitable<void>): Awaitable<CommandOutcome> {
  return then(event, (): CommandOutcome => ({}));
}

/** `PASSWORD` or `NICK PASSWORD` (a password has no spaces: it is one word). */
function identifyArgs(args: string): { nick: string | null; password: string } | null {
  const [first, rest] = firstWord(args);
  if (first === "") return null;
  if (rest === "") return { nick: null, password: first };
  return /\s/.test(rest) ? null : { nick: first, password: rest };
}

/** The account rows, in /help order. */
export const IDENTITY_COMMANDS: readonly CommandSpec[] = [
  {
    name: "register",
    usage: "/register [PASSWORD]",
    help: "make your nick yours: bound to your key, or with a password " +
      `(at least ${ACCOUNT_PASSWORD_MIN_LENGTH} characters)`,
    // The whole rest of the line: a password with a space is told why, not shown the usage.
    run(ctx) {
      const password = ctx.args;
      return done(ctx.hub.register(ctx.user, password === "" ? undefined : password, ctx.ref));
    },
  },
  {
    name: "identify",
    usage: "/identify [NICK] PASSWORD",
    help: "prove a password account and take its nick (default: your nick)",
    run: taking(identifyArgs, (ctx, { nick, password }) => {
      return done(ctx.hub.identify(ctx.user, nick ?? ctx.user.nick, password, ctx.ref));
    }),
  },
  {
    name: "unregister",
    usage: "/unregister [NICK]",
    help: "release your nick; an operator may release anyone's (a lost key or password)",
    run: taking(optionalWord, (ctx, nick) => {
      return done(ctx.hub.unregister(ctx.user, nick, ctx.ref));
    }),
  },
];
