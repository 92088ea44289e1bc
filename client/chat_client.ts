/**
 * The client side of the NDJSON protocol: connect, hello, send with refs, and a stream of
 * server frames. It knows nothing about terminals.
 *
 * @module
 */

import { FrameDecoder } from "../protocol/frame_decoder.ts";
import {
  type ErrorFrame,
  LOBBY,
  PROTOCOL_VERSION,
  type ServerFrame,
  type WelcomeFrame,
} from "../protocol/frames.ts";
import { writeAll } from "../transport/outbound_queue.ts";

/** Largest frame the client accepts from a server. */
export const CLIENT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A failure the user should read as one line; the client exits 1. */
export class ClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClientError";
  }
}

/** Where to connect and as whom. */
export interface ConnectOptions {
  host: string;
  port: number;
  nick: string;
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
  readonly #pending = new Map<string, { room: string; text: string }>();
  #nextRef = 1;
  #settled: (() => void) | null = null;
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
      conn = await Deno.connect({ hostname: options.host, port: options.port });
    } catch (error) {
      throw connectFailure(options.host, options.port, error);
    }
    const frames = readFrames(conn);
    try {
      await writeAll(conn, encode({ type: "hello", v: PROTOCOL_VERSION, nick: options.nick }));
      const first = await frames.next();
      if (first.done) throw new ClientError("the server closed the connection during login");
      const frame = first.value;
      if (frame.type === "error") throw new ClientError(frame.message);
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
    }
  }

  /** Messages sent but not yet acknowledged. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sends a room message; returns its ref. */
  send(text: string, room: string = LOBBY): string {
    const ref = String(this.#nextRef++);
    this.#pending.set(ref, { room, text });
    this.#write({ type: "msg", room, text, ref });
    return ref;
  }

  /** Marks the message with `ref` as answered (acked or refused) and returns what it was. */
  settle(ref: string | undefined): { room: string; text: string } | undefined {
    if (ref === undefined) return undefined;
    const sent = this.#pending.get(ref);
    this.#pending.delete(ref);
    if (this.#pending.size === 0 && this.#settled !== null) {
      this.#settled();
      this.#settled = null;
    }
    return sent;
  }

  /** Resolves once every message sent so far has been acknowledged or refused. */
  whenSettled(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#settled = resolve));
  }

  /** Server frames after the welcome, until the connection ends. */
  async *frames(): AsyncGenerator<ServerFrame> {
    try {
      for await (const frame of this.#frames) {
        if (frame.type === "ack" || (frame.type === "error" && frame.ref !== undefined)) {
          yield frame;
          this.settle(frame.ref);
          continue;
        }
        yield frame;
      }
    } catch (error) {
      if (!this.#closed) throw error;
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
    try {
      this.#conn.close();
    } catch {
      // already closed by EOF
    }
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
