/**
 * Turns server frames into the lines the terminal client shows: timestamps, nicks in stable
 * colours, the user's own messages set apart, mentions highlighted, history and room events
 * dimmed, and other rooms tagged `[#room]`. Every string from the network is sanitised here,
 * before any styling is added, so nothing the server relays can reach the terminal raw.
 *
 * @module
 */

import { assertNever, type ServerFrame } from "../protocol/frames.ts";
import { andMore, LEAVE_REASON_TEXT, markedNick, modeText } from "../protocol/plain/render.ts";
import { sanitizeText } from "../protocol/sanitize.ts";
import type { Palette, Role } from "./colors.ts";
import { mentions } from "./mentions.ts";
import { formatTimestamp, type TimestampStyle } from "./timestamp.ts";
import { displayWidth, wrap } from "./wrap.ts";

/** What the renderer needs to know about the session at the moment it renders. */
export interface SessionView {
  /** The user's nick. */
  readonly nick: string;
  /** True if `nick` is the user: their messages are shown differently. */
  isSelf(nick: string): boolean;
  /** True if `room` is the one the prompt shows: others are named in the line. */
  isCurrent(room: string): boolean;
}

/** How to render. */
export interface RenderOptions {
  /** Colours, or none. */
  palette: Palette;
  /** How message times are shown. */
  timestamps: TimestampStyle;
  /** Clock for frames without a time of their own. @default Date.now */
  now?: () => number;
  /**
   * A person at a terminal reads the output: the welcome's tips mention the keys (Tab). A bot
   * reading a pipe has no keys to press. @default true
   */
  keys?: boolean;
  /**
   * The terminal's width now, asked at every render (so a resize applies to the next line):
   * lines are wrapped to it with a hanging indent under their text. Undefined, or a function
   * returning undefined (pipes, scripts): lines are never wrapped. @default undefined
   */
  columns?: () => number | undefined;
}

/** One event, ready to print. */
export interface Rendered {
  /** Lines (joined by `\n`), styled only if the palette is enabled. */
  text: string;
  /** True when the event is addressed to the user (a live mention or direct message). */
  bell: boolean;
}

/** The user's own message, shown once the server has accepted it. */
export interface OwnMessage {
  /** The room it was said in. */
  room: string;
  /** The message as sent. */
  text: string;
  /** When the server accepted it, milliseconds since the Unix epoch. */
  ts: number;
  /** A `/me` action. */
  action?: boolean;
  /** The recipient of a direct message. */
  to?: string;
}

// Bidirectional overrides and isolates can make a line read differently from what it says.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

/** Network text made safe: no escapes, no control characters but newline, no bidi tricks. */
export function clean(text: string): string {
  return sanitizeText(text).replace(BIDI_CONTROLS, "");
}

/** Like {@linkcode clean}, for names and other one-line fields. */
export function cleanLine(text: string): string {
  return clean(text).replaceAll("\n", " ");
}

/**
 * Fewest columns a /help description keeps beside its command; a narrower terminal wraps the
 * description under the command instead (indented a little further).
 */
const MIN_TABLE_TEXT_COLUMNS = 30;

/**
 * Where a line of a reply or event continues when wrapped: under the text after its `* ` or
 * `! ` mark, or, in a two-column table such as /help's (`*   /nick NAME   change...`), under
 * the second column when it leaves room for the text, else 4 columns in from the first.
 */
function hangOf(line: string, table: boolean, columns: number): number {
  const lead = /^[*!]\s+/.exec(line)?.[0].length ?? 0;
  const column = table ? /^\*\s+\S.*?\s{2,}(?=\S)/.exec(line) : null;
  if (column === null) return lead;
  const width = displayWidth(column[0]);
  return columns - width >= MIN_TABLE_TEXT_COLUMNS ? width : lead + 4;
}

/** The mark after a verified nick in member lists and join lines. */
export const VERIFIED_MARK = " \u2713";
/** {@linkcode VERIFIED_MARK} in plain ASCII, for the mono theme. */
export const VERIFIED_MARK_ASCII = " (v)";

