/**
 * The moderation rows of the command table: /oper, /kick, /ban, /unban, /bans, /mute, /unmute
 * for operators, and /ignore, /unignore for everyone. They join {@linkcode COMMANDS} in
 * `chat.ts`, so /help lists them too.
 *
 * @module
 */

import { MAX_IGNORES, MAX_OPER_FAILURES, MAX_REASON_LENGTH } from "../../config/limits.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";
import { type BanTarget, describeUntil, parseDuration } from "../moderation.ts";
import { describeTarget, otherKind, parseBanTarget } from "../ban_target.ts";
import { nickKey, nickProblem } from "../nick.ts";
import { shown } from "../text.ts";
import { sanitizeMessageText } from "../../security/unicode.ts";
import type { User } from "../user.ts";

/** Splits `NICK [DURATION] [reason...]`. */
function targetArgs(args: string): { target: string; ms: number; reason: string } | null {
  const [target, maybe, ...rest] = args.split(/\s+/);
  if (!target) return null;
  const ms = maybe === undefined ? null : parseDuration(maybe);
  const reason = (ms === null ? [maybe, ...rest] : rest).filter((w) => w !== undefined).join(" ");
  return { target, ms: ms ?? 0, reason: reasonText(reason) };
}

/** An operator's reason, as everyone may see it: cleaned, on one line, and not too long. */
function reasonText(reason: string): string {
  const clean = sanitizeMessageText(reason).replaceAll("\n", " ").trim();
  return [...clean].slice(0, MAX_REASON_LENGTH).join("");
}

/** The operator check every operator command starts with. */
function requireOperator(ctx: CommandContext): boolean {
  if (ctx.user.operator) return true;
  ctx.hub.reply(ctx.user, "not_operator", "Only operators can do that (see /oper).", ctx.ref);
  return false;
}

