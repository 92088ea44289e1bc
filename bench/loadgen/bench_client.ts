/**
 * One load-generator connection: logs in, then reads frames as cheaply as it can, splitting lines
 * in place in its read buffer and handing each to a callback with its {@linkcode FrameKind}. It
 * answers `ping` itself so that a server with keep-alives does not drop idle bench clients.
 *
 * It speaks sockchat's NDJSON, on the TCP port or, as a browser does, over a WebSocket on the web
 * port (`bench/loadgen/ws_frames.ts`: each text message is one frame, read in place like a
 * line), or IRC when the server under test speaks IRC (ngircd as a peer, or sockchat's IRC port):
 * then it registers (requesting a fixed set of caps first, when given), lifts its own flood
 * limits as an operator (user mode `+F`, ngircd), joins `#lobby`, and counts `JOIN` lines (and
 * a presence summary's count) as join notices and `PRIVMSG` lines as messages.
 *
 * @module
 */

import { type FrameKind, frameKind, readField, summarisedJoins } from "./frame_scan.ts";
import { ircKind, pingToken } from "./irc_scan.ts";
import type { IrcOper, Protocol } from "./spec.ts";
import {
  controlFrame,
  handshakeEnd,
  handshakeRequest,
  textFrames,
  WS_OPCODE,
  WsFrameReader,
} from "./ws_frames.ts";

const LF = 0x0a;
const HOST = "127.0.0.1";
/** A 101 response is a few hundred bytes; more means something else answered. */
const HANDSHAKE_MAX_BYTES = 4096;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Called for each frame after the welcome; `buf[start, end)` is the line without its LF. */
export type FrameCallback = (buf: Uint8Array, start: number, end: number, kind: FrameKind) => void;

/** Options for {@linkcode BenchClient.connect}. */
export interface BenchClientOptions {
  /** Bytes per socket read. Small for thousands of idle clients, large for flat-out readers. */
  readBytes: number;
  /** What the server speaks. @default "sockchat" */
  protocol?: Protocol;
  /** IRC only: the operator that may set user mode `+F` (no flood throttling). */
  ircOper?: IrcOper;
  /** IRC only: caps to request before registering; all must be acknowledged. */
  ircCaps?: string[];
}

/**
 * A bench connection. `onFrame` and `afterChunk` are plain fields so that a scenario can swap
 * them without allocating closures per frame.
 *
 * @example
 * ```ts
 * let seen = 0;
 * const c = await BenchClient.connect(7342, "c0", { readBytes: 65536 });
 * await c.login(5000);
 * c.onFrame = (_buf, _start, _end, kind) => {
 *   if (kind === "msg") seen++;
 * };
 * ```
 */
export class BenchClient {
  /** Nick this client logs in as. */
  readonly nick: string;
  /** What the server speaks. */
  readonly protocol: Protocol;
  readonly #oper: IrcOper | undefined;
  readonly #caps: string[];
  #registered = Promise.withResolvers<void>();
  /** IRC: true once its own join is complete (its names list ended). */
  #joinedLobby = false;
  readonly #conn: Deno.TcpConn;
  readonly #buf: Uint8Array;
  #carry = new Uint8Array(0);
  #carryLen = 0;
  #welcomed = Promise.withResolvers<void>();
  #pause: Promise<void> | null = null;
  /** WebSocket only: splits what the server sends into messages. */
  readonly #ws: WsFrameReader | null;
  /** Frame callback for everything after the welcome. */
  onFrame: FrameCallback = () => {};
  /** Called once per socket read, after its frames; the receive time is {@linkcode chunkAt}. */
  afterChunk: () => void = () => {};
  /** `performance.now()` when the current chunk was read, in microseconds. */
  chunkAt = 0;
  /** Bytes read so far. */
  bytesRead = 0;
  /** Join notices received, counted from the start so that set-up can be seen to finish. */
  joins = 0;
  /** Resolves when the server closes the connection (or it fails). */
  readonly ended: Promise<void>;
  /** True once the connection has ended. */
  eof = false;

