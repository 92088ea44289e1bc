/**
 * Reads a socket into a buffer that fits its traffic: small (256 B) while the peer is quiet,
 * since every idle connection holds one pending read, and growing (to 16 KiB) while reads come
 * back full. The frame decoder copies what it keeps between reads; the frames of one read are
 * views of the buffer, valid until the next read, by which time the peer has handled them.
 *
 * @module
 */

import { READ_BUFFER_MAX_BYTES, READ_BUFFER_MIN_BYTES } from "../config/limits.ts";
import { type DecodedFrame, FrameDecoder } from "../protocol/frame_decoder.ts";

/** The frames one read completed. */
export interface FrameBatch {
  /** Every frame the read completed, in order. */
  frames: DecodedFrame[];
  /** The input evidently goes on: the read filled the buffer or ended inside a frame. */
  more: boolean;
}

/** Anything with `read`, as `Deno.Conn` has. */
export interface Readable {
  /** Reads into `p`; the number of bytes read, or null at EOF. */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * An adaptive reader over one connection.
 *
 * @example
 * ```ts
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 7342 });
 * const reader = new SocketReader(conn);
 * let batch = reader.start(null, { maxFrame: 65536 });
 * while (!reader.failed) {
 *   if (batch !== null) console.log(batch.frames.length, batch.more);
 *   const n = await reader.fill();
 *   if (n === null) break;
 *   batch = reader.took(n);
 * }
 * ```
 */
export class SocketReader {
  readonly #conn: Readable;
  #buffer: Uint8Array = new Uint8Array(READ_BUFFER_MIN_BYTES);
  #full = false;

  /** Starts with a small buffer that grows while reads fill it. */
  constructor(conn: Readable) {
    this.#conn = conn;
  }

  /** Current buffer size (for tests and memory accounting). */
  get bufferSize(): number {
    return this.#buffer.length;
  }

  /** The next chunk (valid until the next read), or null at EOF. */
  async read(): Promise<Uint8Array | null> {
    while (true) {
      const buffer = this.#buffer;
      const n = await this.#conn.read(buffer);
      if (n === null) return null;
      if (n > 0) return this.#got(buffer, n);
    }
  }

  /** Adapts the buffer to a read of `n` bytes and returns them. */
  #got(buffer: Uint8Array, n: number): Uint8Array {
    this.#full = n === buffer.length;
    if (n === buffer.length && buffer.length < READ_BUFFER_MAX_BYTES) {
      this.#buffer = new Uint8Array(buffer.length * 2); // busy: read more at a time
    } else if (n <= buffer.length / 8 && buffer.length > READ_BUFFER_MIN_BYTES) {
      this.#buffer = new Uint8Array(buffer.length / 2); // quiet again: give memory back
    }
    return buffer.subarray(0, n);
  }

  /**
   * Starts framing, with `first` a chunk already read (to sniff the wire format) or null:
   * returns the frames `first` completed, or null if none. Then {@linkcode fill} and
   * {@linkcode took} alternate until EOF or {@linkcode failed}.
   */
  start(first: Uint8Array | null, options: { maxFrame: number }): FrameBatch | null {
    // The peer handles every frame of a read before the next one, so frames may be views of
    // the read buffer (see FrameDecoderOptions.borrow).
    this.#decoder = new FrameDecoder({ ...options, borrow: true });
    return first === null ? null : this.#decode(first);
  }

  /**
   * Reads once: resolves with how many bytes came, or null at EOF. It is the socket's own
   * promise, with no async function or generator around it: a parked peer holds nothing more.
   */
  fill(): Promise<number | null> {
    this.#reading = this.#buffer;
    return this.#conn.read(this.#reading);
  }

  /** The frames completed by the `n` bytes the last {@linkcode fill} read, or null if none. */
  took(n: number): FrameBatch | null {
    const buffer = this.#reading;
    if (buffer === null || n <= 0) return null;
    this.#reading = null;
    return this.#decode(this.#got(buffer, n));
  }

  /** True once a frame was too large: read no more. */
  get failed(): boolean {
    return this.#decoder?.failed ?? false;
  }

  #decoder: FrameDecoder | null = null;
  /** The buffer the pending {@linkcode fill} reads into (#buffer may be resized after). */
  #reading: Uint8Array | null = null;

  #decode(chunk: Uint8Array): FrameBatch | null {
    const decoder = this.#decoder;
    if (decoder === null) throw new Error("SocketReader.start was not called");
    const frames = decoder.push(chunk);
    return frames.length === 0 ? null : { frames, more: this.#full || decoder.buffered > 0 };
  }
}
