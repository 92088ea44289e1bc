/**
 * Test helpers for the web front end: a WebSocket client on Deno's own `WebSocket` whose
 * messages can be awaited one by one, and a raw upgrade over a TCP socket (to send any `Origin`,
 * see the refusal's status, or stop reading altogether).
 *
 * @module
 */

import type { ChatServer } from "../../server.ts";
import type { ServerFrame } from "../../protocol/frames.ts";
import { WAIT_MS, within } from "./wire.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The web front end's address, or a thrown error if it is off. */
export function webAddr(server: ChatServer): Deno.NetAddr {
  const addr = server.addresses.web;
  if (addr === undefined) throw new Error("the web front end is off");
  return addr;
}

/** A browser-like WebSocket client of `/ws`. */
export class WsClient {
  readonly socket: WebSocket;
  readonly #messages: string[] = [];
  #waiter: (() => void) | null = null;
  /** The close event's code, once closed. */
  closeCode: number | null = null;
  readonly closed: Promise<void>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (event) => {
      this.#messages.push(String(event.data));
      this.#wake();
    };
    this.closed = new Promise((resolve) => {
      socket.onclose = (event) => {
        this.closeCode = event.code;
        this.#wake();
        resolve();
      };
    });
  }

  /** Opens `/ws` on `server`'s web port. */
  static async open(server: ChatServer): Promise<WsClient> {
    const { hostname, port } = webAddr(server);
    const client = new WsClient(new WebSocket(`ws://${hostname}:${port}/ws`));
    await within(
      new Promise<void>((resolve, reject) => {
        client.socket.onopen = () => resolve();
        client.socket.onerror = () => reject(new Error("the WebSocket did not open"));
      }),
      "the WebSocket to open",
    );
    return client;
  }

  /** Opens `/ws` and logs in as `nick`, returning after the welcome. */
  static async login(server: ChatServer, nick: string): Promise<WsClient> {
    const client = await WsClient.open(server);
    client.send({ type: "hello", v: 1, nick });
    await client.expect("welcome");
    return client;
  }

  /** Sends one frame as one text message. */
  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** The next message, or null once closed. */
  async nextMessage(what = "a message", ms = WAIT_MS): Promise<string | null> {
    return await within(
      (async () => {
        while (true) {
          const message = this.#messages.shift();
          if (message !== undefined) return message;
          if (this.closeCode !== null) return null;
          await new Promise<void>((resolve) => (this.#waiter = resolve));
        }
      })(),
      what,
      ms,
    );
  }

  /** The next frame, or null once closed. */
  async next(what = "a frame", ms = WAIT_MS): Promise<ServerFrame | null> {
    const message = await this.nextMessage(what, ms);
    return message === null ? null : JSON.parse(message) as ServerFrame;
  }

  /** The next frame of type `type`, skipping others; fails once closed. */
  async expect<T extends ServerFrame["type"]>(
    type: T,
    ms = WAIT_MS,
  ): Promise<Extract<ServerFrame, { type: T }>> {
    while (true) {
      const frame = await this.next(`a ${type} frame`, ms);
      if (frame === null) throw new Error(`closed while waiting for a ${type} frame`);
      if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
    }
  }

  /** Waits for the close event. */
  async expectClose(ms = WAIT_MS): Promise<number | null> {
    await within(this.closed, "the WebSocket to close", ms);
    return this.closeCode;
  }

  /** Closes, and waits until the close is done (no resource left behind). */
  async close(): Promise<void> {
    if (this.closeCode === null) this.socket.close();
    await within(this.closed, "the WebSocket to close");
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }
}

/** What a raw upgrade got: the status line's code, and the socket when it was upgraded. */
export interface RawUpgrade {
  status: number;
  /** The response head and whatever followed it. */
  head: string;
  conn: Deno.Conn;
}

/** Sends a WebSocket upgrade request for `/ws` by hand, with `origin` if given. */
export async function rawUpgrade(server: ChatServer, origin?: string): Promise<RawUpgrade> {
  const { hostname, port } = webAddr(server);
  const conn = await Deno.connect({ hostname, port });
  const lines = [
    "GET /ws HTTP/1.1",
    `Host: ${hostname}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...(origin === undefined ? [] : [`Origin: ${origin}`]),
  ];
  await conn.write(encoder.encode(lines.join("\r\n") + "\r\n\r\n"));
  let head = "";
  const buffer = new Uint8Array(4096);
  await within(
    (async () => {
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buffer);
        if (n === null) break;
        head += decoder.decode(buffer.subarray(0, n));
      }
    })(),
    "the upgrade's response",
  );
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? "0");
  return { status, head, conn };
}

/** One masked client text frame (RFC 6455 5.2), as a browser sends it. */
export function maskedTextFrame(text: string): Uint8Array {
  const payload = encoder.encode(text);
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const length = payload.length;
  const header = length < 126
    ? [0x81, 0x80 | length]
    : length < 65536
    ? [0x81, 0x80 | 126, length >> 8, length & 0xff]
    : (() => {
      throw new Error("frame too long for this helper");
    })();
  const frame = new Uint8Array(header.length + 4 + length);
  frame.set(header);
  frame.set(mask, header.length);
  for (let i = 0; i < length; i++) frame[header.length + 4 + i] = payload[i] ^ mask[i % 4];
  return frame;
}
