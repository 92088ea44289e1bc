/**
 * The moderation rows of the command table: /kick (a room kick, or a server operator's
 * disconnect), and /oper, /kill, /ban, /unban, /bans, /mute, /unmute for operators, and /ignore, /unignore for everyone. They join {@linkcode COMMANDS} in
 * `chat.ts`, so /help lists them too.
 *
 * @module
 */

import { MAX_IGNORES, MAX_OPER_FAILURES } from "../../config/limits.ts";
import { then } from "../awaitable.ts";
import {
  firstWord,
  nothing,
  oneWord,
  optionalWord,
  reasonText,
  someText,
  taking,
} from "./arguments.ts";
import type { CommandContext, CommandOutcome, CommandSpec } from "./spec.ts";
import { type BanTarget, describeUntil, parseDuration } from "../moderation.ts";
import { describeTarget, otherKind, parseBanTarget } from "../ban_target.ts";
import { nickKey, nickProblem } from "../nick.ts";
import { shown } from "../text.ts";
import type { User } from "../user.ts";

/** Splits `NICK [DURATION] [reason...]`. */
function targetArgs(args: string): { target: string; ms: number; reason: string } | null {
  const [target, maybe, ...rest] = args.split(/\s+/);
  if (!target) return null;
  const ms = maybe === undefined ? null : parseDuration(maybe);
  const reason = (ms === null ? [maybe, ...rest] : rest).filter((w) => w !== undefined).join(" ");
  return { target, ms: ms ?? 0, reason: reasonText(reason) };
}

/** `[#room] NICK [reason...]`, for /kick: the room is null when not named. */
function roomNickAndReason(
  args: string,
): { room: string | null; nick: string; reason: string } | null {
  const room = args.startsWith("#") ? firstWord(args)[0] : null;
  const rest = room === null ? args : firstWord(args)[1];
  const parsed = nickAndReason(rest);
  return parsed === null ? null : { room, ...parsed };
}

/** Disconnects `target` (a server operator's /kill, or /kick NICK). */
function serverKick(ctx: CommandContext, target: User, reason: string): void {
  ctx.hub.moderation.kick(
    ctx.user,
    target,
    "kicked",
    `You were kicked by ${ctx.user.nick}${reason ? `: ${reason}` : "."}`,
  );
  info(ctx, `* Kicked ${target.nick}.`);
}

/** `NICK [reason...]`, for /kick, no duration: a leading `10m` is part of the reason. */
function nickAndReason(args: string): { nick: string; reason: string } | null {
  const [nick, ...words] = args.split(/\s+/);
  return nick ? { nick, reason: reasonText(words.join(" ")) } : null;
}

/** `NICK [DURATION]`, for /mute: there is no reason to give. */
function nickAndDuration(args: string): { nick: string; ms: number } | null {
  const parsed = targetArgs(args);
  return parsed !== null && parsed.reason === "" ? { nick: parsed.target, ms: parsed.ms } : null;
}

/** Just `NICK`. */
function nickOnly(args: string): { nick: string } | null {
  const nick = oneWord(args);
  return nick === null ? null : { nick };
}

/** A nick that could be someone's, or none (""). */
function optionalNick(args: string): string | null {
  const nick = optionalWord(args);
  return nick === "" || (nick !== null && nickProblem(nick) === null) ? nick : null;
}

/**
 * An operator command's handler. Wrong arguments get the usage, whoever typed them (`parse`
 * gives null); then anyone but an operator is told no; only then does `act` run.
 */
function forOperators<A>(
  parse: (args: string) => A | null,
  act: (ctx: CommandContext, args: A) => void,
): CommandSpec["run"] {
  return taking(parse, (ctx, args) => {
    if (!ctx.user.operator) {
      ctx.hub.reply(ctx.user, "not_operator", "Only operators can do that (see /oper).", ctx.ref);
      return {};
    }
    act(ctx, args);
    return {};
  });
}

/**
 * An operator command aimed at someone online: after {@linkcode forOperators}' checks, a nick
 * nobody has is answered no_such_user, and `act` never runs.
 */
