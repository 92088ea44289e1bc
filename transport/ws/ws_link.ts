/**
 * A WebSocket as a {@linkcode Link}, so that an ordinary {@linkcode Peer} (with its NDJSON
 * session, flood control, deadlines and bounded queue) serves a browser. Each text message the
 * browser sends is one NDJSON frame; each frame the peer writes goes out as one text message.
 * Back-pressure comes from the socket's `bufferedAmount`: while it is past
 * {@linkcode WEB_SEND_BUFFER_BYTES} a write waits, the peer's own queue fills behind it, and a
 * tab that stops reading is dropped as `too_slow` like any client.
 *
 * @module
 */

import { WEB_DRAIN_POLL_MS, WEB_SEND_BUFFER_BYTES } from "../../config/web_limits.ts";
import { errorFrame } from "../../protocol/frames.ts";
import { NDJSON } from "../../protocol/ndjson/encode.ts";
import { Outgoing } from "../../protocol/outgoing.ts";
import type { Link } from "../link.ts";

/** Settings for a {@linkcode WebSocketLink}. */
export interface WebSocketLinkOptions {
  /** The browser's address, as `Deno.serve` saw it. */
  remoteAddr: Deno.NetAddr;
  /** `--max-frame`: a longer message reaches the peer as a frame past the limit, and no more. */
  maxFrame: number;
  /** Bytes received and not yet read past which the connection is closed. */
  maxUnread: number;
  /** `bufferedAmount` past which writes wait. @default WEB_SEND_BUFFER_BYTES */
  sendBufferBytes?: number;
}

const LF = 0x0a;
const NEWLINE = new Uint8Array([LF]);

/**
 * One browser's WebSocket, read and written as the byte stream of NDJSON a socket would carry.
 *
 * @example
 * ```ts
 * declare const socket: WebSocket;
 * const link = new WebSocketLink(socket, {
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 },
 *   maxFrame: 65536,
 *   maxUnread: 4 * 65536,
 * });
 * await link.write(new TextEncoder().encode('{"type":"pong","token":"p1"}\n')); // one message
 * ```
 */
export class WebSocketLink implements Link {
  /** {@inheritDoc Link.remoteAddr} */
  readonly remoteAddr: Deno.Addr;
  readonly #socket: WebSocket;
  readonly #options: WebSocketLinkOptions;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();
  /** Frames received and not yet read, each ending in LF. */
  readonly #unread: Uint8Array[] = [];
  #unreadBytes = 0;
  /** The browser closed, or we did: reads end once the rest is taken. */
  #ended = false;
  /** Why reads fail from now on (too much unread input), if they do. */
  #failure: Error | null = null;
  #closed = false;
  #readable: (() => void) | null = null;
  /** A frame written in pieces: the part before its LF. */
  #partial: Uint8Array = new Uint8Array(0);
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #drained: (() => void) | null = null;

  /** Takes over `socket`'s events; `socket` may still be connecting. */
  constructor(socket: WebSocket, options: WebSocketLinkOptions) {
    this.#socket = socket;
    this.#options = options;
    this.remoteAddr = options.remoteAddr;
    socket.onmessage = (event) => this.#received(event.data);
    socket.onclose = () => this.#end();
    socket.onerror = () => this.#end();
  }

