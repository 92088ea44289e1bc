/**
 * Test helper: a {@linkcode Link} in memory, the client's end of it, and a session opener for
 * NDJSON only. With these a test runs the real {@linkcode Peer} (queue, flood control,
 * deadlines, login bookkeeping) with no socket at all: what a new front end provides is exactly
 * this, a link and an opener.
 *
 * @module
 */

import { NDJSON } from "../../protocol/ndjson/encode.ts";
import { NdjsonSession } from "../../protocol/ndjson/session.ts";
import type { ServerFrame } from "../../protocol/frames.ts";
import type { Link } from "../../transport/link.ts";
import type { Hub } from "../../core/hub.ts";
import type { PeerOptions, SessionOpener } from "../../transport/peer.ts";

const encoder = new TextEncoder();

/** Both ends of an in-memory connection. */
export class MemoryLink implements Link {
  readonly remoteAddr: Deno.NetAddr;
  /** Bytes the peer wrote, in order. */
  readonly written: Uint8Array[] = [];
  /** Bytes the peer may write per call: smaller than a frame tests partial writes. */
  writeLimit = Infinity;
  /** While true, writes wait (a client that stopped reading). */
  stalled = false;
  #inbox: Uint8Array[] = [];
  #eof = false;
  #closed = false;
  #halfClosed = false;
  #wake: (() => void) | null = null;
  #drained: (() => void) | null = null;

  constructor(hostname = "203.0.113.7", port = 40000) {
    this.remoteAddr = { transport: "tcp", hostname, port };
  }

  /** True once the peer closed the link. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once the peer half-closed it (sent its last bytes). */
  get halfClosed(): boolean {
    return this.#halfClosed;
  }

  /** The client sends a line. */
  sendLine(frame: unknown): void {
    this.#inbox.push(encoder.encode(JSON.stringify(frame) + "\n"));
    this.#notify();
  }

  /** The client hangs up. */
  end(): void {
    this.#eof = true;
    this.#notify();
  }

  /** Lets stalled writes go on. */
  resume(): void {
    this.stalled = false;
    const d = this.#drained;
    this.#drained = null;
    d?.();
  }

  /** Every frame the peer wrote so far, parsed. */
  frames(): ServerFrame[] {
    const decoder = new TextDecoder();
    const text = this.written.map((b) => decoder.decode(b, { stream: true })).join("");
    return text.split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as ServerFrame);
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (true) {
      if (this.#closed) throw new Deno.errors.BadResource("closed");
      const chunk = this.#inbox.shift();
      if (chunk !== undefined) {
        const n = Math.min(p.length, chunk.length);
        p.set(chunk.subarray(0, n));
        if (n < chunk.length) this.#inbox.unshift(chunk.subarray(n));
        return n;
      }
      if (this.#eof) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.#closed) throw new Deno.errors.BrokenPipe("closed");
    if (this.stalled) await new Promise<void>((resolve) => (this.#drained = resolve));
    const n = Math.min(p.length, this.writeLimit);
    this.written.push(p.slice(0, n));
    return n;
  }

  closeWrite(): Promise<void> {
    this.#halfClosed = true;
    // The client reads the last bytes and hangs up in turn.
    this.end();
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("closed");
    this.#closed = true;
    this.#notify();
    this.resume();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
}

/** A front end that speaks NDJSON only (as a WebSocket one would): no sniffing, no greeting. */
export const ndjsonOnly: SessionOpener = (reader, port) =>
  reader.read().then((chunk) =>
    chunk === null ? null : {
      first: chunk.slice(),
      opened: { codec: NDJSON, session: new NdjsonSession(port), pings: true },
    }
  );

/** Peer settings for tests: small queue, no flood control, no logs, no metrics. */
export function testPeerOptions(hub: Hub, extra: Partial<PeerOptions> = {}): PeerOptions {
  return {
    hub,
    logger: { debug() {}, info() {}, warn() {}, error() {} } as unknown as PeerOptions["logger"],
    maxFrame: 65536,
    maxQueueBytes: 64 * 1024,
    flood: null,
    handshakeTimeoutMs: 30_000,
    idleTimeoutMs: 120_000,
    metrics: { framesIn() {}, delivered() {}, droppedSlow() {}, rateLimited() {}, rejected() {} },
    ...extra,
  };
}
