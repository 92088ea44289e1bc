/**
 * The rows of the command table about accounts: /register, /identify and /unregister (of a
 * nick, or of a room: a claim). They join
 * {@linkcode COMMANDS} in `chat.ts`, so /help lists them too.
 *
 * @module
 */

import { ACCOUNT_PASSWORD_MIN_LENGTH } from "../../config/security_limits.ts";
import { type Awaitable, then } from "../awaitable.ts";
import { firstWord, optionalWord, taking } from "./arguments.ts";
import type { CommandOutcome, CommandSpec } from "./spec.ts";

/** True for one word that names a room (`#rust`): nicks never start with `#`. */
function isRoom(word: string): boolean {
  return word.startsWith("#") && !/\s/.test(word);
}

/** The command's outcome once `event` is over (hashing a password takes a while). */
function done(event: Awaitable<unknown>): Awaitable<CommandOutcome> {
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
    usage: "/register [PASSWORD | #room]",
    help: "make your nick yours: bound to your key, or with a password " +
      `(at least ${ACCOUNT_PASSWORD_MIN_LENGTH} characters); /register #room claims a room you ` +
      "operate, which then keeps its topic, modes, bans and operators",
    // The whole rest of the line: a password with a space is told why, not shown the usage.
    run(ctx) {
      const password = ctx.args;
      // One word starting with # is a room (nicks never start with #): a password cannot
      // start with # and be a single word, or it would be taken for a claim.
      if (isRoom(password)) return done(ctx.hub.claimRoom(ctx.user, password, ctx.ref));
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
    usage: "/unregister [NICK | #room]",
    help: "release your nick (and the rooms it claimed); an operator may release anyone's " +
      "(a lost key or password); /unregister #room releases a room you claimed",
    run: taking(optionalWord, (ctx, nick) => {
      if (isRoom(nick)) return done(ctx.hub.releaseRoom(ctx.user, nick, ctx.ref));
      return done(ctx.hub.unregister(ctx.user, nick, ctx.ref));
    }),
  },
];
