/**
 * Splits a byte stream into LF-terminated frames without ever holding more than `maxFrame`
 * bytes of an unfinished frame. Works on bytes, not text, so that a multi-byte character split
 * across reads is reassembled before it is decoded, and invalid UTF-8 is caught per frame.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;

/** Shared empty tail: an idle connection's decoder holds no buffer of its own. */
const NO_BYTES = new Uint8Array(0);

/** One decoded unit: a complete frame's bytes, or the news that a frame was too large. */
export type DecodedFrame =
  | { kind: "frame"; bytes: Uint8Array }
  | { kind: "too_large"; limit: number };

/** Options for {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest frame in bytes, not counting the LF (or CRLF). */
  maxFrame: number;
  /**
   * Hand out a frame that lies whole in one chunk as a view of that chunk instead of a copy.
   * Such a frame is valid only until the chunk is reused: for a caller that handles every frame
   * of a push before the next read (a copy of a small array costs more than parsing it).
   * @default false
   */
  borrow?: boolean;
}

/**
 * A capped line splitter. Feed it chunks with {@linkcode FrameDecoder.push}; it returns the
 * complete frames (without their LF, and without a CR before it). Once a frame exceeds the cap
 * it reports `too_large` and discards everything after: the connection is to be closed.
 *
 * @example
 * ```ts
 * const d = new FrameDecoder({ maxFrame: 1024 });
 * d.push(new TextEncoder().encode('{"a":1}\n{"b"')); // one frame
 * d.push(new TextEncoder().encode(":2}\n")); // the second
 * ```
 */
export class FrameDecoder {
  #max: number;
  /** Bytes of the unfinished frame; grows on demand, never past `maxFrame + 1`. */
  #tail: Uint8Array = NO_BYTES;
  #tailLen = 0;
  #failed = false;
  readonly #borrow: boolean;

  /** Frames past `maxFrame` bytes fail the decoder for good. */
  constructor(options: FrameDecoderOptions) {
    this.#max = options.maxFrame;
    this.#borrow = options.borrow ?? false;
  }

  /** Bytes currently held for an unfinished frame. */
  get buffered(): number {
    return this.#tailLen;
  }

  /** True once a frame has been too large; later input is ignored. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Consumes one chunk and returns the frames it completed. The chunk may be reused after,
   * unless the decoder `borrow`s: then not before the frames have been handled.
   */
  push(chunk: Uint8Array): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    if (this.#failed) return out;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) {
        if (!this.#keep(chunk.subarray(start))) out.push(this.#fail());
        return out;
      }
      let frame: Uint8Array;
      if (this.#tailLen === 0) {
        // Fast path: the whole frame lies in this chunk: lend it, or copy it once, straight out.
        frame = this.#borrow ? chunk.subarray(start, nl) : chunk.slice(start, nl);
      } else {
        if (nl > start && !this.#keep(chunk.subarray(start, nl))) {
          out.push(this.#fail());
          return out;
        }
        frame = this.#tail.slice(0, this.#tailLen);
        this.#tailLen = 0;
        if (this.#tail.length > 4096) this.#tail = NO_BYTES;
      }
      start = nl + 1;
      if (frame.length > 0 && frame[frame.length - 1] === CR) frame = frame.subarray(0, -1);
      if (frame.length > this.#max) {
        out.push(this.#fail());
        return out;
      }
      out.push({ kind: "frame", bytes: frame });
    }
    return out;
  }

  /** Appends to the unfinished frame; false if that would pass the cap (+1 for a CR). */
  #keep(bytes: Uint8Array): boolean {
    const need = this.#tailLen + bytes.length;
    if (need > this.#max + 1) return false;
    // One byte past the cap is only allowed if it may be the CR of a CRLF.
    if (need === this.#max + 1 && bytes[bytes.length - 1] !== CR) return false;
    if (need > this.#tail.length) {
      const grown = new Uint8Array(
        Math.min(this.#max + 1, Math.max(need, this.#tail.length * 2, 256)),
      );
      grown.set(this.#tail.subarray(0, this.#tailLen));
      this.#tail = grown;
    }
    this.#tail.set(bytes, this.#tailLen);
    this.#tailLen = need;
    return true;
  }

  #fail(): DecodedFrame {
    this.#failed = true;
    this.#tail = NO_BYTES;
    this.#tailLen = 0;
    return { kind: "too_large", limit: this.#max };
  }
}
