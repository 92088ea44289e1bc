/**
 * Server frames as IRC lines, for one reader (contract §4.1): each IRC session renders what the
 * hub delivers for its own client, since the lines depend on who reads them (the reader's nick
 * in numerics, its caps, the QUITs it has already seen). Nothing here writes to a socket.
 *
 * @module
 */

import type { Room } from "../../core/room.ts";
import type { User } from "../../core/user.ts";
import type { ErrorFrame, GapFrame, LeaveFrame, ServerFrame } from "../frames.ts";
import type { ChatView } from "../session.ts";
import type { IrcCap } from "./caps.ts";
import { hostmaskByNick, hostmaskOf, realnameOf } from "./hostmask.ts";
import { isupportLines } from "./isupport.ts";
import { encodeLine, type IrcLine, serverTime, utf8Length } from "./line.ts";
import { numeric, serverReply } from "./numerics.ts";
import { type EchoExtras, readerLines } from "./multiline_out.ts";
import { lusersLines, motdLines } from "./commands/query.ts";
import { historySource } from "./commands/history.ts";
import { errorLines, noticeLines, serviceSource } from "./errors.ts";
import { ircHint } from "./commands/services.ts";
import { awayAfterJoin, notifyLines, presenceFrames, topicWhoTime } from "./notify.ts";

/** What the welcome burst tells about the server. */
export interface IrcServerInfo {
  /** `--server-name`: the source of every server line. */
  readonly serverName: string;
  /** `sockchat-<version>`. */
  readonly version: string;
  /** When the server started (ms since the epoch), for `003`. */
  readonly startedAt: number;
  /** The message of the day (`--motd-file`), "" for none. */
  readonly motd: string;
  /** The `005` tokens. */
  readonly isupport: readonly string[];
}

/** What a renderer needs of its session. */
export interface RenderContext {
  /** The server. */
  readonly info: IrcServerInfo;
  /** The chat, read-only. */
  readonly chat: ChatView;
  /** The reader's nick, or `*` before it has one. */
  readonly client: string;
  /** The nick the reader asked for last (NICK, or PASS's account), for `433`/`432`. */
  readonly asked: string;
  /** The account was proven over SASL, which already sent `900`. */
  readonly sasl: boolean;
  /** The caps the reader has enabled. */
  readonly caps: ReadonlySet<IrcCap>;
  /** The reader's address, for `ERROR :Closing Link`. */
  readonly cloak: string;
  /**
   * What the reader's core call with `ref` was: its IRC command and target, and a message's
   * text (for echo-message); null when unknown.
   */
  pending(
    ref: string,
  ): { target: string; text: string; command: string; action: boolean } & EchoExtras | null;
}

/** Nicks this reader was told have quit: at most this many remembered. */
const QUIT_SEEN_MAX = 256;

/** Turns frames into lines for one reader. */
export class IrcRenderer {
  readonly #ctx: RenderContext;
  /** Nicks whose QUIT this reader has had (one QUIT, however many rooms it shared). */
  readonly #quit = new Set<string>();

  /** A renderer for the reader `ctx` describes. */
  constructor(ctx: RenderContext) {
    this.#ctx = ctx;
  }

  /**
   * This reader's bookkeeping for `frame` when its bytes come from a shared encoding
   * (`profile.ts`): a JOIN forgets the nick's QUIT, and a QUIT is shown once. False: the reader
   * sees nothing of it.
   */
  sees(frame: ServerFrame): boolean {
    if (frame.type === "join") this.#quit.delete(frame.nick);
    if (frame.type !== "leave" || frame.reason === "part" || frame.reason === "kicked_room") {
      return true;
    }
    return this.#firstQuit(frame.nick);
  }

