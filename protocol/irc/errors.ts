/**
 * Core error frames as IRC replies (contract §2 step 2, §4.2, §5.11): a refusal of a command the
 * session made becomes the numeric naming that command's target; login refusals become
 * 433/432/464/465; anything fatal ends with `ERROR :Closing Link`. An error with no numeric
 * (`rate_limited`, `store_failed`, `muted` outside a message, ...) is a standard reply, `FAIL
 * <CMD> <CODE> [target] :<sentence>`, for a reader with `standard-replies` or for a command whose
 * spec answers in FAILs; any other reader gets the sentence as a NOTICE, which every client
 * shows. A standard numeric is never replaced by a FAIL.
 *
 * @module
 */

import type { ErrorFrame } from "../frames.ts";
import type { IrcLine } from "./line.ts";
import { numeric, serverReply } from "./numerics.ts";
import { ircHint } from "./commands/services.ts";

/** Who reads the error, and what the call it answers was for. */
export interface ErrorContext {
  /** The server name, the source of the replies. */
  readonly serverName: string;
  /** The reader's nick, or `*`. */
  readonly client: string;
  /** The reader's cloak, for `ERROR :Closing Link`. */
  readonly cloak: string;
  /** The nick the reader asked for last, for 433/432. */
  readonly asked: string;
  /**
   * Who holds `asked` now, as they spell it, when it is someone other than the reader: a 433
   * then says the nick is in use (and whose lookalike it is) rather than registered.
   */
  readonly holder?: string;
  /** The IRC command and target of the call the error answers (by its ref), if known. */
  readonly about: { readonly command: string; readonly target: string } | null;
  /** The reader enabled `standard-replies`: errors with no numeric are FAILs, not NOTICEs. */
  readonly standardReplies: boolean;
}

/**
 * Commands whose specification answers errors with FAIL, so they are FAILs for every reader:
 * `CHATHISTORY` (chathistory), `BATCH` (multiline), `SETNAME` (setname).
 */
export const ALWAYS_FAIL: ReadonlySet<string> = new Set(["CHATHISTORY", "BATCH", "SETNAME"]);

/** Commands whose target (a room or a nick) a FAIL names as its context. */
const TARGETED: ReadonlySet<string> = new Set([
  "PRIVMSG",
  "JOIN",
  "PART",
  "TOPIC",
  "KICK",
  "MODE",
  "INVITE",
  "KILL",
]);

/**
 * The lines for a core error.
 *
 * @example
 * ```ts
 * import { errorFrame } from "../frames.ts";
 * const ctx = {
 *   serverName: "irc.test",
 *   client: "ann",
 *   cloak: "x.sc",
 *   asked: "bob",
 *   about: null,
 *   standardReplies: true,
 * };
 * errorLines(errorFrame("nick_taken", "That nick is taken."), ctx)[0].command; // "433"
 * const about = { command: "TOPIC", target: "#r" };
 * errorLines(errorFrame("muted", "You are muted."), { ...ctx, about })[0].params;
 * // ["TOPIC", "MUTED", "#r", "You are muted."]
 * ```
 */
export function errorLines(core: ErrorFrame, ctx: ErrorContext): IrcLine[] {
  const { serverName: S, client, cloak, about } = ctx;
  const frame = { ...core, message: ircHint(core.message, client === "*" ? ctx.asked : client) };
  const server = (line: IrcLine): IrcLine => ({ source: S, ...line });
  if (about !== null && !frame.fatal) {
    // NOTICE is never answered, not even with an error (RFC 2812).
    if (about.command === "NOTICE") return [];
    const service = serviceSource(about.command);
    if (service !== null) return noticeLines(service, client, frame.message);
    const mapped = commandError(frame, client, about.command, about.target);
    if (mapped !== null && about.command === "OPER") {
      // 464, and the core's sentence: a wrong secret, a lockout, or no operators at all.
      return [server(mapped), ...noticeLines(S, client, frame.message)];
    }
    if (mapped !== null) return [server(mapped)];
  }
  const lines: IrcLine[] = [];
  switch (frame.code) {
    case "nick_taken":
      lines.push(server(inUse(client, ctx.asked, ctx.holder)));
      break;
    case "nick_registered":
      // Online first: the owner holding it is why it cannot be had now, password or not.
      lines.push(
        server(
          ctx.holder !== undefined
            ? inUse(client, ctx.asked, ctx.holder)
            : numeric.nicknameReserved(client, ctx.asked, frame.need),
        ),
      );
      lines.push(...noticeLines(S, client, frame.message));
      break;
    case "nick_invalid":
      lines.push(server(numeric.erroneusNickname(client, ctx.asked)));
      lines.push(...noticeLines(S, client, frame.message));
      break;
    case "bad_password":
    case "bad_account_password":
      lines.push(server(numeric.passwdMismatch(client)));
      break;
    case "banned":
      lines.push(server(numeric.youreBannedCreep(client)));
      break;
    default:
      if (!frame.fatal) lines.push(...standardLines(frame, ctx));
  }
  if (frame.fatal) {
    const why = frame.code === "bad_password" ? "Bad password" : frame.message;
    lines.push(serverReply.error(cloak, why));
  }
  return lines;
}

