/**
 * Where each HTTP/1.1 request head ends in a client's byte stream, as the web front pipes it.
 * The front stops forwarding at each head's end until the private server has answered it: if
 * that request becomes a WebSocket, the front then knows the exact byte at which the client's
 * WebSocket frames start, and checks them (`frame_guard.ts`). A head ends with an empty
 * line, `\n\n` or `\n\r\n` (hyper takes a bare LF for CRLF), and both are looked for. A body that
 * happens to hold one only pauses its own connection until its deadline: the page takes no
 * bodies.
 *
 * It also spots the HTTP/2 preface (`PRI * HTTP/2.0`), which the private `Deno.serve` would
 * accept (h2c with prior knowledge) and which no browser sends to an `http:` URL: over HTTP/2
 * one connection could keep itself alive with pings and hold requests the front cannot see.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
/** The first bytes of the HTTP/2 connection preface: no HTTP/1.1 method is `PRI`. */
const HTTP2_PREFACE = new TextEncoder().encode("PRI ");

/**
 * Scans one connection's client-to-server bytes for the ends of request heads.
 *
 * @example
 * ```ts
 * const heads = new RequestHeads();
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /ws");
 * console.log(heads.scan(bytes)); // 27: the first head ends there
 * ```
 */
export class RequestHeads {
  /** 0: in a line; 1: just after LF; 2: after LF then CR. */
  #state = 0;
  /** Bytes of the connection's start that matched the HTTP/2 preface so far (-1: no match). */
  #preface = 0;

  /** True once the connection has started with the HTTP/2 preface. */
  get http2(): boolean {
    return this.#preface === HTTP2_PREFACE.length;
  }

  /**
   * The index just past the first head end in `chunk`, or -1 if it holds none. Stops early,
   * returning -1, once {@linkcode http2} is true: forward nothing of that chunk.
   */
  scan(chunk: Uint8Array): number {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.#preface >= 0 && this.#preface < HTTP2_PREFACE.length) {
        if (byte !== HTTP2_PREFACE[this.#preface]) this.#preface = -1;
        else if (++this.#preface === HTTP2_PREFACE.length) return -1;
      }
      if (byte === LF) {
        if (this.#state !== 0) {
          this.#state = 0;
          return i + 1;
        }
        this.#state = 1;
      } else this.#state = byte === CR && this.#state === 1 ? 2 : 0;
    }
    return -1;
  }
}
