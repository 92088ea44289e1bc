/**
 * Server frames as non-IRC clients get them: without IRC formatting codes. The core keeps the
 * codes in message text (IRC readers get them as sent, see `security/unicode.ts`); the NDJSON
 * and plain encoders, and so the native, netcat, SSH and web clients, pass every frame through
 * {@linkcode withoutFormatting} first, so no control character reaches a terminal or a page.
 *
 * @module
 */

import { hasIrcFormatting, stripIrcFormatting } from "../security/unicode.ts";
import type { RoomSnapshot, ServerFrame } from "./frames.ts";

/**
 * `frame` with IRC formatting codes stripped from the text people wrote (message, direct
 * message, topic, leave message); the frame itself when there are none. A broadcast is encoded
 * once, and this costs one regex test per text field when there is nothing to strip.
 *
 * @example
 * ```ts
 * const frame = { type: "dm", id: 1, from: "bo", to: "al", text: "\x02hi", ts: 0 } as const;
 * withoutFormatting(frame); // { ..., text: "hi" }
 * ```
 */
export function withoutFormatting(frame: ServerFrame): ServerFrame {
  switch (frame.type) {
    case "msg":
    case "dm":
      return hasIrcFormatting(frame.text)
        ? { ...frame, text: stripIrcFormatting(frame.text) }
        : frame;
    case "topic":
    case "joined":
      return hasIrcFormatting(frame.topic)
        ? { ...frame, topic: stripIrcFormatting(frame.topic) }
        : frame;
    case "leave":
      return frame.message !== undefined && hasIrcFormatting(frame.message)
        ? { ...frame, message: stripIrcFormatting(frame.message) }
        : frame;
    case "welcome":
      return frame.rooms.some((r) => hasIrcFormatting(r.topic))
        ? { ...frame, rooms: frame.rooms.map(stripTopic) }
        : frame;
    case "rooms":
      return frame.rooms.some((r) => hasIrcFormatting(r.topic))
        ? { ...frame, rooms: frame.rooms.map(stripTopic) }
        : frame;
    default:
      return frame;
  }
}

function stripTopic<T extends Pick<RoomSnapshot, "topic">>(room: T): T {
  return { ...room, topic: stripIrcFormatting(room.topic) };
}
