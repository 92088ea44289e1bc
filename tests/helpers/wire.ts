/**
 * Test helpers: servers on port 0 and raw-socket clients that speak NDJSON or plain text by hand.
 *
 * @module
 */

import { type ChatServer, type ServerOptions, startServer } from "../../server.ts";
import type { ServerFrame } from "../../protocol/frames.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Default time any single wait in a test may take before it fails. */
export const WAIT_MS = 5000;

/** Starts a server on 127.0.0.1, port 0. */
export function testServer(options: ServerOptions = {}): ChatServer {
  return startServer({ host: "127.0.0.1", port: 0, ...options });
}

/** Rejects after `ms` with `what` in the message, unless `promise` settles first. */
export async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A socket with line-buffered reading. */
export class LineSocket {
  readonly conn: Deno.Conn;
  #buffer = new Uint8Array(0);
  #eof = false;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to a server. */
  static async connect(server: ChatServer | number): Promise<LineSocket> {
    const port = typeof server === "number" ? server : server.addr.port;
    return new LineSocket(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes bytes or a string, all of it. */
  async write(data: Uint8Array | string): Promise<void> {
    let bytes = typeof data === "string" ? encoder.encode(data) : data;
    while (bytes.length > 0) bytes = bytes.subarray(await this.conn.write(bytes));
  }

  /** Next line without its newline (CR stripped), or null at EOF. */
  async readLine(what = "a line", ms = WAIT_MS): Promise<string | null> {
    return await within(this.#readLine(), what, ms);
  }

  /** Reads until `n` bytes are buffered or EOF; returns them raw (for prompts without newline). */
  async readUntilText(text: string, ms = WAIT_MS): Promise<string> {
    return await within(
      (async () => {
        while (!decoder.decode(this.#buffer).includes(text)) {
          if (!(await this.#fill())) throw new Error(`EOF before ${JSON.stringify(text)}`);
        }
        const all = decoder.decode(this.#buffer);
        const end = all.indexOf(text) + text.length;
        this.#buffer = encoder.encode(all.slice(end));
        return all.slice(0, end);
      })(),
      JSON.stringify(text),
      ms,
    );
  }

  async #readLine(): Promise<string | null> {
    while (true) {
      const nl = this.#buffer.indexOf(0x0a);
      if (nl !== -1) {
        const line = decoder.decode(this.#buffer.subarray(0, nl)).replace(/\r$/, "");
        this.#buffer = this.#buffer.subarray(nl + 1); // a view: no copy per line
        return line;
      }
      if (!(await this.#fill())) return null;
    }
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(65536);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) n = null;
      else throw error;
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const merged = new Uint8Array(this.#buffer.length + n);
    merged.set(this.#buffer);
    merged.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = merged;
    return true;
  }

  /** Resolves once the server has closed the connection (draining anything unread). */
  async expectEof(ms = WAIT_MS): Promise<void> {
    await within(
      (async () => {
        while (await this.#fill()) this.#buffer = new Uint8Array(0);
      })(),
      "EOF",
      ms,
    );
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** A hand-driven NDJSON client. */
export class JsonClient extends LineSocket {
  /** Sends one frame. */
  async send(frame: unknown): Promise<void> {
    await this.write(JSON.stringify(frame) + "\n");
  }

  /** Next frame (skipping plain greeting lines), or null at EOF. */
  async next(what = "a frame", ms = WAIT_MS): Promise<ServerFrame | null> {
    while (true) {
      const line = await this.readLine(what, ms);
      if (line === null) return null;
      if (line.startsWith("{")) return JSON.parse(line) as ServerFrame;
    }
  }

  /** Next frame of type `type`, failing on EOF; other frames on the way are discarded. */
  async expect<T extends ServerFrame["type"]>(
    type: T,
    ms = WAIT_MS,
  ): Promise<Extract<ServerFrame, { type: T }>> {
    while (true) {
      const frame = await this.next(`a ${type} frame`, ms);
      if (frame === null) throw new Error(`EOF while waiting for a ${type} frame`);
      if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
    }
  }

  /** Connects and logs in as `nick`, returning the client after its welcome. */
  static async login(server: ChatServer, nick: string): Promise<JsonClient> {
    const client = new JsonClient(
      await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    );
    await client.send({ type: "hello", v: 1, nick });
    const frame = await client.next("welcome");
    if (frame?.type !== "welcome") {
      client.close();
      throw new Error(`login as ${nick} failed: ${JSON.stringify(frame)}`);
    }
    return client;
  }
}

/** Waits until `check()` is true, polling the event loop (for state with no event to await). */
export async function eventually(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  await within(
    (async () => {
      while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    what,
    ms,
  );
}

/** Sends a slash command and returns the one frame that answers it (matched by its ref). */
export async function command(
  client: JsonClient,
  line: string,
  room = "#lobby",
): Promise<ServerFrame> {
  const ref = `c${Math.random().toString(36).slice(2)}`;
  await client.send({ type: "cmd", line, room, ref });
  while (true) {
    const frame = await client.next(`answer to ${line}`);
    if (frame === null) throw new Error(`EOF waiting for the answer to ${line}`);
    if ("ref" in frame && frame.ref === ref) return frame;
  }
}

/** Connects and sends a hello with these fields (v 1 added), without waiting for the answer. */
export async function hello(port: number, frame: Record<string, unknown>): Promise<JsonClient> {
  const client = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  await client.send({ type: "hello", v: 1, ...frame });
  return client;
}

/** A netcat (plain text) user logged in as `nick`, past the welcome's last line. */
export async function plainLogin(server: ChatServer, nick: string): Promise<LineSocket> {
  const nc = await LineSocket.connect(server);
  await nc.write(`${nick}\n`);
  await nc.readUntilText("/quit leaves.\r\n");
  return nc;
}

/** Reads plain lines until one matches `pattern`; returns it (EOF first throws). */
export async function plainUntil(nc: LineSocket, pattern: RegExp): Promise<string> {
  while (true) {
    const line = await nc.readLine(String(pattern));
    if (line === null) throw new Error(`EOF before ${pattern}`);
    if (pattern.test(line)) return line;
  }
}

/** Reads lines until one contains `needle`; returns it (EOF first throws). */
export async function lineWith(socket: LineSocket, needle: string): Promise<string> {
  while (true) {
    const line = await socket.readLine(needle);
    if (line === null) throw new Error(`EOF before a line with ${needle}`);
    if (line.includes(needle)) return line;
  }
}