/** The welcome's line for a login that proved its registered nick. */
function ownedBy(account: { kind: "key" | "password"; fingerprint?: string }): string {
  const how = account.kind === "password"
    ? "its account password"
    : `your key${
      account.fingerprint === undefined ? "" : ` ${cleanLine(account.fingerprint).slice(0, 19)}`
    }`;
  return `Your nick is registered to you: proven by ${how}.`;
}

/**
 * Renders frames for people.
 *
 * @example
 * ```ts
 * import { Palette } from "./colors.ts";
 *
 * const view = {
 *   nick: "alice",
 *   isSelf: (nick: string) => nick === "alice",
 *   isCurrent: (room: string) => room === "#lobby",
 * };
 * const r = new Renderer(view, { palette: new Palette(false), timestamps: "none" });
 * r.frame({ type: "msg", id: 1, room: "#lobby", from: "bob", text: "hi", ts: 0 })?.text;
 * // "<bob> hi"
 * ```
 */
export class Renderer {
  readonly #view: SessionView;
  readonly #paint: Palette;
  readonly #timestamps: TimestampStyle;
  readonly #now: () => number;
  readonly #keys: boolean;
  readonly #columns: () => number | undefined;

  /** `view` is read at each render, so it always reflects the session as it is. */
  constructor(view: SessionView, options: RenderOptions) {
    this.#view = view;
    this.#paint = options.palette;
    this.#timestamps = options.timestamps;
    this.#now = options.now ?? Date.now;
    this.#keys = options.keys ?? true;
    this.#columns = options.columns ?? (() => undefined);
  }

