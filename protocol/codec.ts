/**
 * A wire format for server frames. The chat core hands out {@linkcode Outgoing} frames and never
 * encodes them; each front end names its codec, and an event is encoded once per codec that has
 * a recipient, then shared by all of them (see `outgoing.ts`).
 *
 * @module
 */

import type { ServerFrame } from "./frames.ts";

/** Turns server frames into bytes for one kind of client. */
export interface FrameCodec {
  /** A short name, for logs: `json` (NDJSON), `plain`, `irc`. */
  readonly name: string;
  /** Index of this codec's slot in every frame's cache (see {@linkcode codecSlot}). */
  readonly slot: number;
  /** The bytes for `frame`; empty when this kind of client sees nothing of it. */
  encode(frame: ServerFrame): Uint8Array;
}

let slots = 0;

/**
 * A cache slot for a new codec: encodings are kept in a small array per frame, indexed by it, so
 * finding a frame's bytes for a codec is one array read on the hot path.
 */
export function codecSlot(): number {
  return slots++;
}

/** No bytes: what a codec returns for a frame its clients do not see. */
export const NOTHING: Uint8Array = new Uint8Array(0);
