/**
 * The NDJSON codec: one JSON object per line, LF-terminated, exactly as docs/PROTOCOL.md defines.
 * The bytes of a short frame come from a shared slab (slab.ts): making a small `Uint8Array` of
 * its own would cost several times the JSON.
 *
 * @module
 */

import { codecSlot, type FrameCodec, NOTHING } from "../codec.ts";
import type { ServerFrame } from "../frames.ts";
import { utf8 } from "../slab.ts";
import { withoutFormatting } from "../without_formatting.ts";

/**
 * Server frames as NDJSON, without IRC formatting codes (see `without_formatting.ts`): native,
 * SSH and web clients print text, and a colour code would show as garbage or reach a terminal.
 *
 * @example
 * ```ts
 * NDJSON.encode({ type: "ping", token: "p1" }); // {"type":"ping","token":"p1"}\n
 * ```
 */
export const NDJSON: FrameCodec = {
  name: "json",
  slot: codecSlot(),
  encode: (frame: ServerFrame) =>
    forIrcOnly(frame)
      ? NOTHING
      : utf8(JSON.stringify(withoutFormatting(withoutLists(frame))) + "\n"),
};

/**
 * True for what only IRC clients show, which clients of protocol 1 would take for broken frames
 * or misread: a client-to-client query (`dm` with `ctcp`: nothing here answers one), the notify
 * frames (`away`, `account`, `setname`) and an operator's copy of an invitation (`notify`).
 */
function forIrcOnly(frame: ServerFrame): boolean {
  switch (frame.type) {
    case "dm":
      return frame.ctcp === true;
    case "away":
    case "account":
    case "setname":
      return true;
    case "invite":
      return frame.notify === true;
    default:
      return false;
  }
}

/**
 * A presence summary without its lists of who joined and left (IRC clients need them; these
 * clients read the line, and a storm's lists sent to every member would cost the room's size
 * squared); an away notice without the nick IRC's 301 names (the line says it).
 */
function withoutLists(frame: ServerFrame): ServerFrame {
  if (
    frame.type !== "info" ||
    (frame.joined === undefined && frame.left === undefined && frame.awayOf === undefined)
  ) {
    return frame;
  }
  const { joined: _joined, left: _left, ts: _ts, awayOf: _awayOf, ...rest } = frame;
  return rest;
}
