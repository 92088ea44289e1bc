/**
 * The client side of the NDJSON protocol: connect, hello, send with refs, and a stream of
 * server frames. It knows nothing about terminals.
 *
 * @module
 */

import { connectTls, TlsError } from "../transport/tls.ts";
import { FrameDecoder } from "../protocol/frame_decoder.ts";
import {
  type ErrorCode,
  type ErrorFrame,
  type HelloFrame,
  LOBBY,
  PROTOCOL_VERSION,
  type ServerFrame,
  type WelcomeFrame,
} from "../protocol/frames.ts";
import { writeAll } from "../transport/outbound_queue.ts";

/** Largest frame the client accepts from a server. */
export const CLIENT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** How long the server may take to answer the hello before the client gives up. */
export const LOGIN_TIMEOUT_MS = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A failure the user should read as one line; the client exits 1. */
export class ClientError extends Error {
  /** The server's error code when the server refused the login; undefined for network trouble. */
  readonly code?: ErrorCode;

  constructor(message: string, code?: ErrorCode) {
    super(message);
    this.name = "ClientError";
    this.code = code;
  }
}

/** Where to connect and as whom. */
export interface ConnectOptions {
  host: string;
  port: number;
  nick: string;
  /** Rooms to rejoin, each with the last message id seen there (see `hello.resume`). */
  resume?: Record<string, number>;
  /** The server password, for servers that have one. */
  password?: string;
  /** How long to wait for the welcome. @default LOGIN_TIMEOUT_MS */
  loginTimeoutMs?: number;
  /** Connect with TLS; `caCerts` replaces the system roots when given. @default plain TCP */
  secure?: { caCerts?: string[] };
}

/** Something the user sent that the server has not answered yet. */
export interface Sent {
  kind: "say" | "command";
  /** The room it was sent to (the current room, for commands). */
  room: string;
  /** The message text, or the command line. */
  text: string;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1).replace(/\.$/, "");
}

/** Describes a connection failure in words. */
function connectFailure(host: string, port: number, error: unknown): ClientError {
  const what = error instanceof Deno.errors.ConnectionRefused
    ? "connection refused (is the server running?)"
    : error instanceof Error
    ? error.message
    : String(error);
  return new ClientError(`cannot connect to ${host}:${port}: ${what}`);
}

