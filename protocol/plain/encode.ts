/**
 * The plain-text codec, for netcat and telnet: each frame as the lines a person reads
 * (`render.ts`), CRLF-terminated for telnet; nothing for frames a person need not see (acks).
 *
 * @module
 */

import { codecSlot, type FrameCodec, NOTHING } from "../codec.ts";
import type { ServerFrame } from "../frames.ts";
import { renderPlain } from "./render.ts";
import { utf8 } from "../slab.ts";

/**
 * Server frames as plain text lines.
 *
 * @example
 * ```ts
 * PLAIN.encode({ type: "join", room: "#lobby", nick: "bob", ts: 0 }); // * bob joined #lobby\r\n
 * ```
 */
export const PLAIN: FrameCodec = {
  name: "plain",
  slot: codecSlot(),
  encode(frame: ServerFrame): Uint8Array {
    const text = renderPlain(frame);
    return text === null ? NOTHING : utf8(text.replaceAll("\n", "\r\n") + "\r\n");
  },
};
