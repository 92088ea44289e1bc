/**
 * PRIVMSG and NOTICE (contract §4.4): to rooms through the core's `say` (a `/me` as an action, a
 * NOTICE as a notice), to nicks as direct messages. NOTICE is never answered with an error.
 *
 * @module
 */

import type { Awaitable } from "../../../core/awaitable.ts";
import type { MessageKind } from "../../../core/relay.ts";
import { IRC_MAX_MESSAGE_TARGETS } from "../../../config/irc_limits.ts";
import { numeric } from "../numerics.ts";
import { type CommandHost, eachInOrder } from "./host.ts";
import { serviceOf, tellService } from "./services.ts";

/** A CTCP message, `\x01VERB args\x01` (the closing `\x01` optional, as clients vary). */
const CTCP = new RegExp("^\x01([A-Za-z]+)(?: ([^\x01]*))?\x01?$");

/** `PRIVMSG|NOTICE <t1,t2> :text` (contract §4.4); NOTICE is never answered with an error. */
export function sendMessage(
  host: CommandHost,
  command: "PRIVMSG" | "NOTICE",
  params: readonly string[],
): Awaitable<void> {
  const c = host.client;
  const notice = command === "NOTICE";
  if (params.length === 0 || params[0] === "") {
    if (!notice) host.reply(numeric.noRecipient(c, command));
    return;
  }
  if (params.length < 2 || params[1] === "") {
    if (!notice) host.reply(numeric.noTextToSend(c));
    return;
  }
  const ctcp = CTCP.exec(params[1]);
  const action = ctcp !== null && ctcp[1].toUpperCase() === "ACTION";
  if (ctcp !== null && !action) return; // other CTCPs: nobody here answers them
  const text = action ? ctcp?.[2] ?? "" : params[1];
  const targets = params[0].split(",");
  if (targets.length > IRC_MAX_MESSAGE_TARGETS) {
    // TARGMAX is a promise: a longer list would send one message per target for the flood
    // price of one line. Nothing is sent, so the client knows to split the list.
    if (!notice) host.reply(numeric.tooManyTargets(c, targets[IRC_MAX_MESSAGE_TARGETS]));
    return;
  }
  return eachInOrder(distinct(targets), (target) => {
    if (target.startsWith("#")) {
      if (!host.port.isIn(target)) {
        if (!notice) host.reply(numeric.cannotSendToChan(c, target));
        return;
      }
      const kind: MessageKind = action ? "action" : notice ? "notice" : "text";
      host.port.say(target, text, host.remember(command, target, text, action), kind);
      return;
    }
    const service = serviceOf(target);
    if (service !== null) return notice ? undefined : tellService(host, service, text);
    if (host.port.chat.user(target) === undefined) {
      if (!notice) host.reply(numeric.noSuchNick(c, target));
      return;
    }
    const ref = host.remember(command, target, text, action);
    return host.command(`/msg ${target} ${action ? `* ${text}` : text}`, "", ref);
  });
}

/** `targets` without repeats (ASCII case folded, as `CASEMAPPING=ascii`): one message each. */
function distinct(targets: readonly string[]): string[] {
  const seen = new Set<string>();
  return targets.filter((target) => {
    const key = target.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