/** A connected, logged-in client. */
export class ChatClient {
  /** What the server said on login. */
  readonly welcome: WelcomeFrame;
  readonly #conn: Deno.Conn;
  readonly #frames: AsyncGenerator<ServerFrame>;
  readonly #pending = new Map<string, Sent>();
  #nextRef = 1;
  #settled: (() => void) | null = null;
  readonly #answered = new Map<string, () => void>();
  #ended = false;
  #writes: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(conn: Deno.Conn, frames: AsyncGenerator<ServerFrame>, welcome: WelcomeFrame) {
    this.#conn = conn;
    this.#frames = frames;
    this.welcome = welcome;
  }

  /** Connects and logs in; throws {@linkcode ClientError} with a sentence on any failure. */
  static async connect(options: ConnectOptions): Promise<ChatClient> {
    let conn: Deno.Conn;
    try {
      conn = options.secure
        ? await connectTls({
          hostname: options.host,
          port: options.port,
          caCerts: options.secure.caCerts,
        })
        : await Deno.connect({ hostname: options.host, port: options.port });
    } catch (error) {
      if (error instanceof TlsError) throw new ClientError(lowerFirst(error.message));
      throw connectFailure(options.host, options.port, error);
    }
    const frames = readFrames(conn);
    const hello: HelloFrame = { type: "hello", v: PROTOCOL_VERSION, nick: options.nick };
    if (options.resume !== undefined && Object.keys(options.resume).length > 0) {
      hello.resume = options.resume;
    }
    if (options.password !== undefined) hello.password = options.password;
    const timeoutMs = options.loginTimeoutMs ?? LOGIN_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    try {
      await writeAll(conn, encode(hello));
      // A silent server would hold the login forever: closing the socket ends the read.
      timer = setTimeout(() => {
        timedOut = true;
        conn.close();
      }, timeoutMs);
      const first = await frames.next().catch((error) => {
        if (timedOut) return { done: true as const, value: undefined };
        throw error;
      });
      if (timedOut) {
        throw new ClientError(`the server did not answer the login within ${timeoutMs / 1000} s`);
      }
      if (first.done) throw new ClientError("the server closed the connection during login");
      const frame = first.value;
      if (frame.type === "error") throw new ClientError(frame.message, frame.code);
      if (frame.type !== "welcome") {
        throw new ClientError(`the server answered the login with "${frame.type}"`);
      }
      return new ChatClient(conn, frames, frame);
    } catch (error) {
      try {
        conn.close();
      } catch {
        // already closed
      }
      if (error instanceof ClientError) throw error;
      throw new ClientError(`lost the connection during login: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Messages sent but not yet acknowledged. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sends a room message; returns its ref. */
  send(text: string, room: string = LOBBY): string {
    const ref = String(this.#nextRef++);
    this.#pending.set(ref, { kind: "say", room, text });
    this.#write({ type: "msg", room, text, ref });
    return ref;
  }

  /** Sends a slash command for the server to run, with the current room; returns its ref. */
  command(line: string, room: string): string {
    const ref = String(this.#nextRef++);
    this.#pending.set(ref, { kind: "command", room, text: line });
    this.#write({ type: "cmd", line, room, ref });
    return ref;
  }

  /** Answers a server ping. */
  pong(token: string): void {
    this.#write({ type: "pong", token });
  }

  /** What was sent with `ref`, while it is unanswered. */
  sent(ref: string | undefined): Sent | undefined {
    return ref === undefined ? undefined : this.#pending.get(ref);
  }

  /** Everything still unanswered, oldest first (for telling the user after a lost connection). */
  unanswered(): Sent[] {
    return [...this.#pending.values()];
  }

  /** Marks what was sent with `ref` as answered and returns it. */
  settle(ref: string | undefined): Sent | undefined {
    if (ref === undefined) return undefined;
    const sent = this.#pending.get(ref);
    this.#pending.delete(ref);
    this.#answered.get(ref)?.();
    this.#answered.delete(ref);
    if (this.#pending.size === 0 && this.#settled !== null) {
      this.#settled();
      this.#settled = null;
    }
    return sent;
  }

  /** Resolves once what was sent with `ref` is answered, or the connection has ended. */
  answered(ref: string): Promise<void> {
    if (this.#ended || !this.#pending.has(ref)) return Promise.resolve();
    return new Promise((resolve) => this.#answered.set(ref, resolve));
  }

  /** Resolves once every message sent so far has been acknowledged or refused. */
  whenSettled(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#settled = resolve));
  }

  /**
   * Server frames after the welcome, until the connection ends. A frame answering something
   * sent (it carries the ref) is settled once the consumer has handled it, so {@linkcode sent}
   * still finds the request while the answer is being handled.
   */
  async *frames(): AsyncGenerator<ServerFrame> {
    try {
      for await (const frame of this.#frames) {
        yield frame;
        // Every answer to something we sent carries its ref; the consumer has seen it now.
        if ("ref" in frame && typeof frame.ref === "string") this.settle(frame.ref);
      }
    } catch (error) {
      if (!this.#closed) throw error;
    } finally {
      this.#end();
    }
  }

  /** Says goodbye; the server then closes, which ends {@linkcode frames}. */
  async quit(): Promise<void> {
    this.#write({ type: "quit" });
    await this.#writes;
  }

  /** Closes the socket at once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end();
    try {
      this.#conn.close();
    } catch {
      // already closed by EOF
    }
  }

  /** No answers will come: release everyone waiting for one. */
  #end(): void {
    this.#ended = true;
    for (const resolve of this.#answered.values()) resolve();
    this.#answered.clear();
  }

  #write(frame: unknown): void {
    const bytes = encode(frame);
    this.#writes = this.#writes.then(() => writeAll(this.#conn, bytes)).catch(() => {
      // A failed write means the connection is gone; the frame reader reports that.
    });
  }
}

/** Describes an error frame in one line. */
export function describeError(frame: ErrorFrame): string {
  return `${frame.code}: ${frame.message}`;
}

function encode(frame: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(frame) + "\n");
}

/** Server frames from a socket. Lines that are not JSON objects (a plain greeting) are skipped. */
async function* readFrames(conn: Deno.Conn): AsyncGenerator<ServerFrame> {
  const frames = new FrameDecoder({ maxFrame: CLIENT_MAX_FRAME_BYTES });
  const buffer = new Uint8Array(64 * 1024);
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) return;
    for (const decoded of frames.push(buffer.subarray(0, n))) {
      if (decoded.kind === "too_large") throw new ClientError("the server sent an oversized frame");
      const line = decoder.decode(decoded.bytes);
      if (!line.startsWith("{")) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof value === "object" && value !== null && "type" in value) {
        yield value as ServerFrame;
      }
    }
  }
}