  private constructor(
    conn: Deno.TcpConn,
    nick: string,
    options: BenchClientOptions,
    early: Uint8Array,
  ) {
    this.#conn = conn;
    this.nick = nick;
    this.protocol = options.protocol ?? "sockchat";
    this.#oper = options.ircOper;
    this.#caps = options.ircCaps ?? [];
    // A refused cap rejects it, maybe before login() races it: never an unhandled rejection.
    this.#registered.promise.catch(() => {});
    this.#buf = new Uint8Array(options.readBytes);
    this.#ws = this.protocol === "websocket"
      ? new WsFrameReader((opcode, buf, start, end) => this.#wsFrame(opcode, buf, start, end))
      : null;
    this.ended = this.#readLoop(early);
  }

  /**
   * Connects to the server on 127.0.0.1 and starts reading; for `websocket`, to its web port,
   * upgraded on `/ws` first.
   */
  static async connect(
    port: number,
    nick: string,
    options: BenchClientOptions,
  ): Promise<BenchClient> {
    const conn = await Deno.connect({ hostname: HOST, port });
    conn.setNoDelay(true);
    let early: Uint8Array = new Uint8Array(0);
    if (options.protocol === "websocket") {
      try {
        early = await upgrade(conn, port);
      } catch (error) {
        conn.close();
        throw error;
      }
    }
    return new BenchClient(conn, nick, options, early);
  }

  /**
   * Sends a hello and waits for the welcome, failing after `timeoutMs`. On IRC: registers,
   * turns flood throttling off for itself, joins `#lobby` and waits for the end of its names.
   */
  async login(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no welcome for ${this.nick}`)), timeoutMs);
    });
    const ended = this.ended.then(() => {
      throw new Error(`${this.nick} was closed before its welcome`);
    });
    // Marked handled at once: a failed write must not leave them to reject unobserved.
    late.catch(() => {});
    ended.catch(() => {});
    const step = (sent: string, awaited: Promise<void>) =>
      this.write(encoder.encode(sent)).then(() => Promise.race([awaited, late, ended]));
    try {
      if (this.protocol !== "irc") {
        await step(`{"type":"hello","v":1,"nick":"${this.nick}"}\n`, this.#welcomed.promise);
        return;
      }
      const nick = this.nick;
      // With caps: CAP LS holds registration until CAP END, after the REQ has been answered.
      const [capStart, capEnd] = this.#caps.length === 0
        ? ["", ""]
        : [`CAP LS 302\r\nCAP REQ :${this.#caps.join(" ")}\r\n`, "CAP END\r\n"];
      await step(
        `${capStart}NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n${capEnd}`,
        this.#registered.promise,
      );
      // Unthrottled, ngircd reads 3 commands per turn and then holds a client back for a
      // second: an operator's +F lifts that, so the bench measures relaying, not the brake.
      const oper = this.#oper === undefined
        ? ""
        : `OPER ${this.#oper.name} ${this.#oper.password}\r\nMODE ${nick} +F\r\n`;
      await step(`${oper}JOIN #lobby\r\n`, this.#welcomed.promise);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes all of `bytes`: NDJSON lines (over WebSocket, one text message each) or IRC lines. */
  write(bytes: Uint8Array): Promise<void> {
    return this.#writeAll(this.#ws === null ? bytes : textFrames(bytes));
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** Stops reading until `resume` settles: the server sees a reader that has stalled. */
  stall(resume: Promise<void>): void {
    this.#pause = resume;
  }

  /** Closes the socket (idempotent). */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /** Reads until the end; `early` is what came with the WebSocket handshake's response. */
  async #readLoop(early: Uint8Array): Promise<void> {
    const buf = this.#buf;
    try {
      if (early.length > 0) this.#ws?.push(early);
      while (true) {
        if (this.#pause !== null) {
          await this.#pause;
          this.#pause = null;
        }
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.bytesRead += n;
        this.chunkAt = performance.now() * 1000;
        if (this.#ws === null) this.#scan(n);
        else this.#ws.push(buf.subarray(0, n));
        this.afterChunk();
      }
    } catch {
      // Reset or closed by us: either way the connection is over.
    }
    this.eof = true;
  }

  #scan(n: number): void {
    const buf = this.#buf.subarray(0, n);
    let start = 0;
    if (this.#carryLen > 0) {
      const nl = buf.indexOf(LF);
      if (nl === -1) {
        this.#keep(buf);
        return;
      }
      this.#keep(buf.subarray(0, nl));
      this.#line(this.#carry, 0, this.#carryLen);
      this.#carryLen = 0;
      start = nl + 1;
    }
    while (start < n) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) {
        this.#keep(buf.subarray(start, n));
        return;
      }
      this.#line(buf, start, nl);
      start = nl + 1;
    }
  }

  #wsFrame(opcode: number, buf: Uint8Array, start: number, end: number): void {
    switch (opcode) {
      case WS_OPCODE.text:
        this.#line(buf, start, end);
        return;
      case WS_OPCODE.ping:
        void this.#writeAll(controlFrame(WS_OPCODE.pong, buf.slice(start, end))).catch(() => {});
        return;
      case WS_OPCODE.close:
        // The server is done; closing the socket ends the read loop as EOF would.
        this.close();
        return;
      default:
        return;
    }
  }

  #line(buf: Uint8Array, start: number, end: number): void {
    if (this.protocol === "irc") {
      this.#ircLine(buf, start, end);
      return;
    }
    const kind = frameKind(buf, start, end);
    if (kind === "ping") {
      const token = readField(buf, "token", start, end);
      void this.write(encoder.encode(`{"type":"pong","token":${JSON.stringify(token)}}\n`))
        .catch(() => {});
      return;
    }
    if (kind === "welcome") {
      this.#welcomed.resolve();
      return;
    }
    if (kind === "join") this.joins++;
    else if (kind === "info") this.joins += summarisedJoins(buf, start, end);
    this.onFrame(buf, start, end, kind);
  }