/** The online user called `nick`, or a no_such_user reply. */
function onlineUser(ctx: CommandContext, nick: string): User | null {
  const user = ctx.hub.user(nick);
  if (user === undefined) {
    ctx.hub.reply(ctx.user, "no_such_user", `Nobody called ${shown(nick)} is here.`, ctx.ref);
  }
  return user ?? null;
}

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
    run(ctx) {
      if (/\s/.test(ctx.args)) return false;
      if (ctx.args === "") {
        const list = ctx.user.ignores.nicks();
        info(ctx, list.length === 0 ? "* You ignore nobody." : `* You ignore: ${list.join(", ")}`);
        return {};
      }
      if (nickProblem(ctx.args) !== null) return false;
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
      const target = ctx.hub.user(ctx.args);
      if (target !== undefined && target !== ctx.user) ctx.user.ignores.addUser(target);
      else ctx.user.ignores.addNick(nickKey(ctx.args), ctx.args);
      info(ctx, `* You will no longer see messages from ${ctx.args}.`);
      return {};
    },
  },
  {
    name: "unignore",
    usage: "/unignore NICK",
    help: "see NICK's messages again",
    run(ctx) {
      if (ctx.args === "" || /\s/.test(ctx.args)) return false;
      ctx.user.ignores.remove(nickKey(ctx.args));
      info(ctx, `* You will see messages from ${shown(ctx.args)} again.`);
      return {};
    },
  },
  {
    name: "oper",
    usage: "/oper SECRET",
    help: "become an operator with the operator secret",
    run(ctx) {
      if (ctx.args === "") return false;
      if (
        !ctx.hub.moderation.oper(ctx.user, ctx.args, ctx.ref) &&
        ctx.user.operFailures >= MAX_OPER_FAILURES
      ) {
        return { close: "protocol_error" };
      }
      return {};
    },
  },
  {
    name: "kick",
    usage: "/kick NICK [reason]",
    help: "(operators) disconnect NICK",
    run(ctx) {
      const args = targetArgs(ctx.args);
      if (args === null) return false;
      if (!requireOperator(ctx)) return {};
      const target = onlineUser(ctx, args.target);
      if (target === null) return {};
      const reason = reasonText(ctx.args.split(/\s+/).slice(1).join(" "));
      ctx.hub.moderation.kick(
        ctx.user,
        target,
        "kicked",
        `You were kicked by ${ctx.user.nick}${reason ? `: ${reason}` : "."}`,
      );
      info(ctx, `* Kicked ${target.nick}.`);
      return {};
    },
  },
  {
    name: "ban",
    usage: "/ban WHO [DURATION] [reason]",
    help: "(operators) ban WHO: nick:NAME, or addr:ADDRESS[/BITS] such as addr:203.0.113.0/24 " +
      "(bare WHO: a nick if someone has it, else an address); DURATION: 30s, 10m, 2h, 7d; " +
      "none: forever",
    run(ctx) {
      const args = targetArgs(ctx.args);
      if (args === null) return false;
      if (!requireOperator(ctx)) return {};
      const target = banTarget(ctx, args.target, (word) => ctx.hub.user(word) !== undefined);
      if (target === null) return {};
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
        return {};
      }
      info(ctx, `* Banned ${what}.${otherKind(args.target, target)}`);
      return {};
    },
  },
  {
    name: "unban",
    usage: "/unban WHO",
    help: "(operators) lift a ban on WHO (nick:NAME, addr:ADDRESS[/BITS]; bare: a nick ban first)",
    run(ctx) {
      if (ctx.args === "" || /\s/.test(ctx.args)) return false;
      if (!requireOperator(ctx)) return {};
      const now = ctx.hub.now();
      const target = banTarget(
        ctx,
        ctx.args,
        (word) => ctx.hub.moderation.bans.bansNick(word, now),
      );
      if (target === null) return {};
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
      return {};
    },
  },
  {
    name: "bans",
    usage: "/bans",
    help: "(operators) list the bans in force",
    run(ctx) {
      if (ctx.args !== "") return false;
      if (!requireOperator(ctx)) return {};
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
      return {};
    },
  },
  {
    name: "mute",
    usage: "/mute NICK [DURATION]",
    help: "(operators) stop NICK from speaking (DURATION: 30s, 10m, 2h, 7d; none: until unmuted)",
    run(ctx) {
      const args = targetArgs(ctx.args);
      if (args === null || args.reason !== "") return false;
      if (!requireOperator(ctx)) return {};
      const target = onlineUser(ctx, args.target);
      if (target === null) return {};
      const { saveError } = ctx.hub.moderation.mute(ctx.user, target, args.ms);
      const now = ctx.hub.now();
      const how = args.ms ? describeUntil(now + args.ms, now) : "until unmuted";
      if (saveError !== null) {
        ctx.hub.reply(
          ctx.user,
          "store_failed",
          `The mute could not be saved (${saveError}): ${target.nick} is muted ${how}, but ` +
            "only until the server restarts.",
          ctx.ref,
        );
        return {};
      }
      info(ctx, `* Muted ${target.nick}${args.ms ? ` ${how}` : ""}.`);
      return {};
    },
  },
  {
    name: "unmute",
    usage: "/unmute NICK",
    help: "(operators) let NICK speak again",
    run(ctx) {
      if (ctx.args === "" || /\s/.test(ctx.args)) return false;
      if (!requireOperator(ctx)) return {};
      const target = onlineUser(ctx, ctx.args);
      if (target === null) return {};
      const { saveError } = ctx.hub.moderation.unmute(ctx.user, target);
      if (saveError !== null) {
        ctx.hub.reply(
          ctx.user,
          "store_failed",
          `${target.nick} may speak again, but the database could not be updated ` +
            `(${saveError}): the mute will be back after a restart.`,
          ctx.ref,
        );
        return {};
      }
      info(ctx, `* Unmuted ${target.nick}.`);
      return {};
    },
  },
];
