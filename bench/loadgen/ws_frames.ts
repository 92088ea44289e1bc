/**
 * Just enough of a WebSocket client (RFC 6455) for the load generator to stand in for browsers
 * on the web port's `/ws`: the opening handshake, server frames read in place in the read
 * buffer, and NDJSON lines written as masked text frames. A `WebSocket` object per bench client
 * would cost the load generator an event object and a string per message, and then it, not the
 * server, would be what the bench measures; read this way, a delivery over WebSocket costs the
 * load generator about what one over TCP does.
 *
 * The server never fragments a message or compresses one (no extension is offered), so
 * continuation frames are refused rather than reassembled.
 *
 * @module
 */

const LF = 0x0a;
const encoder = new TextEncoder();

/** Opcodes of the frames this client reads or writes. */
export const WS_OPCODE = { text: 0x1, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** The opening request for `/ws` on `host:port`, with a fixed key (the server checks its form). */
export function handshakeRequest(host: string, port: number): Uint8Array {
  return encoder.encode(
    `GET /ws HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: c29ja2NoYXQtYmVuY2gtay0=\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
}

/**
 * Where the handshake's response ends in `buf[0, n)` (just past its blank line), or -1 while it
 * is incomplete. Throws unless the server switched protocols.
 */
export function handshakeEnd(buf: Uint8Array, n: number): number {
  for (let i = 3; i < n; i++) {
    if (buf[i] === LF && buf[i - 1] === 0x0d && buf[i - 2] === LF && buf[i - 3] === 0x0d) {
      const status = new TextDecoder().decode(buf.subarray(0, Math.min(i, 200)));
      if (!/^HTTP\/1\.1 101 /.test(status)) {
        throw new Error(`the web port refused the WebSocket: ${status.split("\r\n")[0]}`);
      }
      return i + 1;
    }
  }
  return -1;
}

/**
 * Header bytes a client adds to a payload of `length`: 2, plus 2 or 8 for a longer length,
 * plus the 4-byte mask key.
 */
function clientHeaderBytes(length: number): number {
  return (length < 126 ? 2 : length <= 0xffff ? 4 : 10) + 4;
}

/** Writes a client frame's header for `length` bytes of `opcode` at `out[at]`; returns its end. */
function writeHeader(out: Uint8Array, at: number, opcode: number, length: number): number {
  out[at++] = 0x80 | opcode; // FIN, never fragmented
  if (length < 126) out[at++] = 0x80 | length;
  else if (length <= 0xffff) {
    out[at++] = 0x80 | 126;
    out[at++] = length >>> 8;
    out[at++] = length & 0xff;
  } else {
    out[at++] = 0x80 | 127;
    new DataView(out.buffer, out.byteOffset + at, 8).setBigUint64(0, BigInt(length));
    at += 8;
  }
  // A zero mask key: the server unmasks every byte all the same (so its cost is unchanged), and
  // the payload goes out as it is, without an XOR pass in the load generator. Browsers pick a
  // random key to defeat cache poisoning through proxies, which loopback does not have.
  out.fill(0, at, at + 4);
  return at + 4;
}

/**
 * NDJSON `lines` (each ending in LF, as the bench's senders build them) as one masked text frame
 * per line, in one buffer, so that a batch still goes out in one write. A trailing piece without
 * an LF is framed too.
 */
export function textFrames(lines: Uint8Array): Uint8Array {
  let frames = 0;
  let total = 0;
  for (let start = 0; start < lines.length;) {
    let nl = lines.indexOf(LF, start);
    if (nl === -1) nl = lines.length;
    total += clientHeaderBytes(nl - start) + (nl - start);
    frames++;
    start = nl + 1;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (let start = 0; start < lines.length && frames > 0; frames--) {
    let nl = lines.indexOf(LF, start);
    if (nl === -1) nl = lines.length;
    at = writeHeader(out, at, WS_OPCODE.text, nl - start);
    out.set(lines.subarray(start, nl), at);
    at += nl - start;
    start = nl + 1;
  }
  return out;
}

/** One control frame (a pong, or a close) from the client, masked. */
export function controlFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(clientHeaderBytes(payload.length) + payload.length);
  out.set(payload, writeHeader(out, 0, opcode, payload.length));
  return out;
}

/** Called with each complete server frame: `buf[start, end)` is its payload. */
export type WsFrameCallback = (
  opcode: number,
  buf: Uint8Array,
  start: number,
  end: number,
) => void;

/**
 * Splits the bytes a server sends into frames. Whole frames are handed over where they lie in
 * the read buffer; only a frame cut by the end of a read is copied, into a carry that grows to
 * the largest such frame.
 *
 * @example
 * ```ts
 * const reader = new WsFrameReader((opcode, buf, start, end) => {
 *   if (opcode === 0x1) console.log(new TextDecoder().decode(buf.subarray(start, end)));
 * });
 * reader.push(new Uint8Array([0x81, 0x02, 0x68, 0x69])); // "hi"
 * ```
 */
export class WsFrameReader {
  readonly #onFrame: WsFrameCallback;
  #carry = new Uint8Array(1024);
  #carryLen = 0;

  /** Hands every complete frame to `onFrame`. */
  constructor(onFrame: WsFrameCallback) {
    this.#onFrame = onFrame;
  }

  /** Reads the frames in `buf`, carrying over a cut one; throws on a frame it cannot read. */
  push(buf: Uint8Array): void {
    let start = 0;
    // Complete a carried frame first, taking no byte past its end: its header, then the rest.
    while (this.#carryLen > 0) {
      const take = Math.min(this.#carryWants() - this.#carryLen, buf.length - start);
      this.#keep(buf.subarray(start, start + take));
      start += take;
      if (frameLength(this.#carry, 0, this.#carryLen) === this.#carryLen) {
        this.#carryLen = 0;
        this.#frame(this.#carry, 0);
      } else if (start === buf.length) return;
    }
    while (start < buf.length) {
      const length = frameLength(buf, start, buf.length);
      if (length === -1 || start + length > buf.length) {
        this.#keep(buf.subarray(start));
        return;
      }
      this.#frame(buf, start);
      start += length;
    }
  }

  /** Bytes the carried frame needs in all, as far as its header so far says. */
  #carryWants(): number {
    if (this.#carryLen < 2) return 2;
    const len7 = this.#carry[1] & 0x7f;
    const header = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
    if (this.#carryLen < header) return header;
    return frameLength(this.#carry, 0, this.#carryLen);
  }

  #frame(buf: Uint8Array, at: number): void {
    const b0 = buf[at];
    if ((b0 & 0x80) === 0 || (b0 & 0x0f) === 0) {
      throw new Error("the server fragmented a WebSocket message; the bench reads whole ones");
    }
    if ((buf[at + 1] & 0x80) !== 0) throw new Error("the server masked a frame");
    const len7 = buf[at + 1] & 0x7f;
    const header = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
    const end = at + frameLength(buf, at, buf.length);
    this.#onFrame(b0 & 0x0f, buf, at + header, end);
  }

  #keep(bytes: Uint8Array): void {
    const need = this.#carryLen + bytes.length;
    if (need > this.#carry.length) {
      const grown = new Uint8Array(Math.max(need, this.#carry.length * 2));
      grown.set(this.#carry.subarray(0, this.#carryLen));
      this.#carry = grown;
    }
    this.#carry.set(bytes, this.#carryLen);
    this.#carryLen = need;
  }
}

/**
 * The whole length (header and payload) of the server frame at `buf[at]`, or -1 while its
 * header is not all in `buf[at, end)`.
 */
function frameLength(buf: Uint8Array, at: number, end: number): number {
  if (end - at < 2) return -1;
  const len7 = buf[at + 1] & 0x7f;
  if (len7 < 126) return 2 + len7;
  if (len7 === 126) return end - at < 4 ? -1 : 4 + ((buf[at + 2] << 8) | buf[at + 3]);
  if (end - at < 10) return -1;
  const length = new DataView(buf.buffer, buf.byteOffset + at + 2, 8).getBigUint64(0);
  return 10 + Number(length);
}