function atOnlineUser<A extends { nick: string }>(
  parse: (args: string) => A | null,
  act: (ctx: CommandContext, target: User, args: A) => void,
): CommandSpec["run"] {
  return forOperators(parse, (ctx, args) => {
    const target = onlineUser(ctx, args.nick);
    if (target !== null) act(ctx, target, args);
  });
}

/** The online user called `nick`, or a no_such_user reply. */
function onlineUser(ctx: CommandContext, nick: string): User | null {
  const user = ctx.hub.user(nick);
  if (user === undefined) {
    ctx.hub.reply(ctx.user, "no_such_user", `Nobody called ${shown(nick)} is here.`, ctx.ref);
  }
  return user ?? null;
}

/** An info line for whoever typed the command. */
function info(ctx: CommandContext, text: string): void {
  ctx.hub.send(ctx.user, { type: "info", text, ref: ctx.ref });
}

/** The target `word` names for /ban or /unban (see core/ban_target.ts), or a bad_command reply. */
function banTarget(
  ctx: CommandContext,
  word: string,
  isNick: (word: string) => boolean,
): BanTarget | null {
  const target = parseBanTarget(word, isNick);
  if ("problem" in target) {
    ctx.hub.reply(ctx.user, "bad_command", target.problem, ctx.ref);
    return null;
  }
  return target;
}

