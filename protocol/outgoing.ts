/**
 * A server frame on its way out, encoded at most once per wire format no matter how many
 * recipients it has. The hub builds one per broadcast; each transport asks for its bytes.
 *
 * @module
 */

import type { ServerFrame } from "./frames.ts";
import { renderPlain } from "./plain/render.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Encoded bytes on their way to peers: one frame, or several sent together. */
export interface Deliverable {
  /** How many frames these bytes hold (for delivery counts). */
  readonly count: number;
  /** NDJSON bytes, each frame LF-terminated. */
  ndjson(): Uint8Array;
  /** Plain-text bytes; empty when a plain client sees nothing. */
  plain(): Uint8Array;
}

/**
 * Wraps a frame and memoises its NDJSON and plain-text encodings.
 *
 * @example
 * ```ts
 * const out = new Outgoing({ type: "join", room: "#lobby", nick: "bob", ts: 0 });
 * out.ndjson(); // the same Uint8Array on every call
 * ```
 */
export class Outgoing implements Deliverable {
  /** The frame being sent. */
  readonly frame: ServerFrame;
  /** One frame. */
  readonly count = 1;
  #ndjson?: Uint8Array;
  #plain?: Uint8Array;

  constructor(frame: ServerFrame) {
    this.frame = frame;
  }

  /** The frame as one NDJSON line, LF included. */
  ndjson(): Uint8Array {
    return this.#ndjson ??= encoder.encode(JSON.stringify(this.frame) + "\n");
  }

  /** The frame as plain text lines, CRLF-terminated for telnet; empty when there is nothing to show. */
  plain(): Uint8Array {
    if (this.#plain === undefined) {
      const text = renderPlain(this.frame);
      this.#plain = text === null ? EMPTY : encoder.encode(text.replaceAll("\n", "\r\n") + "\r\n");
    }
    return this.#plain;
  }
}

/**
 * Several frames that go to the same recipients in the same order, concatenated once, so that
 * each recipient's queue takes one buffer (and its writer copies nothing) instead of one per
 * frame. The hub uses it for a committed batch of room messages.
 */
export class OutgoingBatch implements Deliverable {
  readonly #items: readonly Outgoing[];
  #ndjson?: Uint8Array;
  #plain?: Uint8Array;

  constructor(items: readonly Outgoing[]) {
    this.#items = items;
  }

  /** Frames in the batch. */
  get count(): number {
    return this.#items.length;
  }

  /** All frames' NDJSON, in order, as one buffer. */
  ndjson(): Uint8Array {
    return this.#ndjson ??= concat(this.#items.map((o) => o.ndjson()));
  }

  /** All frames' plain text, in order, as one buffer. */
  plain(): Uint8Array {
    return this.#plain ??= concat(this.#items.map((o) => o.plain()));
  }
}

/** The parts as one buffer (the part itself when there is only one); `total` if known. */
export function concat(parts: readonly Uint8Array[], total = -1): Uint8Array {
  if (parts.length === 1) return parts[0];
  if (total < 0) {
    total = 0;
    for (const p of parts) total += p.length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
