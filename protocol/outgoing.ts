/**
 * A server frame on its way out, encoded at most once per wire format no matter how many
 * recipients it has. The hub builds one per broadcast; each transport asks for its bytes.
 *
 * @module
 */

import type { ServerFrame } from "./frames.ts";
import { renderPlain } from "./plain_text.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/**
 * Wraps a frame and memoises its NDJSON and plain-text encodings.
 *
 * @example
 * ```ts
 * const out = new Outgoing({ type: "join", room: "#lobby", nick: "bob", ts: 0 });
 * out.ndjson(); // the same Uint8Array on every call
 * ```
 */
export class Outgoing {
  /** The frame being sent. */
  readonly frame: ServerFrame;
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