  /** {@inheritDoc Link.read} */
  async read(p: Uint8Array): Promise<number | null> {
    while (true) {
      if (this.#failure !== null) throw this.#failure;
      if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
      const chunk = this.#unread[0];
      if (chunk !== undefined) {
        const n = Math.min(p.length, chunk.length);
        p.set(chunk.subarray(0, n));
        if (n === chunk.length) this.#unread.shift();
        else this.#unread[0] = chunk.subarray(n);
        this.#unreadBytes -= n;
        return n;
      }
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#readable = resolve));
    }
  }

  /** {@inheritDoc Link.write} */
  async write(p: Uint8Array): Promise<number> {
    const limit = this.#options.sendBufferBytes ?? WEB_SEND_BUFFER_BYTES;
    while (this.#open() && this.#socket.bufferedAmount > limit) await this.#drain();
    if (!this.#open()) throw new Deno.errors.BrokenPipe("the connection is closed");
    let start = 0;
    for (let i = p.indexOf(LF); i !== -1; i = p.indexOf(LF, start)) {
      const line = p.subarray(start, i);
      if (this.#partial.length === 0) this.#socket.send(this.#decoder.decode(line));
      else {
        const whole = new Uint8Array(this.#partial.length + line.length);
        whole.set(this.#partial);
        whole.set(line, this.#partial.length);
        this.#partial = new Uint8Array(0);
        this.#socket.send(this.#decoder.decode(whole));
      }
      start = i + 1;
    }
    if (start < p.length) {
      // The peer writes whole frames; a piece is kept (a copy: the caller may reuse `p`).
      const rest = new Uint8Array(this.#partial.length + p.length - start);
      rest.set(this.#partial);
      rest.set(p.subarray(start), this.#partial.length);
      this.#partial = rest;
    }
    return p.length;
  }

  /** {@inheritDoc Link.closeWrite} */
  closeWrite(): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("the connection is closed"));
    }
    // The close frame follows every message sent: the browser reads them all first.
    this.#closeSocket(1000, "goodbye");
    return Promise.resolve();
  }

  /** {@inheritDoc Link.close} */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    this.#closed = true;
    this.#closeSocket(1000, "goodbye");
    this.#end();
  }

  /** True while messages can still be sent. */
  #open(): boolean {
    return !this.#closed && this.#socket.readyState === WebSocket.OPEN;
  }

  /** Resolves after a poll interval, or at once when the link ends. */
  #drain(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#drained = resolve;
      this.#drainTimer = setTimeout(() => this.#wakeDrain(), WEB_DRAIN_POLL_MS);
    });
  }

  #wakeDrain(): void {
    clearTimeout(this.#drainTimer);
    const drained = this.#drained;
    this.#drained = null;
    drained?.();
  }

  #received(data: unknown): void {
    if (this.#ended) return;
    if (typeof data !== "string") {
      // NDJSON is text: say so plainly (the peer cannot, it never sees the message), then close
      // with 1003, the WebSocket code for a kind of data the endpoint does not accept.
      const error = errorFrame(
        "bad_frame",
        "Binary WebSocket messages are not accepted; send each frame as one text message.",
        { fatal: true },
      );
      const line = new Outgoing(error).encode(NDJSON);
      this.#socket.send(this.#decoder.decode(line.subarray(0, line.length - 1)));
      this.#closeSocket(1003, "binary messages are not accepted");
      this.#end();
      return;
    }
    let bytes = this.#encoder.encode(data);
    const { maxFrame, maxUnread } = this.#options;
    // Past the limit, one byte more than it is enough for the peer's decoder to refuse the frame
    // as it would on TCP (frame_too_large), and no more of it is kept.
    if (bytes.length > maxFrame) bytes = bytes.subarray(0, maxFrame + 1);
    if (this.#unreadBytes + bytes.length + 1 > maxUnread) {
      // A WebSocket cannot be paused as a socket can: a browser that sends faster than its peer
      // reads is cut off rather than buffered without bound.
      this.#failure = new Deno.errors.ConnectionReset("too much unread input");
      this.#closeSocket(1008, "too much unread input");
      this.#end();
      return;
    }
    this.#unread.push(bytes);
    this.#unread.push(NEWLINE);
    this.#unreadBytes += bytes.length + 1;
    this.#wakeReader();
  }

  #end(): void {
    this.#ended = true;
    this.#wakeReader();
    this.#wakeDrain();
  }

  #wakeReader(): void {
    const readable = this.#readable;
    this.#readable = null;
    readable?.();
  }

  #closeSocket(code: number, reason: string): void {
    const state = this.#socket.readyState;
    if (state === WebSocket.CLOSING || state === WebSocket.CLOSED) return;
    try {
      this.#socket.close(code, reason);
    } catch {
      // Closed in the meantime.
    }
  }
}
