/**
 * Micro-benchmark: what the server does with each client frame before the hub sees it, splitting
 * lines out of a read chunk (`FrameDecoder.push`) and validating them (`parseClientFrame`).
 *
 * @module
 */

import { DEFAULT_MAX_FRAME_BYTES } from "../config/limits.ts";
import { FrameDecoder } from "../protocol/frame_decoder.ts";
import { parseClientFrame } from "../protocol/ndjson/decode.ts";
import { ITERATIONS, TEXT_64 } from "./micro_options.ts";

/** Frames per chunk: a pipelining client fills a 16 KiB read with about this many. */
const FRAMES = 100;
const chunk = new TextEncoder().encode(
  Array.from(
    { length: FRAMES },
    (_, i) => `{"type":"msg","room":"#lobby","text":"${TEXT_64}","ref":"${i}"}\n`,
  ).join(""),
);
const decoder = new FrameDecoder({ maxFrame: DEFAULT_MAX_FRAME_BYTES });

Deno.bench({
  name: `frame decode: FrameDecoder.push + parseClientFrame (${FRAMES} frames per iteration)`,
  ...ITERATIONS,
  fn() {
    for (const decoded of decoder.push(chunk)) {
      if (decoded.kind !== "frame" || !parseClientFrame(decoded.bytes).ok) {
        throw new Error("bad frame in benchmark input");
      }
    }
  },
});
