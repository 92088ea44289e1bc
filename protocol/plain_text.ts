/**
 * Renders server frames as the plain lines a netcat user (or a piped `join`) reads, such as
 * `<bob> hello` and `* alice joined #lobby`.
 *
 * @module
 */

import { assertNever, type LeaveReason, LOBBY, type ServerFrame } from "./frames.ts";

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
};

/** `[#room] ` for rooms other than the lobby, so that plain readers can tell rooms apart. */
function roomTag(room: string): string {
  return room === LOBBY ? "" : `[${room}] `;
}

/** Prefixes the first line and indents the rest, so a multi-line message stays one block. */
export function prefixLines(prefix: string, text: string): string {
  if (!text.includes("\n")) return prefix + text;
  const pad = " ".repeat(prefix.length);
  return text.split("\n").map((line, i) => (i === 0 ? prefix : pad) + line).join("\n");
}

/**
 * The text a plain client sees for a frame, without the final newline; null when a plain client
 * sees nothing (an ack: the author already has the text on their screen).
 */
export function renderPlain(frame: ServerFrame): string | null {
  switch (frame.type) {
    case "welcome": {
      const lines = [`* Welcome to sockchat, ${frame.nick}!`];
      for (const r of frame.rooms) {
        const others = r.members.filter((m) => m !== frame.nick);
        lines.push(
          others.length === 0
            ? `* You are alone in ${r.room}.`
            : `* In ${r.room}: ${others.join(", ")}.`,
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
      return prefixLines(`${history}${roomTag(frame.room)}${who}`, frame.text);
    }
    case "dm":
      return prefixLines(`[dm] <${frame.from}> `, frame.text);
    case "joined": {
      const topic = frame.topic === "" ? "" : ` Topic: ${frame.topic}`;
      return `* You are in ${frame.room} with ${frame.members.join(", ")}.${topic}`;
    }
    case "parted":
      return `* You left ${frame.room}.`;
    case "gap":
      return `* ${frame.missed} earlier message${
        frame.missed === 1 ? "" : "s"
      } in ${frame.room} not shown.`;
    case "topic":
      return frame.topic === ""
        ? `* ${frame.by} cleared the topic of ${frame.room}`
        : `* ${frame.by} set the topic of ${frame.room}: ${frame.topic}`;
    case "nick":
      return `* ${frame.old} is now known as ${frame.new}`;
    case "info":
      return frame.text;
    case "rooms":
      return [
        "* Rooms:",
        ...frame.rooms.map((r) =>
          `*   ${r.room} (${r.members})${r.topic === "" ? "" : ` - ${r.topic}`}`
        ),
        ...(frame.more ? [`*   ...and ${frame.more} more`] : []),
      ].join("\n");
    case "who":
      return `* In ${frame.room}: ${frame.members.join(", ")}`;
    case "ping":
      return null;
    case "join":
      return `* ${frame.nick} joined ${frame.room}`;
    case "leave":
      return `* ${frame.nick} left ${frame.room} (${LEAVE_REASON_TEXT[frame.reason]})`;
    case "error":
      return `! ${frame.code}: ${frame.message}`;
    case "bye":
      return `! bye: ${frame.message}`;
    default:
      return assertNever(frame);
  }
}