/** Moderation commands, in /help order. */
export const MODERATION_COMMANDS: readonly CommandSpec[] = [
  {
    name: "ignore",
    usage: "/ignore [NICK]",
    help: "hide NICK's messages from you (no NICK: list whom you ignore)",
    run: taking(optionalNick, (ctx, nick) => {
      if (nick === "") {
        const list = ctx.user.ignores.nicks();
        info(ctx, list.length === 0 ? "* You ignore nobody." : `* You ignore: ${list.join(", ")}`);
        return {};
      }
      if (ctx.user.ignores.size >= MAX_IGNORES) {
        ctx.hub.reply(
          ctx.user,
          "bad_command",
          `You may ignore at most ${MAX_IGNORES} nicks.`,
          ctx.ref,
        );
        return {};
      }
      // Someone online is followed through their renames; otherwise the nick is remembered.
      const target = ctx.hub.user(nick);
      if (target === ctx.user) {
        // It would hide nothing live (you get acks, not your own messages) but your own lines
        // in every history replay.
        ctx.hub.reply(ctx.user, "bad_command", "That is you: /ignore hides someone else.", ctx.ref);
        return {};
      }
      if (target !== undefined) ctx.user.ignores.addUser(target);
      else ctx.user.ignores.addNick(nickKey(nick), nick);
      info(ctx, `* You will no longer see messages from ${nick}.`);
      return {};
    }),
  },
  {
    name: "unignore",
    usage: "/unignore NICK",
    help: "see NICK's messages again",
    run: taking(oneWord, (ctx, nick) => {
      ctx.user.ignores.remove(nickKey(nick));
      info(ctx, `* You will see messages from ${shown(nick)} again.`);
      return {};
    }),
  },
  {
    name: "oper",
    usage: "/oper SECRET",
    help: "become an operator with the operator secret",
    run: taking(someText, (ctx, secret) => {
      if (
        !ctx.hub.moderation.oper(ctx.user, secret, ctx.ref) &&
        ctx.user.operFailures >= MAX_OPER_FAILURES
      ) {
        return { close: "protocol_error" };
      }
      return {};
    }),
  },
  {
    name: "kick",
    usage: "/kick [#room] NICK [reason]",
    help: "(room operators) put NICK out of a room (default: the current one); a server " +
      "operator's /kick NICK disconnects NICK, as /kill does",
    run: taking(roomNickAndReason, (ctx, { room, nick, reason }) => {
      if (room === null && ctx.user.operator) {
        const target = onlineUser(ctx, nick);
        if (target !== null) serverKick(ctx, target, reason);
        return {};
      }
      return then(
        ctx.hub.kickFromRoom(ctx.user, room ?? ctx.room, nick, reason, ctx.ref),
        (): CommandOutcome => ({}),
      );
    }),
  },
  {
    name: "kill",
    usage: "/kill NICK [reason]",
    help: "(operators) disconnect NICK",
    run: atOnlineUser(nickAndReason, (ctx, target, { reason }) => serverKick(ctx, target, reason)),
  },
  {
    name: "ban",
    usage: "/ban WHO [DURATION] [reason]",
    help: "(operators) ban WHO: nick:NAME, or addr:ADDRESS[/BITS] such as addr:203.0.113.0/24 " +
      "(bare WHO: a nick if someone has it, else an address); DURATION: 30s, 10m, 2h, 7d; " +
      "none: forever",
    run: forOperators(targetArgs, (ctx, args) => {
      const target = banTarget(ctx, args.target, (word) => ctx.hub.user(word) !== undefined);
      if (target === null) return;
      const { value: ban, saveError } = ctx.hub.moderation.ban(
        ctx.user,
        target,
        args.ms,
        args.reason,
      );
      const what = `${ban.kind} ${describeTarget(target)} ${
        describeUntil(ban.until, ctx.hub.now())
      }`;
      if (saveError !== null) {
        ctx.hub.reply(
          ctx.user,
          "store_failed",
          `The ban could not be saved (${saveError}): ${what} holds only until the server restarts.`,
          ctx.ref,
        );
        return;
      }
      info(ctx, `* Banned ${what}.${otherKind(args.target, target)}`);
    }),
  },
  {
    name: "unban",
    usage: "/unban WHO",
    help: "(operators) lift a ban on WHO (nick:NAME, addr:ADDRESS[/BITS]; bare: a nick ban first)",
    run: forOperators(oneWord, (ctx, who) => {
      const now = ctx.hub.now();
      const target = banTarget(ctx, who, (word) => ctx.hub.moderation.bans.bansNick(word, now));
      if (target === null) return;
      const { value: removed, saveError } = ctx.hub.moderation.unban(ctx.user, target);
      const what = `${target.kind} ${describeTarget(target)}`;
      if (!removed) {
        info(ctx, `* The ${what} was not banned.`);
      } else if (saveError !== null) {
        ctx.hub.reply(
          ctx.user,
          "store_failed",
          `The ban on the ${what} is lifted, but the database could not be updated ` +
            `(${saveError}): the ban will be back after a restart.`,
          ctx.ref,
        );
      } else {
        info(ctx, `* Unbanned ${what}.`);
      }
    }),
  },
  {
    name: "bans",
    usage: "/bans",
    help: "(operators) list the bans in force",
    run: forOperators(nothing, (ctx) => {
      const now = ctx.hub.now();
      const bans = ctx.hub.moderation.activeBans();
      info(
        ctx,
        bans.length === 0 ? "* No bans." : [
          "* Bans:",
          ...bans.map((b) =>
            `*   ${b.kind} ${b.target} ${describeUntil(b.until, now)} by ${b.by}${
              b.reason ? `: ${b.reason}` : ""
            }`
          ),
        ].join("\n"),
      );
    }),
  },
  {
    name: "mute",
    usage: "/mute NICK [DURATION]",
    help: "(operators) stop NICK from speaking (DURATION: 30s, 10m, 2h, 7d; none: until unmuted)",
    run: atOnlineUser(nickAndDuration, (ctx, target, { ms }) => {
      const { saveError } = ctx.hub.moderation.mute(ctx.user, target, ms);
      const now = ctx.hub.now();
      const how = ms ? describeUntil(now + ms, now) : "until unmuted";
      if (saveError !== null) {
        ctx.hub.reply(
          ctx.user,
          "store_failed",
          `The mute could not be saved (${saveError}): ${target.nick} is muted ${how}, but ` +
            "only until the server restarts.",
          ctx.ref,
        );
        return;
      }
      info(ctx, `* Muted ${target.nick}${ms ? ` ${how}` : ""}.`);
    }),
  },
  {
    name: "unmute",
    usage: "/unmute NICK",
    help: "(operators) let NICK speak again",
    run: atOnlineUser(nickOnly, (ctx, target) => {
      const { saveError } = ctx.hub.moderation.unmute(ctx.user, target);
      if (saveError !== null) {
        ctx.hub.reply(
          ctx.user,
          "store_failed",
          `${target.nick} may speak again, but the database could not be updated ` +
            `(${saveError}): the mute will be back after a restart.`,
          ctx.ref,
        );
        return;
      }
      info(ctx, `* Unmuted ${target.nick}.`);
    }),
  },
];
