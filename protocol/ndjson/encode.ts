/**
 * The NDJSON codec: one JSON object per line, LF-terminated, exactly as docs/PROTOCOL.md defines.
 *
 * @module
 */

import { codecSlot, type FrameCodec } from "../codec.ts";
import type { ServerFrame } from "../frames.ts";

const encoder = new TextEncoder();

/**
 * Server frames as NDJSON.
 *
 * @example
 * ```ts
 * NDJSON.encode({ type: "ping", token: "p1" }); // {"type":"ping","token":"p1"}\n
 * ```
 */
export const NDJSON: FrameCodec = {
  name: "json",
  slot: codecSlot(),
  encode: (frame: ServerFrame) => encoder.encode(JSON.stringify(frame) + "\n"),
};
