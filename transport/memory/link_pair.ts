/**
 * Two {@linkcode Link}s joined in memory, for a client the server hosts itself (the SSH front end
 * runs the terminal client inside the server, and serves it over such a pair). Each direction
 * holds at most a fixed number of bytes: a writer past it waits until the reader takes some, as on
 * a socket, so neither side can grow the other's memory. Closing one end is seen by the other as
 * a socket's close is: its reads end (EOF), its writes fail with `BrokenPipe`.
 *
 * @module
 */

import { MEMORY_LINK_BUFFER_BYTES } from "../../config/ssh_limits.ts";
import type { Link } from "../link.ts";

/** Settings for {@linkcode linkPair}. */
export interface LinkPairOptions {
  /** What the server end reports as its peer's address (the SSH client's). */
  remoteAddr: Deno.NetAddr;
  /** Bytes each direction holds before a writer waits. @default MEMORY_LINK_BUFFER_BYTES */
  capacity?: number;
}

/**
 * A connected pair: what one end writes, the other reads.
 *
 * @example
 * ```ts
 * const [client, server] = linkPair({
 *   remoteAddr: { transport: "tcp", hostname: "203.0.113.7", port: 50000 },
 * });
 * await client.write(new TextEncoder().encode("hi\n"));
 * const buffer = new Uint8Array(16);
 * const n = await server.read(buffer); // 3
 * client.close();
 * server.close();
 * ```
 */
export function linkPair(options: LinkPairOptions): [client: MemoryLink, server: MemoryLink] {
  const capacity = options.capacity ?? MEMORY_LINK_BUFFER_BYTES;
  const toServer = new Pipe(capacity);
  const toClient = new Pipe(capacity);
  const clientAddr = options.remoteAddr;
  const serverAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 0 };
  return [
    new MemoryLink(toClient, toServer, serverAddr),
    new MemoryLink(toServer, toClient, clientAddr),
  ];
}

/**
 * One direction of a {@linkcode linkPair}: chunks written and not yet read, at most `capacity`
 * bytes of them.
 */
export class Pipe {
  readonly #capacity: number;
  readonly #chunks: Uint8Array[] = [];
  #bytes = 0;
  /** The writer half-closed: the reader gets EOF once the chunks are read. */
  #ended = false;
  /** Either end closed: writes fail, and reads end once what was written is taken. */
  #broken = false;
  /** The reading end closed: nothing more is read. */
  #readerGone = false;
  #readable: (() => void) | null = null;
  #writable: (() => void) | null = null;

  /** An empty direction holding at most `capacity` bytes. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Takes up to `p.length` bytes; null at EOF. */
  async read(p: Uint8Array): Promise<number | null> {
    while (true) {
      if (this.#readerGone) throw new Deno.errors.BadResource("the connection is closed");
      const chunk = this.#chunks[0];
      if (chunk !== undefined) {
        const n = Math.min(p.length, chunk.length);
        p.set(chunk.subarray(0, n));
        if (n === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(n);
        this.#bytes -= n;
        wake(this.#writable, (w) => (this.#writable = w));
        return n;
      }
      if (this.#ended || this.#broken) return null;
      await new Promise<void>((resolve) => (this.#readable = resolve));
    }
  }

  /** Puts as much of `p` as fits (waiting for room if none); resolves with how much. */
  async write(p: Uint8Array): Promise<number> {
    while (true) {
      if (this.#ended || this.#broken || this.#readerGone) {
        throw new Deno.errors.BrokenPipe("the connection is closed");
      }
      const room = this.#capacity - this.#bytes;
      if (room > 0) {
        // A copy: the caller may reuse its buffer as soon as the write resolves.
        const taken = p.slice(0, Math.min(room, p.length));
        this.#chunks.push(taken);
        this.#bytes += taken.length;
        wake(this.#readable, (w) => (this.#readable = w));
        return taken.length;
      }
      await new Promise<void>((resolve) => (this.#writable = resolve));
    }
  }

  /** The writer is done: the reader gets EOF after the rest. */
  end(): void {
    this.#ended = true;
    wake(this.#readable, (w) => (this.#readable = w));
  }

  /** The writing end closed: what it wrote can still be read, then EOF; writes fail. */
  breakWriter(): void {
    this.#broken = true;
    this.#wakeAll();
  }

  /** The reading end closed: its reads fail, buffered bytes are dropped, writes fail. */
  breakReader(): void {
    this.#readerGone = true;
    this.#chunks.length = 0;
    this.#bytes = 0;
    this.#wakeAll();
  }

  #wakeAll(): void {
    wake(this.#readable, (w) => (this.#readable = w));
    wake(this.#writable, (w) => (this.#writable = w));
  }
}

/** Calls a waiter once, clearing it first (a woken waiter re-checks and may wait again). */
function wake(waiter: (() => void) | null, clear: (w: null) => void): void {
  if (waiter === null) return;
  clear(null);
  waiter();
}

/** One end of a {@linkcode linkPair}. */
export class MemoryLink implements Link {
  readonly #in: Pipe;
  readonly #out: Pipe;
  #closed = false;

  /** Reads `incoming`, writes `outgoing`. */
  constructor(incoming: Pipe, outgoing: Pipe, remoteAddr: Deno.NetAddr) {
    this.#in = incoming;
    this.#out = outgoing;
    this.remoteAddr = remoteAddr;
  }

  /** {@inheritDoc Link.remoteAddr} */
  readonly remoteAddr: Deno.Addr;

  /** {@inheritDoc Link.read} */
  read(p: Uint8Array): Promise<number | null> {
    return this.#in.read(p);
  }

  /** {@inheritDoc Link.write} */
  write(p: Uint8Array): Promise<number> {
    return this.#out.write(p);
  }

  /** {@inheritDoc Link.closeWrite} */
  closeWrite(): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("the connection is closed"));
    }
    this.#out.end();
    return Promise.resolve();
  }

  /** {@inheritDoc Link.close} */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    this.#closed = true;
    this.#in.breakReader();
    this.#out.breakWriter();
  }

  /** True once this end was closed. */
  get closed(): boolean {
    return this.#closed;
  }
}
