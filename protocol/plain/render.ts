/**
 * Renders server frames as the plain lines a netcat user (or a piped `join`) reads, such as
 * `<bob> hello` and `* alice joined #lobby`.
 *
 * @module
 */

import { assertNever, type LeaveReason, LOBBY, type ServerFrame } from "../frames.ts";
import { counted } from "../../core/text.ts";
import { withoutFormatting } from "../without_formatting.ts";
import { sanitizeText } from "../sanitize.ts";

/** A few words for each leave reason, as people read them. */
export const LEAVE_REASON_TEXT: Record<LeaveReason, string> = {
  quit: "quit",
  part: "left",
  dropped: "connection lost",
  too_slow: "too slow to keep up",
  timeout: "timed out",
  kicked: "kicked",
  banned: "banned",
  protocol_error: "protocol errors",
  shutdown: "server shutting down",
  flood: "flooding",
  replaced: "the nick's owner logged in elsewhere",
  kicked_room: "kicked from the room",
  node_lost: "their server was lost",
};

/**
 * A nick as a member list shows it: `@alice` for a room operator, `+bob` for someone voiced,
 * as IRC clients show them.
 */
export function markedNick(
  nick: string,
  marks: { ops?: readonly string[]; voiced?: readonly string[] },
): string {
  if (marks.ops?.includes(nick)) return `@${nick}`;
  if (marks.voiced?.includes(nick)) return `+${nick}`;
  return nick;
}

/**
 * A `mode` frame in words: `+m`, or `+o bob`, `+kl secret 10` with its arguments after.
 */
export function modeText(frame: { changes: string; args: readonly string[] }): string {
  // The core refuses masks with control or bidi characters; this is the backstop, since the
  // line goes to a terminal as it is.
  return sanitizeText([frame.changes, ...frame.args].join(" "));
}

/**
 * Who reads a plain rendering: what the per-reader details depend on (which rooms a line is
 * tagged with, and which nick is "you").
 */
export interface PlainReader {
  /** The reader's nick; empty when unknown. */
  readonly nick: string;
  /** True if lines from `room` start with a `[#room] ` tag for this reader. */
  tags(room: string): boolean;
}

/**
 * A reader nobody in particular: every room but the lobby is tagged, and no nick is "you". A
 * plain session renders for its own reader (see `session.ts`); this is what is shared.
 */
export const ANY_READER: PlainReader = { nick: "", tags: (room) => room !== LOBBY };

/**
 * Runs of blank this long or longer are collapsed in plain output: padding a message with spaces
 * could otherwise push a fake `<alice> ...` to column 0 of the reader's next screen row.
 */
export const PLAIN_MAX_BLANK_RUN = 8;

const LONG_BLANKS = new RegExp(`[ \\t]{${PLAIN_MAX_BLANK_RUN},}`, "g");
const LEADING_BLANKS = /^[ \t]+/;

/**
 * Collapses long runs of spaces and tabs: within a line to one space, and a line's indentation
 * to at most {@linkcode PLAIN_MAX_BLANK_RUN} spaces (so code keeps some of its shape).
 */
export function collapseBlanks(line: string): string {
  if (line.length < PLAIN_MAX_BLANK_RUN) return line;
  const indent = LEADING_BLANKS.exec(line)?.[0] ?? "";
  const rest = line.slice(indent.length).replace(LONG_BLANKS, " ");
  return " ".repeat(Math.min(indent.replaceAll("\t", "    ").length, PLAIN_MAX_BLANK_RUN)) + rest;
}

/**
 * Prefixes the first line and indents the rest, so a multi-line message stays one block; long
 * runs of blanks are collapsed (see {@linkcode collapseBlanks}).
 */
export function prefixLines(prefix: string, text: string): string {
  if (!text.includes("\n")) return prefix + collapseBlanks(text);
  const pad = " ".repeat(prefix.length);
  return text.split("\n").map((line, i) => (i === 0 ? prefix : pad) + collapseBlanks(line))
    .join("\n");
}

/**
 * `a, b, c and 4,997 more`: the nicks a frame lists, and how many it left out (a `welcome` or
 * `joined` lists a first page of a big room's members; its `count` says how many there are).
 */
export function andMore(nicks: readonly string[], unlisted: number): string {
  const listed = nicks.join(", ");
  if (unlisted <= 0) return listed;
  const more = unlisted.toLocaleString("en-US");
  return nicks.length === 0
    ? `${more} ${unlisted === 1 ? "other" : "others"}`
    : `${listed} and ${more} more`;
}

/**
 * The text a plain client sees for a frame, without the final newline; null when a plain client
 * sees nothing (an ack: the author already has the text on their screen). IRC formatting codes
 * are stripped first (see `without_formatting.ts`): they are control characters.
 */
