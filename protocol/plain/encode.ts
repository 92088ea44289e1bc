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
    return plainBytes(renderPlain(frame));
  },
};

/**
 * Rendered text as it goes on the wire: CRLF after every line (telnet wants it); no bytes for
 * null (a frame the reader does not see).
 *
 * @example
 * ```ts
 * plainBytes("* one\n* two"); // "* one\r\n* two\r\n"
 * ```
 */
export function plainBytes(text: string | null): Uint8Array {
  return text === null ? NOTHING : utf8(text.replaceAll("\n", "\r\n") + "\r\n");
}