  /** True the first time since its last JOIN that this reader is told `nick` quit. */
  #firstQuit(nick: string): boolean {
    if (this.#quit.has(nick)) return false;
    if (this.#quit.size >= QUIT_SEEN_MAX) this.#quit.clear();
    this.#quit.add(nick);
    return true;
  }

  /** The lines, CRLF-terminated, for `frame`; "" when the reader sees nothing of it. */
  render(frame: ServerFrame): string {
    return this.lines(frame).map(encodeLine).join("");
  }

  /** The lines for `frame`, before encoding. */
  lines(frame: ServerFrame): IrcLine[] {
    const { info, client } = this.#ctx;
    const S = info.serverName;
    const server = (line: IrcLine): IrcLine => ({ source: S, ...line });
    const time = (ts: number): Record<string, string> =>
      this.#ctx.caps.has("server-time") ? { time: serverTime(ts) } : {};
    const mask = (nick: string) => hostmaskByNick(nick, (n) => this.#ctx.chat.user(n));
    switch (frame.type) {
      case "welcome": {
        const lines = this.#welcome(frame.nick);
        // An account proven at login (PASS account:password): 900, before the MOTD's end.
        if (frame.account === undefined || this.#ctx.sasl) return lines;
        const me = this.#ctx.chat.user(frame.nick);
        const full = me === undefined ? `${frame.nick}!~sc@gone.sc` : hostmaskOf(me);
        return [...lines, server(numeric.loggedIn(frame.nick, full, frame.nick))];
      }
      case "msg":
      case "dm": {
        // The sender is looked up once, for the mask and the account tag alike (hot path).
        // A replayed message names its nick only: not the mask or account of its holder now.
        const replayed = frame.type === "msg" && frame.history === true;
        const sender = replayed ? undefined : this.#ctx.chat.user(frame.from);
        return readerLines(this.#ctx.caps, {
          id: frame.id,
          source: replayed ? historySource(frame.from) : hostmaskByNick(frame.from, () => sender),
          command: frame.notice ? "NOTICE" : "PRIVMSG",
          target: frame.type === "msg" ? frame.room : client,
          text: frame.text,
          action: frame.action,
          ctcp: frame.type === "dm" ? frame.ctcp : undefined,
          breaks: frame.breaks,
          tags: { ...time(frame.ts), ...this.#accountOf(sender) },
        });
      }
      case "ack": {
        if (!this.#ctx.caps.has("echo-message") || frame.ref === undefined) return [];
        const echo = this.#ctx.pending(frame.ref);
        if (echo === null || (echo.command !== "PRIVMSG" && echo.command !== "NOTICE")) return [];
        const me = this.#ctx.chat.user(client);
        return readerLines(this.#ctx.caps, {
          id: frame.id,
          source: hostmaskByNick(client, () => me),
          command: echo.command === "NOTICE" ? "NOTICE" : "PRIVMSG",
          target: echo.target,
          text: echo.text,
          action: echo.action,
          ctcp: echo.ctcp,
          breaks: echo.breaks,
          tags: { ...time(frame.ts), ...this.#accountOf(me) },
        });
      }
      case "joined":
        return this.#joined(frame.room);
      case "parted": {
        // The client's own PART carries its words, as the members' does (kept with the ref).
        const about = frame.ref === undefined ? null : this.#ctx.pending(frame.ref);
        const words = about?.command === "PART" ? about.text : "";
        return [{
          source: mask(client),
          command: "PART",
          params: words === "" ? [frame.room] : [frame.room, words],
          trailing: words !== "",
        }];
      }
      case "join": {
        this.#quit.delete(frame.nick);
        // One lookup for the mask, the account tag and extended-join's fields.
        const joiner = this.#ctx.chat.user(frame.nick);
        return [{
          tags: { ...time(frame.ts), ...this.#accountOf(joiner) },
          source: hostmaskByNick(frame.nick, () => joiner),
          command: "JOIN",
          params: this.#joinParams(frame.room, joiner),
          trailing: this.#ctx.caps.has("extended-join"),
        }, ...awayAfterJoin(frame.nick, frame.room, this.#ctx, frame.ts)];
      }
      case "leave":
        return this.#leave(frame, time(frame.ts), mask);
      case "topic":
        if (frame.by === "") {
          return [server(
            frame.topic === ""
              ? numeric.noTopic(client, frame.room)
              : numeric.topic(client, frame.room, frame.topic),
          )];
        }
        return [{
          tags: time(frame.ts),
          source: mask(frame.by),
          command: "TOPIC",
          params: [frame.room, frame.topic],
          trailing: true,
        }];
      case "nick": {
        // The core renamed the user already: their own ident and cloak under the old nick (the
        // last mask seen for the old nick is none when it never showed, as right after login).
        const now = this.#ctx.chat.user(frame.new);
        const was = now !== undefined && now.nick === frame.new
          ? hostmaskOf(now)
          : hostmaskByNick(frame.old, () => undefined);
        return [{
          tags: time(frame.ts),
          source: was.replace(/^[^!]*/, frame.old),
          command: "NICK",
          params: [frame.new],
          trailing: true,
        }];
      }
      case "mode":
        return [{
          tags: time(frame.ts),
          source: mask(frame.by),
          command: "MODE",
          params: [frame.room, frame.changes, ...frame.args],
        }];
      case "invite":
      case "away":
      case "account":
      case "setname":
        return notifyLines(frame, this.#ctx);
      case "info": {
        // A storm's summary: the exact JOIN, PART and QUIT lines it counts (notify.ts).
        const presence = presenceFrames(frame, this.#ctx);
        if (presence !== null) return presence.flatMap((each) => this.lines(each));
        // A service's answer comes from the service.
        const about = frame.ref === undefined ? null : this.#ctx.pending(frame.ref);
        // AWAY's answer is 306 or 305, by the state the core left; INVITE's is 341 (the nick is
        // kept as the text).
        if (about?.command === "AWAY") {
          const away = this.#ctx.chat.user(client)?.away ?? null;
          return [server(away === null ? numeric.unaway(client) : numeric.nowAway(client))];
        }
        if (about?.command === "INVITE") {
          return [server(numeric.inviting(client, about.text, about.target))];
        }
        // KICK's answer is the KICK line the kicker already has (labels.ts labels it).
        if (about?.command === "KICK") return [];
        // The one a DM went to is away: 301, with their away message (contract §4.6).
        const gone = frame.awayOf === undefined ? undefined : this.#ctx.chat.user(frame.awayOf);
        if (gone !== undefined && gone.away !== null) {
          return [server(numeric.away(client, gone.nick, gone.away))];
        }
        return noticeLines(serviceSource(about?.command) ?? S, client, ircHint(frame.text, client));
      }
      case "ping":
        return [{ command: "PING", params: [frame.token], trailing: true }];
      case "error":
        return this.#error(frame);
      case "bye":
        return [serverReply.error(this.#ctx.cloak, frame.message)];
      case "gap":
        // A join replay cut to fit the reader's queue: said in the room, as other clients do.
        return noticeLines(S, frame.room, gapText(frame));
      case "rooms":
      case "who":
      case "challenge":
        return [];
    }
  }

  /** 001-005, LUSERS, MOTD and 221 (contract §2 step 3). */
  #welcome(nick: string): IrcLine[] {
    const { info, chat } = this.#ctx;
    const S = info.serverName;
    const query = { chat, client: nick, serverName: S };
    const lines: IrcLine[] = [
      numeric.welcome(nick, S.replaceAll(" ", "-"), nick),
      numeric.yourHost(nick, S, info.version),
      numeric.created(nick, new Date(info.startedAt).toUTCString()),
      numeric.myInfo(nick, S, info.version, "io", "biklmnotv", "bklov"),
      ...isupportLines(S, nick, info.isupport),
      ...lusersLines(query),
      ...motdLines(nick, S, info.motd),
      numeric.uModeIs(nick, "+"),
    ];
    return lines.map((line) => ({ source: S, ...line }));
  }

  /** `:me JOIN #r`, the topic, and the names (from the live room: the frame lists a page). */
  #joined(name: string): IrcLine[] {
    const { info, client, chat } = this.#ctx;
    const S = info.serverName;
    const room = chat.room(name);
    const me = chat.user(client);
    const lines: IrcLine[] = [{
      source: me === undefined ? `${client}!~sc@gone.sc` : hostmaskOf(me),
      command: "JOIN",
      params: this.#joinParams(name, me),
      trailing: this.#ctx.caps.has("extended-join"),
    }];
    if (room === undefined) return lines;
    if (room.topic !== "") lines.push({ source: S, ...numeric.topic(client, name, room.topic) });
    for (const line of topicWhoTime(client, room)) lines.push({ source: S, ...line });
    return [...lines, ...this.names(room)];
  }

  /** `#room`, or with extended-join `#room <account|*> <realname>`. */
  #joinParams(room: string, user: User | undefined): string[] {
    if (!this.#ctx.caps.has("extended-join")) return [room];
    if (user === undefined) return [room, "*", "sockchat user"];
    return [room, user.verified ? user.nick : "*", realnameOf(user)];
  }

  /**
   * With account-tag, `account=<nick>` for a verified user's lines; the caller has looked the
   * user up already (undefined: offline), for its mask too.
   */
  #accountOf(user: User | undefined): Record<string, string> {
    if (!this.#ctx.caps.has("account-tag")) return {};
    return user !== undefined && user.verified ? { account: user.nick } : {};
  }

  /** `353` lines packed to fit 512 bytes, then `366`. */
  names(room: Room): IrcLine[] {
    const { info, client, caps } = this.#ctx;
    const S = info.serverName;
    const full = caps.has("userhost-in-names");
    const prefixed = [...room.members].map((user) =>
      prefix(room, user, caps) + (full ? hostmaskOf(user) : user.nick)
    );
    const fixed = utf8Length(encodeLine({ source: S, ...numeric.namReply(client, room.name, []) }));
    const lines: IrcLine[] = [];
    let chunk: string[] = [];
    let bytes = fixed;
    for (const name of prefixed) {
      const add = utf8Length(name) + (chunk.length === 0 ? 0 : 1);
      if (chunk.length > 0 && bytes + add > 512) {
        lines.push({ source: S, ...numeric.namReply(client, room.name, chunk) });
        chunk = [];
        bytes = fixed;
      }
      bytes += utf8Length(name) + (chunk.length === 0 ? 0 : 1);
      chunk.push(name);
    }
    if (chunk.length > 0) lines.push({ source: S, ...numeric.namReply(client, room.name, chunk) });
    lines.push({ source: S, ...numeric.endOfNames(client, room.name) });
    return lines;
  }

  /** PART, KICK or (once per reader) QUIT. */
  #leave(
    frame: LeaveFrame,
    tags: Record<string, string>,
    mask: (nick: string) => string,
  ): IrcLine[] {
    switch (frame.reason) {
      case "part":
        return [{
          tags,
          source: mask(frame.nick),
          command: "PART",
          params: frame.message ? [frame.room, frame.message] : [frame.room],
          trailing: frame.message !== undefined && frame.message !== "",
        }];
      case "kicked_room":
        return [{
          tags,
          source: mask(frame.by ?? this.#ctx.info.serverName),
          command: "KICK",
          params: [frame.room, frame.nick, frame.message || (frame.by ?? frame.nick)],
          trailing: true,
        }];
      default: {
        if (!this.#firstQuit(frame.nick)) return [];
        return [{
          tags,
          source: mask(frame.nick),
          command: "QUIT",
          params: [quitText(frame)],
          trailing: true,
        }];
      }
    }
  }

  /** A core error, as the numeric or reply an IRC client expects (contract §2, §4.2). */
  #error(frame: ErrorFrame): IrcLine[] {
    const { info, client, cloak, asked } = this.#ctx;
    const about = frame.ref === undefined ? null : this.#ctx.pending(frame.ref);
    const standardReplies = this.#ctx.caps.has("standard-replies");
    const S = info.serverName;
    // Who holds the nick asked for, if not the reader: 433 then says it is in use.
    const held = this.#ctx.chat.user(asked)?.nick;
    const holder = held === client ? undefined : held;
    const ctx = { serverName: S, client, cloak, asked, holder, about, standardReplies };
    return errorLines(frame, ctx);
  }
}

/** `@`/`+` before a member's nick (both with multi-prefix, else the highest). */
function prefix(room: Room, user: User, caps: ReadonlySet<IrcCap>): string {
  const op = room.ops.has(user) ? "@" : "";
  const voice = room.voiced.has(user) ? "+" : "";
  return caps.has("multi-prefix") ? op + voice : op || voice;
}

/** The QUIT text for a leave that is neither a part nor a room kick. */
function quitText(frame: LeaveFrame): string {
  switch (frame.reason) {
    case "quit":
      return frame.message ? `Quit: ${frame.message}` : "Quit";
    case "timeout":
      return "Ping timeout";
    case "flood":
      return "Excess Flood";
    case "kicked":
      return frame.message ? `Killed (${frame.by ?? "*"} (${frame.message}))` : "Killed";
    case "node_lost":
      // The words a netsplit's QUIT carries: IRC clients know them.
      return "*.net *.split";
    default:
      return frame.message ? `${frame.reason}: ${frame.message}` : frame.reason;
  }
}

/** What a cut replay left out, as the room's NOTICE says it. */
function gapText(frame: GapFrame): string {
  const { missed, room } = frame;
  if (frame.live === true) {
    return `* Messages said in ${room} lately may be missing (this server fell behind the rest ` +
      "of the chat): CHATHISTORY or /history shows them.";
  }
  const what = missed === 1 ? "1 earlier message" : `${missed} earlier messages`;
  return `* ${what} in ${room} not shown (too many to replay at once).`;
}
