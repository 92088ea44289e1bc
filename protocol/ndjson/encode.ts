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
  // A client-to-client query (`dm` with `ctcp`) is for IRC clients only: nothing here answers one.
  encode: (frame: ServerFrame) =>
    frame.type === "dm" && frame.ctcp
      ? NOTHING
      : utf8(JSON.stringify(withoutFormatting(frame)) + "\n"),
};