  #ircLine(buf: Uint8Array, start: number, end: number): void {
    const kind = ircKind(buf, start, end);
    switch (kind) {
      case "ping": {
        const token = pingToken(decoder.decode(buf.subarray(start, end)));
        void this.write(encoder.encode(`PONG ${token}\r\n`)).catch(() => {});
        return;
      }
      case "registered":
        this.#registered.resolve();
        return;
      case "joined":
        this.#joinedLobby = true;
        this.#welcomed.resolve();
        return;
      case "join":
        // Its own JOIN comes before the end of its names; only later ones are notices.
        if (this.#joinedLobby) this.joins++;
        return;
      case "other":
        // Rare lines (none while messages flow): a refused cap, or a storm of joins told as one
        // server NOTICE (`* 250 joined #lobby: ...`), as the native client counts them.
        this.#otherIrcLine(decoder.decode(buf.subarray(start, end)));
        if (this.#joinedLobby) this.onFrame(buf, start, end, kind);
        return;
      default:
        if (this.#joinedLobby) this.onFrame(buf, start, end, kind);
    }
  }

  #otherIrcLine(line: string): void {
    if (/^(?:@\S+ )?(?::\S+ )?CAP \S+ NAK /.test(line)) {
      this.#registered.reject(new Error(`${this.nick}: caps refused: ${line.trim()}`));
      return;
    }
    const summary = /^(?:@\S+ )?:\S+ NOTICE \S+ :\* (\d+) joined /.exec(line);
    if (summary !== null) this.joins += Number(summary[1]);
  }

  #keep(bytes: Uint8Array): void {
    const need = this.#carryLen + bytes.length;
    if (need > this.#carry.length) {
      const grown = new Uint8Array(Math.max(need, this.#carry.length * 2, 1024));
      grown.set(this.#carry.subarray(0, this.#carryLen));
      this.#carry = grown;
    }
    this.#carry.set(bytes, this.#carryLen);
    this.#carryLen = need;
  }
}

/**
 * Sends the opening handshake for `/ws` on `conn` and reads its response; resolves to any bytes
 * that came after it (frames, for the frame reader).
 */
async function upgrade(conn: Deno.TcpConn, port: number): Promise<Uint8Array> {
  const request = handshakeRequest(HOST, port);
  let offset = 0;
  while (offset < request.length) offset += await conn.write(request.subarray(offset));
  const response = new Uint8Array(HANDSHAKE_MAX_BYTES);
  let n = 0;
  while (n < response.length) {
    const got = await conn.read(response.subarray(n));
    if (got === null) throw new Error("the web port closed during the WebSocket handshake");
    n += got;
    const end = handshakeEnd(response, n);
    if (end !== -1) return response.slice(end, n);
  }
  throw new Error("the WebSocket handshake's response is too long");
}
