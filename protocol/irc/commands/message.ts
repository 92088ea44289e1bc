/**
 * PRIVMSG and NOTICE (contract §4.4, §4.6): to rooms through the core's `say` (a `/me` as an
 * action, a NOTICE as a notice), to nicks as direct messages of the same kinds. Any other CTCP
 * (`\x01VERSION\x01`, ...) goes to a nick as a query only IRC clients see, and is refused to a
 * room. NOTICE is never answered with an error.
 *
 * @module
 */

import type { Awaitable } from "../../../core/awaitable.ts";
import { keptBreaks, type MessageKind } from "../../../core/relay.ts";
import { sanitizeFormattedText } from "../../../security/unicode.ts";
import { IRC_MAX_MESSAGE_TARGETS } from "../../../config/irc_limits.ts";
import { numeric, serverReply } from "../numerics.ts";
import { type CommandHost, eachInOrder } from "./host.ts";
import { serviceOf, tellService } from "./services.ts";

/** A CTCP message, `\x01VERB args\x01` (the closing `\x01` optional, as clients vary). */
const CTCP = new RegExp("^\x01([A-Za-z]+)(?: ([^\x01]*))?\x01?$");

/** What a client's message is, once its CTCP wrapping (if any) is read. */
interface Said {
  /** `PRIVMSG` or `NOTICE`. */
  readonly command: "PRIVMSG" | "NOTICE";
  /** The text: for an ACTION the words after the verb; for another CTCP the verb and args. */
  readonly text: string;
  /** `action` for `\x01ACTION …\x01`, else by the command (`notice` for NOTICE). */
  readonly kind: MessageKind;
  /** Another CTCP than ACTION: `text` is its verb and arguments. */
  readonly ctcp: boolean;
  /** Concat joins of a multiline batch (UTF-16 offsets into `text`). */
  readonly breaks?: readonly number[];
}

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
  const targets = params[0].split(",");
  if (targets.length > IRC_MAX_MESSAGE_TARGETS) {
    // TARGMAX is a promise: a longer list would send one message per target for the flood
    // price of one line. Nothing is sent, so the client knows to split the list.
    if (!notice) host.reply(numeric.tooManyTargets(c, targets[IRC_MAX_MESSAGE_TARGETS]));
    return;
  }
  const said = readCtcp(command, params[1]);
  return eachInOrder(distinct(targets), (target) => deliver(host, target, said));
}

/**
 * A message assembled from a `draft/multiline` batch (contract §5.8): one core message to
 * `target`, its lines joined by `\n` (concat lines by nothing, at `breaks`). Its text is taken
 * as is: CTCP is a one-line form.
 */
export function sendAssembled(
  host: CommandHost,
  command: "PRIVMSG" | "NOTICE",
  target: string,
  text: string,
  breaks: readonly number[],
): Awaitable<void> {
  const kind = command === "NOTICE" ? "notice" : "text";
  return deliver(host, target, { command, text, kind, ctcp: false, breaks });
}

/** How `text` reads: an ACTION, another CTCP query, or plain text (by the command). */
function readCtcp(command: "PRIVMSG" | "NOTICE", text: string): Said {
  const plain: MessageKind = command === "NOTICE" ? "notice" : "text";
  const ctcp = CTCP.exec(text);
  if (ctcp === null) return { command, text, kind: plain, ctcp: false };
  const verb = ctcp[1].toUpperCase();
  if (verb === "ACTION") return { command, text: ctcp[2] ?? "", kind: "action", ctcp: false };
  const args = ctcp[2] ?? "";
  // A CTCP in a NOTICE is a client's answer to one: a notice-kind query.
  return { command, text: args === "" ? verb : `${verb} ${args}`, kind: plain, ctcp: true };
}

/** One message to one target: a room, a service, or a nick (oneself included). */
function deliver(host: CommandHost, target: string, said: Said): Awaitable<void> {
  const c = host.client;
  const notice = said.command === "NOTICE";
  if (target.startsWith("#")) {
    if (!host.port.isIn(target)) {
      if (!notice) host.reply(numeric.cannotSendToChan(c, target));
      return;
    }
    if (said.ctcp) {
      // Nobody in a room answers queries for other people's clients, and a stored VERSION
      // request would be replayed to everyone forever. A CTCP reply (NOTICE) is just dropped.
      if (!notice) {
        host.reply(serverReply.standard(
          "FAIL",
          said.command,
          "CTCP_UNSUPPORTED",
          [target],
          "Only ACTION (/me) may be sent to a room",
        ));
      }
      return;
    }
    const ref = host.remember(said.command, target, said.text, said.kind === "action", {
      breaks: joinsOf(said),
    });
    // The core moves the joins with its text rules, as joinsOf does for the echo.
    host.port.say(target, said.text, ref, said.kind, said.breaks);
    return;
  }
  const service = serviceOf(target);
  if (service !== null) {
    return notice || said.ctcp ? undefined : tellService(host, service, said.text);
  }
  if (host.port.chat.user(target) === undefined) {
    if (!notice) host.reply(numeric.noSuchNick(c, target));
    return;
  }
  const ref = host.remember(said.command, target, said.text, said.kind === "action", {
    ctcp: said.ctcp,
    breaks: joinsOf(said),
  });
  // A message to oneself is delivered on IRC (contract §4.6): echo and delivery both arrive.
  return host.port.direct(target, said.text, ref, {
    kind: said.kind,
    ctcp: said.ctcp,
    toSelf: true,
    breaks: said.breaks,
  });
}

/**
 * The concat joins of `said`, moved to its text as the core will clean it: the echo's (the core
 * is given the joins as sent, and moves them the same way).
 */
function joinsOf(said: Said): readonly number[] | undefined {
  if (said.breaks === undefined || said.breaks.length === 0) return undefined;
  const joins = keptBreaks(said.text, sanitizeFormattedText(said.text), said.breaks);
  return joins.length === 0 ? undefined : joins;
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