  /** What to show for a frame; null for frames that show nothing (acks, pings). */
  frame(frame: ServerFrame): Rendered | null {
    switch (frame.type) {
      case "msg":
        return this.#message(frame.room, frame.from, frame.text, frame.ts, {
          history: frame.history === true,
          action: frame.action === true,
        });
      case "dm": {
        // A client-to-client query (IRC CTCP) is for IRC clients; the server sends none here.
        if (frame.ctcp) return null;
        const prefix = `${this.#stamp(frame.ts)}${this.#paint.paint("[dm]", "direct")} `;
        const who = frame.action ? `* ${cleanLine(frame.from)} ` : `<${cleanLine(frame.from)}> `;
        return {
          text: this.#block(prefix + this.#paint.nick(who, frame.from), clean(frame.text)),
          bell: true,
        };
      }
      case "ack":
      case "challenge":
      case "ping":
        return null;
      case "welcome": {
        const lines = [
          `Welcome to sockchat, ${cleanLine(frame.nick)}! (${cleanLine(frame.server)})`,
        ];
        for (const r of frame.rooms) {
          lines.push(this.#roomSummary(r.room, r.members, r.count, r.topic, "", r.verified));
        }
        if (frame.account !== undefined) lines.push(ownedBy(frame.account));
        lines.push(
          this.#keys
            ? "Type a message and press Enter; end a line with \\ to continue it."
            : "Each line is one message; end a line with \\ to continue it.",
        );
        lines.push(`${this.#keys ? "Tab completes, " : ""}/help lists commands, /quit leaves.`);
        return this.#event(lines.map((l) => `* ${l}`).join("\n"), this.#now());
      }
      case "joined":
        return this.#event(
          `* You are now in ${cleanLine(frame.room)}.\n${
            this.#roomSummary(
              frame.room,
              frame.members,
              frame.count,
              frame.topic,
              "* ",
              frame.verified,
              frame,
            )
          }`,
          this.#now(),
        );
      case "parted":
        return this.#event(`* You left ${cleanLine(frame.room)}.`, this.#now());
      case "gap":
        if (frame.live === true) {
          return this.#event(
            `${this.#tag(frame.room)}* Messages said here lately may be missing (the server ` +
              "fell behind the rest of the chat): /history shows them.",
            this.#now(),
          );
        }
        return this.#event(
          `${this.#tag(frame.room)}* ${frame.missed} earlier message${
            frame.missed === 1 ? " was" : "s were"
          } not replayed.`,
          this.#now(),
        );
      case "topic": {
        const room = cleanLine(frame.room);
        const topic = cleanLine(frame.topic);
        const text = frame.by === ""
          ? (topic === "" ? `* ${room} has no topic.` : `* The topic of ${room} is: ${topic}`)
          : topic === ""
          ? `* ${cleanLine(frame.by)} cleared the topic of ${room}.`
          : `* ${cleanLine(frame.by)} set the topic of ${room}: ${topic}`;
        return this.#event(text, frame.ts);
      }
      case "nick":
        return this.#event(
          `* ${cleanLine(frame.old)} is now known as ${cleanLine(frame.new)}`,
          frame.ts,
        );
      case "join":
        return this.#event(
          `${this.#tag(frame.room)}* ${cleanLine(frame.nick)}${
            frame.verified ? this.#mark() : ""
          } joined ${cleanLine(frame.room)}`,
          frame.ts,
        );
      case "leave":
        if (frame.reason === "kicked_room") {
          const whom = this.#view.isSelf(frame.nick) ? "You were" : `${cleanLine(frame.nick)} was`;
          return this.#event(
            `${this.#tag(frame.room)}* ${whom} kicked from ${cleanLine(frame.room)} by ${
              cleanLine(frame.by ?? "an operator")
            }${frame.message ? ` (${cleanLine(frame.message)})` : ""}`,
            frame.ts,
          );
        }
        return this.#event(
          `${this.#tag(frame.room)}* ${cleanLine(frame.nick)} left ${cleanLine(frame.room)} (${
            LEAVE_REASON_TEXT[frame.reason] ?? cleanLine(String(frame.reason))
          }${frame.message ? `: ${cleanLine(frame.message)}` : ""})`,
          frame.ts,
        );
      case "mode":
        return this.#event(
          `${this.#tag(frame.room)}* ${cleanLine(frame.by)} sets mode ${
            cleanLine(modeText(frame))
          } on ${cleanLine(frame.room)}`,
          frame.ts,
        );
      case "invite":
        return {
          ...this.#event(
            `* ${cleanLine(frame.by)} invites you to ${cleanLine(frame.room)} (/join ${
              cleanLine(frame.room)
            })`,
            frame.ts,
          ),
          bell: true,
        };
      case "away":
      case "account":
      case "setname":
        // IRC's notices of others' state (the server sends none over NDJSON yet).
        return null;
      case "info":
        return this.#reply(clean(frame.text), true);
      case "rooms":
        return this.#reply([
          `* Rooms (${frame.rooms.length}):`,
          ...frame.rooms.map((r) =>
            `*   ${cleanLine(r.room)} (${r.members})${
              r.topic === "" ? "" : ` - ${cleanLine(r.topic)}`
            }`
          ),
        ].join("\n"));
      case "who":
        return this.#reply(
          this.#roomSummary(
            frame.room,
            frame.members,
            frame.members.length,
            "",
            "* ",
            frame.verified,
            frame,
          ),
        );
      case "error":
      case "bye":
        return this.notice(`! ${clean(frame.message)}`, "error");
      default:
        return assertNever(frame);
    }
  }

  /** The user's own message, accepted by the server. */
  own(message: OwnMessage): Rendered {
    if (message.to !== undefined) {
      const prefix = `${this.#stamp(message.ts)}${
        this.#paint.paint(`[dm to ${cleanLine(message.to)}]`, "direct")
      } `;
      const who = `<${cleanLine(this.#view.nick)}> `;
      return {
        text: this.#block(prefix + this.#paint.paint(who, "own"), clean(message.text)),
        bell: false,
      };
    }
    return this.#message(message.room, this.#view.nick, message.text, message.ts, {
      history: false,
      action: message.action === true,
    });
  }

  /** A line from the client itself (connection state, local errors), in the given role. */
  notice(text: string, role: Role = "dim"): Rendered {
    return { text: this.#lines(clean(text), this.#now(), [role], false), bell: false };
  }

  #message(
    room: string,
    from: string,
    text: string,
    ts: number,
    how: { history: boolean; action: boolean },
  ): Rendered {
    const self = this.#view.isSelf(from);
    const mentioned = !self && mentions(text, this.#view.nick);
    const body = clean(text);
    const nick = cleanLine(from);
    const marker = how.history && !this.#paint.enabled ? "(history) " : "";
    const lead = `${this.#stamp(ts)}${marker}${this.#tag(room)}`;
    const who = how.action ? `* ${nick} ` : `<${nick}> `;
    const roles: Role[] = how.history ? ["dim"] : [];
    const styledWho = self
      ? this.#paint.paint(who, "own", ...roles)
      : this.#paint.nick(who, nick, ...roles);
    const styledBody = mentioned
      ? this.#paint.paint(body, "mention", ...roles)
      : this.#paint.paint(body, ...roles);
    return {
      text: this.#block(lead + styledWho, styledBody),
      bell: mentioned && !how.history,
    };
  }

  /** The answer to a command, as the server worded it; `table`: it may hold a /help table. */
  #reply(text: string, table = false): Rendered {
    return { text: this.#lines(text, this.#now(), [], table), bell: false };
  }

  /** A dimmed room event. */
  #event(text: string, ts: number): Rendered {
    return { text: this.#lines(text, ts, ["dim"], false), bell: false };
  }

  /**
   * `prefix` (a stamp, tags and the nick) then `body`, wrapped at the terminal's width: every
   * further row, after a newline in the body or a wrap, starts under the body's first column.
   */
  #block(prefix: string, body: string): string {
    return wrap(prefix + body, {
      columns: this.#columns() ?? Infinity,
      indent: displayWidth(prefix),
    });
  }

  /**
   * Lines of a reply or event, each painted in `roles` and wrapped with its own hanging indent
   * (see {@linkcode hangOf}); the first gets the timestamp, the others line up under it.
   */
  #lines(text: string, ts: number, roles: Role[], table: boolean): string {
    const stamp = this.#stamp(ts);
    const width = displayWidth(stamp);
    const columns = this.#columns() ?? Infinity;
    return text.split("\n").map((line, i) =>
      wrap((i === 0 ? stamp : " ".repeat(width)) + this.#paint.paint(line, ...roles), {
        columns,
        indent: width + hangOf(line, table, columns - width),
      })
    ).join("\n");
  }

  /** Who is in a room: the nicks listed and, for a big room, how many more (from `count`). */
  #roomSummary(
    room: string,
    members: string[],
    count: number,
    topic: string,
    indent = "",
    verified: readonly string[] = [],
    marks: { ops?: readonly string[]; voiced?: readonly string[] } = {},
  ): string {
    const proven = new Set(verified);
    // `@` before a room operator and `+` before someone voiced, as IRC clients show them.
    const others = members.filter((m) => !this.#view.isSelf(m)).map((m) =>
      cleanLine(markedNick(m, marks)) + (proven.has(m) ? this.#mark() : "")
    );
    const unlisted = count - members.length;
    const who = others.length + unlisted <= 0
      ? `nobody else is in ${cleanLine(room)}`
      : `in ${cleanLine(room)} with you: ${andMore(others, unlisted)}`;
    const about = topic === "" ? "" : ` Topic: ${cleanLine(topic)}`;
    return `${indent}${who[0].toUpperCase()}${who.slice(1)}.${about}`;
  }

  /**
   * The mark after a nick whose owner proved it (registered, and this login proved it): ` ✓`,
   * or ` (v)` in the mono theme, for terminals whose fonts lack the glyph. The space keeps it
   * apart from the nick, so no nick can imitate a verified one (nicks have no spaces).
   */
  #mark(): string {
    return this.#paint.theme === "mono" ? VERIFIED_MARK_ASCII : VERIFIED_MARK;
  }

  /** `[#room] ` for rooms other than the current one. */
  #tag(room: string): string {
    return this.#view.isCurrent(room)
      ? ""
      : `${this.#paint.paint(`[${cleanLine(room)}]`, "room")} `;
  }

  #stamp(ts: number): string {
    const text = formatTimestamp(ts, this.#timestamps, this.#now());
    return text === "" ? "" : `${this.#paint.paint(text, "dim")} `;
  }
}
