/**
 * The rows of the command table about people: /away and /back, /whois, /reply (and /r), and
 * /users. They join {@linkcode COMMANDS} in `chat.ts`, so /help lists them too.
 *
 * @module
 */

import { AWAY_MAX_LENGTH, USERS_PAGE_SIZE } from "../../config/limits.ts";
import { sanitizeMessageText } from "../../security/unicode.ts";
import { describeAccount, shortFingerprint } from "../accounts.ts";
import { awayText } from "../direct.ts";
import { tellAway } from "../presence.ts";
import { nickKey } from "../nick.ts";
import { counted, describeDuration, shown } from "../text.ts";
import type { User } from "../user.ts";
import { nothing, oneWord, optionalWord, someText, taking } from "./arguments.ts";
import type { CommandContext, CommandOutcome, CommandSpec } from "./spec.ts";

/** An info line for whoever typed the command. */
function info(ctx: CommandContext, text: string): void {
  ctx.hub.send(ctx.user, { type: "info", text, ref: ctx.ref });
}

/** Answers the last user whose direct message reached `ctx.user`, as /msg would. */
function reply(ctx: CommandContext, text: string): CommandOutcome {
  const last = ctx.user.lastDirectFrom;
  if (last === null) {
    const why = "Nobody has sent you a direct message yet: /msg NICK text starts a conversation.";
    ctx.hub.reply(ctx.user, "bad_command", why, ctx.ref);
    return {};
  }
  // The sender themself, followed through renames; never whoever took their nick since.
  const sender = last.user.deref();
  if (sender === undefined || !sender.online) {
    const nick = shown(last.nick);
    const why = `${nick} has left since their message; /msg ${nick} text reaches whoever has ` +
      "that nick now.";
    ctx.hub.reply(ctx.user, "no_such_user", why, ctx.ref);
    return {};
  }
  ctx.hub.direct(ctx.user, sender.nick, text, ctx.ref);
  return {};
}

/** What /users was asked for: a page of everyone, or the nicks starting with a prefix. */
type UsersQuery = { page: number } | { prefix: string };

/** `/users`, `/users 2` (a page) or `/users al` (a prefix), or null. */
function usersQuery(args: string): UsersQuery | null {
  const word = optionalWord(args);
  if (word === null) return null;
  if (word === "") return { page: 1 };
  return /^\d+$/.test(word) ? { page: Number(word) } : { prefix: word };
}

/**
 * Case and accents ignored. Not the nick key: that folds lookalikes too (0 to o, 1 to l), which
 * would sort "u003" among words.
 */
const NICK_ORDER = new Intl.Collator("en", { sensitivity: "base" });

/** Nicks sorted as people look for them: case and accents folded. */
function sortedNicks(users: Iterable<User>): string[] {
  return [...users]
    .sort((a, b) =>
      NICK_ORDER.compare(a.nick, b.nick) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    )
    .map((u) => u.nick);
}

/** /users: counted, at most {@linkcode USERS_PAGE_SIZE} nicks, sorted, and what is left out. */
function listUsers(ctx: CommandContext, query: UsersQuery): CommandOutcome {
  if ("prefix" in query) {
    const key = nickKey(query.prefix);
    const matching = [...ctx.hub.users].filter((u) => u.key.startsWith(key));
    const name = shown(query.prefix);
    if (matching.length === 0) {
      info(ctx, `* Nobody's nick starts with ${name}.`);
      return {};
    }
    const nicks = sortedNicks(matching);
    const more = nicks.length - USERS_PAGE_SIZE;
    info(
      ctx,
      `* ${counted(nicks.length, "user")} whose nick starts with ${name}: ` +
        nicks.slice(0, USERS_PAGE_SIZE).join(", ") +
        (more > 0 ? `\n* ...and ${more} more: type more of the nick.` : ""),
    );
    return {};
  }
  const total = ctx.hub.userCount;
  const pages = Math.max(1, Math.ceil(total / USERS_PAGE_SIZE));
  if (query.page < 1 || query.page > pages) {
    const why = query.page < 1
      ? "Pages start at 1: /users 1."
      : `There ${pages === 1 ? "is" : "are"} only ${counted(pages, "page")} of users ` +
        `(${counted(total, "user")}): /users ${pages}.`;
    ctx.hub.reply(ctx.user, "bad_command", why, ctx.ref);
    return {};
  }
  const start = (query.page - 1) * USERS_PAGE_SIZE;
  const nicks = sortedNicks(ctx.hub.users).slice(start, start + USERS_PAGE_SIZE);
  const more = total - start - nicks.length;
  const page = pages === 1 ? "" : ` (page ${query.page} of ${pages})`;
  info(
    ctx,
    `* ${counted(total, "user")} on the server${page}: ${nicks.join(", ")}` +
      (more > 0 ? `\n* ...and ${more} more: /users ${query.page + 1} for the next page.` : ""),
  );
  return {};
}

