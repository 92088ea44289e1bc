/**
 * Reads a socket into a buffer that fits its traffic: small (1 KiB) while the peer is quiet,
 * since every idle connection holds one pending read, and growing (to 16 KiB) while reads come
 * back full. The frame decoder copies what it keeps, so the buffer is reused between reads.
 *
 * @module
 */

import { READ_BUFFER_MAX_BYTES, READ_BUFFER_MIN_BYTES } from "../config/limits.ts";
import { type DecodedFrame, FrameDecoder } from "../protocol/frame_decoder.ts";

/** Anything with `read`, as `Deno.Conn` has. */
export interface Readable {
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * An adaptive reader over one connection.
 *
 * @example
 * ```ts
 * const reader = new SocketReader(conn);
 * for await (const batch of reader.frames(null, { maxFrame: 65536 })) handle(batch);
 * ```
 */
export class SocketReader {
  readonly #conn: Readable;
  #buffer: Uint8Array = new Uint8Array(READ_BUFFER_MIN_BYTES);

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
      if (n === 0) continue;
      if (n === buffer.length && buffer.length < READ_BUFFER_MAX_BYTES) {
        this.#buffer = new Uint8Array(buffer.length * 2); // busy: read more at a time
      } else if (n <= buffer.length / 8 && buffer.length > READ_BUFFER_MIN_BYTES) {
        this.#buffer = new Uint8Array(buffer.length / 2); // quiet again: give memory back
      }
      return buffer.subarray(0, n);
    }
  }

  /**
   * Frame batches: each holds the frames one read completed, so a consumer can handle them
   * synchronously. `first` is a chunk already read (to sniff the wire format). Ends at EOF or
   * after a `too_large`.
   */
  async *frames(
    first: Uint8Array | null,
    options: { maxFrame: number },
  ): AsyncGenerator<DecodedFrame[]> {
    const decoder = new FrameDecoder(options);
    let chunk = first ?? await this.read();
    while (chunk !== null) {
      const batch = decoder.push(chunk);
      if (batch.length > 0) yield batch;
      if (decoder.failed) return;
      chunk = await this.read();
    }
  }
}
