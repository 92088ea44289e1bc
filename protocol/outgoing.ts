/**
 * A server frame on its way out, encoded at most once per wire format no matter how many
 * recipients it has. The hub builds one per broadcast; each transport asks for its bytes.
 *
 * @module
 */

import type { FrameCodec } from "./codec.ts";
import type { ServerFrame } from "./frames.ts";
import { alloc } from "./slab.ts";

/** Something the core hands to a peer: one frame or a committed batch, encodable per codec. */
export interface Deliverable {
  /** How many frames these bytes hold (for delivery counts). */
  readonly count: number;
  /** The bytes for `codec`: encoded on first use, then shared by every peer that speaks it. */
  encode(codec: FrameCodec): Uint8Array;
}

/**
 * A frame's bytes as one codec already encoded them elsewhere (the cluster log carries each
 * message's NDJSON frame as its author's node encoded it): taken as that codec's encoding.
 */
export interface Preencoded {
  /** The codec's slot ({@linkcode FrameCodec.slot}). */
  readonly slot: number;
  /** The frame's bytes in that codec, exactly as its `encode` would give them. */
  readonly bytes: Uint8Array;
}

/** One frame, encoded at most once per codec. */
export class Outgoing implements Deliverable {
  /** The frame being sent. */
  readonly frame: ServerFrame;
  /** One frame. */
  readonly count = 1;
  /** Encodings by codec slot. */
  #bytes: (Uint8Array | undefined)[] = [];

  /** Encodes nothing yet (but `pre`, taken as its codec's encoding): each codec on first use. */
  constructor(frame: ServerFrame, pre?: Preencoded) {
    this.frame = frame;
    if (pre !== undefined) this.#bytes[pre.slot] = pre.bytes;
  }

  /** {@inheritDoc Deliverable.encode} */
  encode(codec: FrameCodec): Uint8Array {
    return this.#bytes[codec.slot] ??= codec.encode(this.frame);
  }
}

/**
 * Several frames delivered as one: a committed batch relayed to a member who gets all of it.
 * Per codec, the frames' encodings are concatenated once and the same buffer goes to every such
 * member.
 */
export class OutgoingBatch implements Deliverable {
  readonly #items: readonly Outgoing[];
  #bytes: (Uint8Array | undefined)[] = [];
  /** The frames, made once: every reader that renders its own (IRC) asks for them. */
  #frames: readonly ServerFrame[] | null = null;

  /** Encodes nothing yet: each codec encodes on first use. */
  constructor(items: readonly Outgoing[]) {
    this.#items = items;
  }

  /** Frames in the batch. */
  get count(): number {
    return this.#items.length;
  }

  /** The frames, in order. */
  get frames(): readonly ServerFrame[] {
    return this.#frames ??= this.#items.map((o) => o.frame);
  }

  /** {@inheritDoc Deliverable.encode} */
  encode(codec: FrameCodec): Uint8Array {
    return this.#bytes[codec.slot] ??= concat(this.#items.map((o) => o.encode(codec)));
  }
}

/** Joins byte arrays into one (no copy for a single part; a short result comes from the slab). */
export function concat(parts: readonly Uint8Array[], total = -1): Uint8Array {
  if (parts.length === 1) return parts[0];
  if (total < 0) {
    total = 0;
    for (const p of parts) total += p.length;
  }
  const out = alloc(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