/**
 * /whois NICK: whether the nick is registered (to what kind of identity, with a short
 * fingerprint for a key), and, when someone holds it now, whether they proved it, how long they
 * have been here and idle, their rooms, and whether they are away. A registered nick nobody holds
 * is still described.
 */
function whois(ctx: CommandContext, nick: string): CommandOutcome {
  const target = ctx.hub.user(nick);
  const account = ctx.hub.account(nick);
  if (target === undefined && account === undefined) {
    ctx.hub.reply(ctx.user, "no_such_user", `Nobody called ${shown(nick)} is here.`, ctx.ref);
    return {};
  }
  const registered = account === undefined
    ? "not registered"
    : `registered to ${describeAccount(account)}` +
      (account.fingerprint === undefined ? "" : ` ${shortFingerprint(account.fingerprint)}`);
  if (target === undefined) {
    info(ctx, `* ${account?.nick} is ${registered}; nobody has that nick now`);
    return {};
  }
  const now = ctx.hub.now();
  const rooms = [...target.rooms].map((r) => r.name);
  const idle = now - target.lastActive;
  const proven = account === undefined ? "" : target.verified ? ", proven" : ", not proven";
  const lines = [
    `* ${target.nick}${target.operator ? " (operator)" : ""}: here for ` +
    `${describeDuration(now - target.since)}` +
    (idle >= 1000 ? ` (idle ${describeDuration(idle)})` : "") + "; " +
    (rooms.length === 0 ? "in no room" : `in ${rooms.join(", ")}`),
    `* ${target.nick} is ${registered}${proven}`,
  ];
  if (target.away !== null) lines.push(awayText(target));
  info(ctx, lines.join("\n"));
  return {};
}

/** The rows about people, in /help order. */
export const PEOPLE_COMMANDS: readonly CommandSpec[] = [
  {
    name: "away",
    usage: "/away [message]",
    help: "mark yourself away; whoever messages you is told (once), with the message",
    run(ctx) {
      const message = sanitizeMessageText(ctx.args).replaceAll("\n", " ").trim();
      // Refused rather than cut, as a topic is: a cut message could say something else.
      if ([...message].length > AWAY_MAX_LENGTH) {
        const why = `An away message may have at most ${AWAY_MAX_LENGTH} characters.`;
        ctx.hub.reply(ctx.user, "bad_command", why, ctx.ref);
        return {};
      }
      // Every /away starts a new spell: those told before hear the new message.
      ctx.user.away = message;
      ctx.user.awayNotified = null;
      tellAway(
        ctx.user,
        ctx.hub.now(),
        ctx.hub.moderation.isMuted(ctx.user),
        (room) => ctx.hub.speaksIn(ctx.user, room),
      );
      const what = message === "" ? "You are away." : `You are away: ${message}`;
      info(ctx, `* ${what} (/back when you return)`);
      return {};
    },
  },
  {
    name: "back",
    usage: "/back",
    help: "you are back: /away no longer shows",
    run: taking(nothing, (ctx) => {
      const wasAway = ctx.user.away !== null;
      ctx.user.away = null;
      ctx.user.awayNotified = null;
      if (wasAway) {
        tellAway(
          ctx.user,
          ctx.hub.now(),
          ctx.hub.moderation.isMuted(ctx.user),
          (room) => ctx.hub.speaksIn(ctx.user, room),
        );
      }
      info(ctx, wasAway ? "* Welcome back." : "* You were not away.");
      return {};
    }),
  },
  {
    name: "whois",
    usage: "/whois NICK",
    help: "whether NICK is registered (and to what), their rooms, idle time and away",
    run: taking(oneWord, whois),
  },
  {
    name: "reply",
    aliases: ["r"],
    usage: "/reply text",
    help: "answer the last person who sent you a direct message (or /r text)",
    run: taking(someText, reply),
  },
  {
    name: "users",
    usage: "/users [PAGE|PREFIX]",
    help: `who is on the server, ${USERS_PAGE_SIZE} a page; or the nicks starting with PREFIX`,
    run: taking(usersQuery, listUsers),
  },
];