/** 433 for `asked` held by `holder`, naming the holder when only a lookalike matches. */
function inUse(client: string, asked: string, holder: string | undefined): IrcLine {
  const lookalike = holder !== undefined && holder.toLowerCase() !== asked.toLowerCase();
  return numeric.nicknameInUse(client, asked, lookalike ? holder : undefined);
}

/**
 * The numeric for a core refusal of a command the session made for IRC `command` on `target`
 * (contract §4.2), or null when it has none (the sentence goes out as a NOTICE).
 */
function commandError(
  frame: ErrorFrame,
  client: string,
  command: string,
  target: string,
): IrcLine | null {
  const message = command === "PRIVMSG" || command === "NOTICE";
  switch (frame.code) {
    case "not_operator":
      return command === "OPER" ? numeric.passwdMismatch(client) : numeric.noPrivileges(client);
    case "not_room_operator":
      return numeric.chanOPrivsNeeded(client, target);
    case "not_in_room":
      return message
        ? numeric.cannotSendToChan(client, target)
        : numeric.notOnChannel(client, target);
    case "room_invite_only":
      return numeric.inviteOnlyChan(client, target);
    case "room_bad_key":
      return numeric.badChannelKey(client, target);
    case "room_full":
      return numeric.channelIsFull(client, target);
    case "room_banned":
      return command === "JOIN"
        ? numeric.bannedFromChan(client, target)
        : numeric.cannotSendToChan(client, target, frame.message);
    case "room_moderated":
      // A topic is words too: refused as speech is (404, as Charybdis does).
      return message || command === "TOPIC"
        ? numeric.cannotSendToChan(client, target, frame.message)
        : null;
    case "muted":
      return message ? numeric.cannotSendToChan(client, target, frame.message) : null;
    case "too_many_rooms":
      return numeric.tooManyChannels(client, target);
    case "no_such_user":
      return numeric.noSuchNick(client, target);
    case "room_invalid":
      return numeric.noSuchChannel(client, target);
    case "empty_text":
      return numeric.noTextToSend(client);
    case "account_required":
      return command === "JOIN" ? numeric.needReggedNick(client, target, frame.message) : null;
    default:
      return null;
  }
}

/**
 * The server's own lines as a reader sees them (contract §5.11): a `FAIL` that no specification
 * mandates (see {@linkcode ALWAYS_FAIL}; `INVALID_UTF8` is UTF8ONLY's) becomes, for a reader
 * without `standard-replies`, a NOTICE with its sentence. Every other line is left as it is.
 *
 * @example
 * ```ts
 * const params = ["PRIVMSG", "CTCP_UNSUPPORTED", "#r", "Only ACTION."];
 * const fail = { source: "irc.test", command: "FAIL", params };
 * standardRepliesFor([fail], "ann", false)[0].command; // "NOTICE"
 * standardRepliesFor([fail], "ann", true)[0].command; // "FAIL"
 * ```
 */
export function standardRepliesFor(
  lines: readonly IrcLine[],
  client: string,
  standardReplies: boolean,
): IrcLine[] {
  if (standardReplies) return [...lines];
  return lines.flatMap((line) => {
    const [command = "*", code = ""] = line.params;
    if (line.command !== "FAIL" || ALWAYS_FAIL.has(command) || code === "INVALID_UTF8") {
      return [line];
    }
    return noticeLines(line.source ?? "*", client, line.params[line.params.length - 1]);
  });
}

/**
 * A core error with no numeric: `FAIL <CMD> <CODE> [target] :<sentence>` (standard-replies,
 * `*` when the command is not known), or for a reader without the cap the sentence as NOTICEs.
 */
function standardLines(frame: ErrorFrame, ctx: ErrorContext): IrcLine[] {
  const { serverName: S, client, about } = ctx;
  const command = about?.command ?? "*";
  if (!ctx.standardReplies && !ALWAYS_FAIL.has(command)) {
    return noticeLines(S, client, frame.message);
  }
  const context = about !== null && about.target !== "" && TARGETED.has(command)
    ? [about.target]
    : [];
  // A description is one line: the core's few multi-line sentences are joined.
  const sentence = frame.message.split("\n").filter((line) => line !== "").join(" ");
  return [{
    source: S,
    ...serverReply.standard("FAIL", command, frame.code.toUpperCase(), context, sentence),
  }];
}

/**
 * The source of a service's NOTICEs, when `command` is a service's name (the session remembers
 * a service call under it); null otherwise.
 *
 * @example
 * ```ts
 * serviceSource("ChanServ"); // "ChanServ!service@services.sc"
 * ```
 */
export function serviceSource(command: string | undefined): string | null {
  return command === "NickServ" || command === "ChanServ" ? `${command}!service@services.sc` : null;
}

/**
 * One `NOTICE <me>` from `server` (or a service) per line of `text`.
 *
 * @example
 * ```ts
 * noticeLines("irc.test", "ann", "one\ntwo").length; // 2
 * ```
 */
export function noticeLines(server: string, client: string, text: string): IrcLine[] {
  return text.split("\n").filter((line) => line !== "").map((line) => ({
    source: server,
    command: "NOTICE",
    params: [client, line],
    trailing: true,
  }));
}
