/**
 * The web front's check of a WebSocket's client-to-server bytes (RFC 6455 §5.2), before the
 * private server sees them. `Deno.upgradeWebSocket` hands a message to its listener only once it
 * has assembled all of it, up to 64 MiB, so `--max-frame` cannot be applied there without one
 * message first being held whole. The front reads each frame's header as it passes and, as soon
 * as a data message (a text or binary frame and its continuations) announces more than
 * `--max-frame` bytes, forwards in its place a frame that completes the message at exactly
 * `--max-frame` + 1 bytes, and nothing more from that client. The peer then refuses that
 * message as TCP refuses a long frame (`frame_too_large`, then close), and the private server
 * never held more than about `--max-frame` of it.
 *
 * @module
 */

/** What became of one chunk from the client. */
export type GuardStep =
  /** Every byte of it may go on. */
  | { kind: "pass"; forward: Uint8Array[] }
  /**
   * A message went over the limit: `forward` ends with the frame that completes it at the
   * limit + 1 bytes; nothing after it may be forwarded.
   */
  | { kind: "too_large"; forward: Uint8Array[] }
  /** A frame no endpoint accepts (a control frame over 125 bytes, a reserved opcode or bit). */
  | { kind: "bad_frame"; forward: Uint8Array[] };

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PONG = 0xa;
/** RFC 6455 §5.5: a control frame's payload is at most 125 bytes. */
const MAX_CONTROL_PAYLOAD = 125;
/** The longest frame header: 2 bytes, an 8-byte length and a 4-byte mask key. */
const MAX_HEADER = 14;

/**
 * Frame headers of one client's stream, after its upgrade.
 *
 * @example
 * ```ts
 * const guard = new FrameGuard(1024);
 * // A text frame announcing 60 MiB: replaced at once by a frame of 1025 bytes.
 * const header = new Uint8Array([0x81, 0xff, 0, 0, 0, 0, 0x03, 0xc0, 0, 0, 1, 2, 3, 4]);
 * const step = guard.feed(header);
 * console.log(step.kind); // "too_large"
 * ```
 */
export class FrameGuard {
  readonly #maxMessage: number;
  readonly #head = new Uint8Array(MAX_HEADER);
  #headLength = 0;
  /** Payload bytes of the current frame still to pass. */
  #payloadLeft = 0;
  /** Payload bytes of the current data message so far (its frames up to this one). */
  #messageBytes = 0;
  #stopped = false;

  /** Data messages longer than `maxMessage` bytes (`--max-frame`) are cut there. */
  constructor(maxMessage: number) {
    this.#maxMessage = maxMessage;
  }

  /**
   * Sorts one chunk: what to forward, as few views of it as can be (a header split across
   * chunks is forwarded as a copy), and whether the stream has gone wrong. After a step that is
   * not `pass`, feed nothing more.
   */
  feed(chunk: Uint8Array): GuardStep {
    if (this.#stopped) return { kind: "bad_frame", forward: [] };
    const forward: Uint8Array[] = [];
    // Bytes of `chunk` from runStart on go as they are, up to a header still being read.
    let runStart = 0;
    // Where the header being read began in `chunk`; -1 if it began in an earlier chunk.
    let headStart = this.#headLength > 0 ? -1 : 0;
    let at = 0;
    while (at < chunk.length) {
      if (this.#payloadLeft > 0) {
        const n = Math.min(this.#payloadLeft, chunk.length - at);
        this.#payloadLeft -= n;
        at += n;
        continue;
      }
      // A header, byte by byte until its length is known (it is at most 14 bytes).
      if (this.#headLength === 0) headStart = at;
      this.#head[this.#headLength++] = chunk[at++];
      const need = headerLength(this.#head, this.#headLength);
      if (need === null || this.#headLength < need) continue;
      const header = this.#head.subarray(0, this.#headLength);
      this.#headLength = 0;
      const verdict = this.#frame(header);
      if (verdict === "pass") {
        if (headStart === -1) {
          // Its first bytes came in an earlier chunk and were held back: send it whole.
          forward.push(header.slice());
          runStart = at;
        }
        continue;
      }
      this.#stopped = true;
      const before = headStart === -1 ? runStart : headStart;
      if (before > runStart) forward.push(chunk.subarray(runStart, before));
      if (verdict === "bad_frame") return { kind: "bad_frame", forward };
      forward.push(verdict);
      return { kind: "too_large", forward };
    }
    // A header still incomplete is held back until the next chunk completes it.
    const end = this.#headLength === 0 ? chunk.length : headStart === -1 ? runStart : headStart;
    if (end > runStart) forward.push(chunk.subarray(runStart, end));
    return { kind: "pass", forward };
  }

  /** Decides about a complete header: pass it, or what to forward instead. */
  #frame(header: Uint8Array): "pass" | "bad_frame" | Uint8Array {
    const fin = (header[0] & 0x80) !== 0;
    const opcode = header[0] & 0x0f;
    const length = payloadLength(header);
    // RSV bits mean an extension (permessage-deflate: a length that is not the message's),
    // and the server negotiates none: no endpoint accepts them.
    if ((header[0] & 0x70) !== 0) return "bad_frame";
    if (opcode >= OP_CLOSE && opcode <= OP_PONG) {
      if (length > MAX_CONTROL_PAYLOAD) return "bad_frame";
      this.#payloadLeft = length;
      return "pass";
    }
    if (opcode !== OP_TEXT && opcode !== OP_BINARY && opcode !== OP_CONTINUATION) {
      return "bad_frame";
    }
    const continued = opcode === OP_CONTINUATION;
    const before = continued ? this.#messageBytes : 0;
    if (before + length > this.#maxMessage) {
      return completion(continued ? OP_CONTINUATION : opcode, this.#maxMessage + 1 - before);
    }
    this.#messageBytes = fin ? 0 : before + length;
    this.#payloadLeft = length;
    return "pass";
  }
}

/** The full header length once its first bytes are known, or null until then. */
function headerLength(head: Uint8Array, have: number): number | null {
  if (have < 2) return null;
  const masked = (head[1] & 0x80) !== 0 ? 4 : 0;
  const short = head[1] & 0x7f;
  return 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + masked;
}

/**
 * A complete header's payload length. An 8-byte length past 2^53 comes out as a huge number,
 * which is all the guard needs to know of it.
 */
function payloadLength(header: Uint8Array): number {
  const short = header[1] & 0x7f;
  if (short < 126) return short;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (short === 126) return view.getUint16(2);
  return view.getUint32(2) * 2 ** 32 + view.getUint32(6);
}

/**
 * A final, masked frame of `length` bytes of `x` that ends the current message: whatever came
 * before it, the message is then exactly one byte over the limit.
 */
function completion(opcode: number, length: number): Uint8Array {
  const size = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = new Uint8Array(size + 4 + length);
  frame[0] = 0x80 | opcode;
  if (size === 2) frame[1] = 0x80 | length;
  else if (size === 4) {
    frame[1] = 0x80 | 126;
    new DataView(frame.buffer).setUint16(2, length);
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setUint32(6, length);
  }
  // The mask key is zero (bytes size..size+3 are already 0), so the payload goes as it is.
  frame.fill(0x78, size + 4);
  return frame;
}
