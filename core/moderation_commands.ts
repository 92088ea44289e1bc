/**
 * The moderation rows of the command table: /oper, /kick, /ban, /unban, /bans, /mute, /unmute
 * for operators, and /ignore, /unignore for everyone. They join {@linkcode COMMANDS} in
 * `commands.ts`, so /help lists them too.
 *
 * @module
 */

import { MAX_IGNORES, MAX_OPER_FAILURES, MAX_REASON_LENGTH } from "../config/limits.ts";
import type { CommandContext, CommandSpec } from "./commands.ts";
import { describeUntil, parseDuration } from "./moderation.ts";
import { nickKey, nickProblem } from "./nick.ts";
import { shown } from "./hub.ts";
import { sanitizeMessageText } from "../security/unicode.ts";
import type { User } from "./user.ts";

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

/** Moderation commands, in /help order. */
export const MODERATION_COMMANDS: readonly CommandSpec[] = [
  {
    name: "ignore",
    usage: "/ignore [NICK]",
    help: "hide NICK's messages from you (no NICK: list whom you ignore)",
    run(ctx) {
      if (/\s/.test(ctx.args)) return false;
      if (ctx.args === "") {
        const list = [...ctx.user.ignores];
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
      ctx.user.ignores.add(nickKey(ctx.args));
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
      ctx.user.ignores.delete(nickKey(ctx.args));
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
    usage: "/ban NICK|ADDRESS [DURATION] [reason]",
    help:
      "(operators) ban a nick or an address, e.g. /ban 203.0.113.9 2h spam (DURATION: 30s, 10m, 2h, 7d; none: forever)",
    run(ctx) {
      const args = targetArgs(ctx.args);
      if (args === null) return false;
      if (!requireOperator(ctx)) return {};
      const ban = ctx.hub.moderation.ban(ctx.user, args.target, args.ms, args.reason);
      info(ctx, `* Banned ${ban.kind} ${args.target} ${describeUntil(ban.until, ctx.hub.now())}.`);
      return {};
    },
  },
  {
    name: "unban",
    usage: "/unban NICK|ADDRESS",
    help: "(operators) lift a ban",
    run(ctx) {
      if (ctx.args === "" || /\s/.test(ctx.args)) return false;
      if (!requireOperator(ctx)) return {};
      const removed = ctx.hub.moderation.unban(ctx.user, ctx.args);
      const who = shown(ctx.args);
      info(ctx, removed ? `* Unbanned ${who}.` : `* ${who} was not banned.`);
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
      ctx.hub.moderation.mute(ctx.user, target, args.ms);
      info(
        ctx,
        `* Muted ${target.nick}${
          args.ms ? ` ${describeUntil(ctx.hub.now() + args.ms, ctx.hub.now())}` : ""
        }.`,
      );
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
      ctx.hub.moderation.unmute(ctx.user, target);
      info(ctx, `* Unmuted ${target.nick}.`);
      return {};
    },
  },
];