export function renderPlain(frame: ServerFrame, reader: PlainReader = ANY_READER): string | null {
  return render(withoutFormatting(frame), reader);
}

function render(frame: ServerFrame, reader: PlainReader): string | null {
  switch (frame.type) {
    case "welcome": {
      const lines = [`* Welcome to sockchat, ${frame.nick}!`];
      for (const r of frame.rooms) {
        const others = r.members.filter((m) => m !== frame.nick);
        const unlisted = r.count - r.members.length;
        lines.push(
          others.length + unlisted === 0
            ? `* You are alone in ${r.room}.`
            : `* In ${r.room}: ${andMore(others, unlisted)}.`,
        );
      }
      lines.push(
        "* Type a message and press Enter. End a line with \\ to continue it. /quit leaves.",
      );
      return lines.join("\n");
    }
    case "ack":
      return null;
    case "msg": {
      const history = frame.history ? "(history) " : "";
      const who = frame.action ? `* ${frame.from} ` : `<${frame.from}> `;
      const tag = reader.tags(frame.room) ? `[${frame.room}] ` : "";
      return prefixLines(`${history}${tag}${who}`, frame.text);
    }
    case "dm":
      // A client-to-client query (CTCP VERSION...) is for IRC clients: a person has no answer.
      if (frame.ctcp) return null;
      return prefixLines(
        frame.action ? `[dm] * ${frame.from} ` : `[dm] <${frame.from}> `,
        frame.text,
      );
    case "joined": {
      const topic = frame.topic === "" ? "" : ` Topic: ${collapseBlanks(frame.topic)}`;
      // The reader is in the list (last) and counted: they are not their own company. "You are
      // in" either way, so that a reader waiting for that phrase finds it.
      const others = frame.members.filter((m) => m !== reader.nick).map((m) =>
        markedNick(m, frame)
      );
      const unlisted = frame.count - frame.members.length;
      return others.length + unlisted <= 0
        ? `* You are in ${frame.room}, alone.${topic}`
        : `* You are in ${frame.room} with ${andMore(others, unlisted)}.${topic}`;
    }
    case "parted":
      return `* You left ${frame.room}.`;
    case "gap":
      return frame.live === true
        ? `* Messages said in ${frame.room} lately may be missing (this server fell behind the ` +
          "rest of the chat): /history shows them."
        : `* ${counted(frame.missed, "earlier message")} in ${frame.room} not shown.`;
    case "topic":
      // No setter: the answer to `/topic` with no text, which asks what the topic is.
      if (frame.by === "") {
        return frame.topic === ""
          ? `* ${frame.room} has no topic.`
          : `* Topic of ${frame.room}: ${collapseBlanks(frame.topic)}`;
      }
      return frame.topic === ""
        ? `* ${frame.by} cleared the topic of ${frame.room}`
        : `* ${frame.by} set the topic of ${frame.room}: ${collapseBlanks(frame.topic)}`;
    case "nick":
      return `* ${frame.old} is now known as ${frame.new}`;
    case "info":
      return frame.text;
    case "rooms":
      return [
        "* Rooms:",
        ...frame.rooms.map((r) =>
          `*   ${r.room} (${r.members})${r.topic === "" ? "" : ` - ${collapseBlanks(r.topic)}`}`
        ),
        ...(frame.more ? [`*   ...and ${frame.more} more`] : []),
      ].join("\n");
    case "who":
      return `* In ${frame.room}: ${frame.members.map((m) => markedNick(m, frame)).join(", ")}`;
    case "mode":
      return `* ${frame.by} sets mode ${modeText(frame)} on ${frame.room}`;
    case "invite":
      // An operator's copy of someone else's invitation is for IRC's invite-notify.
      if (frame.notify) return null;
      return `* ${frame.by} invites you to ${frame.room} (/join ${frame.room})`;
    case "away":
    case "account":
    case "setname":
      // IRC clients track these per member; a person asks with /whois when it matters.
      return null;
    case "ping":
    case "challenge":
      return null;
    case "join":
      return `* ${frame.nick} joined ${frame.room}`;
    case "leave":
      if (frame.reason === "kicked_room") {
        const whom = frame.nick === reader.nick ? "You were" : `${frame.nick} was`;
        return `* ${whom} kicked from ${frame.room} by ${frame.by ?? "an operator"}${
          frame.message ? ` (${frame.message})` : ""
        }`;
      }
      return `* ${frame.nick} left ${frame.room} (${LEAVE_REASON_TEXT[frame.reason]}${
        frame.message ? `: ${frame.message}` : ""
      })`;
    case "error":
      return `! ${frame.code}: ${frame.message}`;
    case "bye":
      return `! bye: ${frame.message}`;
    default:
      return assertNever(frame);
  }
}
