/**
 * One client connection of the web port piped to its private HTTP server: both directions
 * copied with the sockets' own back-pressure, and the deadlines that hold the connection until it
 * becomes a WebSocket (the first complete request head, then the time without anything sent to
 * the client, and a total). The private server's handler reaches it as a {@linkcode WebRoute}.
 *
 * The client's bytes are forwarded up to the end of each request head, then held until the
 * private server has taken that request: so when one becomes a WebSocket, its frames start at a
 * known byte, and each frame header is checked on the way ({@linkcode FrameGuard}), so that no
 * message longer than `--max-frame` reaches the private server, which would hold it whole.
 *
 * @module
 */

import type { Logger } from "../../log/logger.ts";
import type { Door } from "../door.ts";
import { closeQuietly, type Link } from "../link.ts";
import { writeAll } from "../outbound_queue.ts";
import { SocketReader } from "../socket_reader.ts";
import { FrameGuard } from "./frame_guard.ts";
import { RequestHeads } from "./request_heads.ts";

/** What the private server learns about a request's connection from the front. */
export interface WebRoute {
  /** The client's real address (the private server sees only the front's). */
  readonly remote: Deno.NetAddr;
  /** True if the client spoke TLS to the public port: its origin is `https:`. */
  readonly secure: boolean;
  /** A complete request head has arrived: the head deadline is met, the keep-alive one runs. */
  requested(): void;
  /**
   * True if the request being handled may become a WebSocket: the front holds whatever the
   * client sent after its head, so its frames will be checked from their first byte.
   */
  readonly upgradable: boolean;
  /** The request became a WebSocket: the front's deadlines stop, the peer's own govern. */
  upgraded(): void;
  /** The WebSocket is open and has a peer: no longer a connection without a login. */
  opened(): void;
}

/** The deadlines and where their expiry is told. */
export interface PipedLimits {
  /** The first complete request head must arrive within this. */
  headTimeoutMs: number;
  /** Once a request was made, a connection that is sent nothing for this long is closed. */
  keepAliveMs: number;
  /** A connection that is not a WebSocket this long after it was accepted is closed. */
  lifetimeMs: number;
  /** `--max-frame`: a longer WebSocket message is cut there, and the client read no more. */
  maxFrame: number;
  /** Counts a missed head deadline as a refusal. */
  door: Door;
  /** Where a closed kept-alive connection is logged (debug). */
  logger: Logger;
}

/** Where a piped connection is: which deadline, if any, holds it. */
type PipedState = "head" | "keep_alive" | "websocket" | "closing";

/** What a {@linkcode Piped} connection needs from its front. */
export interface PipedHooks {
  /** The client's real address. */
  remote: Deno.NetAddr;
  /** The client spoke TLS. */
  secure: boolean;
  /** The deadlines, and where their expiry is told. */
  limits: PipedLimits;
  /** The WebSocket has a peer: the connection is no longer pending. */
  opened(): void;
  /** The connection is (`on`) or is no longer an idle kept-alive one, to be evicted first. */
  idle(piped: Piped, on: boolean): void;
  /** Gives back the door's slot and the pending place at once (before the pumps end). */
  free(): void;
}

/**
 * One client connection piped to the private server, with its deadlines.
 *
 * @example
 * ```ts
 * import type { Door } from "../door.ts";
 * import { silentLogger } from "../../log/logger.ts";
 *
 * declare const door: Door;
 * declare const client: Deno.Conn;
 * const upstream = await Deno.connect({ hostname: "127.0.0.1", port: 8080 });
 * const piped = new Piped(client, upstream, {
 *   remote: client.remoteAddr as Deno.NetAddr,
 *   secure: false,
 *   limits: {
 *     headTimeoutMs: 10_000,
 *     keepAliveMs: 5_000,
 *     lifetimeMs: 30_000,
 *     maxFrame: 65_536,
 *     door,
 *     logger: silentLogger,
 *   },
 *   opened: () => {},
 *   idle: () => {},
 *   free: () => {},
 * });
 * await piped.run();
 * ```
 */
export class Piped implements WebRoute {
  /** {@inheritDoc WebRoute.remote} */
  readonly remote: Deno.NetAddr;
  /** {@inheritDoc WebRoute.secure} */
  readonly secure: boolean;
  readonly #client: Link;
  readonly #upstream: Deno.TcpConn;
  readonly #options: PipedLimits;
  readonly #hooks: PipedHooks;
  #state: PipedState = "head";
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The total deadline of a connection that is not (yet) a WebSocket. */
  #lifeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Request heads the client has sent, as far as the front has forwarded them. */
  #heads = 0;
  /** Requests the private server's handler has taken. */
  #requests = 0;
  /** The front holds the client's bytes just past a head's end, until its request is taken. */
  #atHeadEnd = false;
  /** The connection became a WebSocket: every byte from the client after it is a frame. */
  #upgraded = false;
  /** Aborted: both sockets are closed. */
  #ended = false;
  /** Wakes the up pump held at a head's end. */
  #taken: (() => void) | null = null;
  /** When the client was last sent something (`performance.now()`), while keep-alive runs. */
  sentAt: number = 0;
  readonly #aborted = Promise.withResolvers<void>();

  /** Pipes `client` (after any TLS) to `upstream`, a fresh socket to the private server. */
  constructor(client: Link, upstream: Deno.TcpConn, hooks: PipedHooks) {
    this.#client = client;
    this.#upstream = upstream;
    this.remote = hooks.remote;
    this.secure = hooks.secure;
    this.#options = hooks.limits;
    this.#hooks = hooks;
  }

  /** {@inheritDoc WebRoute.requested} */
  requested(): void {
    this.#requests++;
    this.#wakeUp();
    this.sentAt = performance.now();
    if (this.#state !== "head") return;
    this.#state = "keep_alive";
    this.#hooks.idle(this, true);
    this.#arm(this.#options.keepAliveMs);
  }

  /** {@inheritDoc WebRoute.upgradable} */
  get upgradable(): boolean {
    return this.#atHeadEnd && this.#requests === this.#heads;
  }

  /** {@inheritDoc WebRoute.upgraded} */
  upgraded(): void {
    this.#upgraded = true;
    if (this.#state === "closing") return;
    if (this.#state === "keep_alive") this.#hooks.idle(this, false);
    this.#state = "websocket";
    clearTimeout(this.#timer);
    clearTimeout(this.#lifeTimer);
  }

  /** {@inheritDoc WebRoute.opened} */
  opened(): void {
    this.#hooks.opened();
  }

  /** Closes both sockets at once; the pumps then end. */
  abort(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#lifeTimer);
    if (this.#state === "keep_alive") this.#hooks.idle(this, false);
    this.#state = "closing";
    this.#ended = true;
    this.#aborted.resolve();
    this.#wakeUp();
    closeQuietly(this.#client);
    closeQuietly(this.#upstream);
  }

  /** Closes a kept-alive connection for a new one of its address: its slot is free at once. */
  evict(): void {
    this.abort();
    this.#hooks.free();
  }

  /** Pipes both ways until both directions have ended, or either failed or a deadline passed. */
  async run(): Promise<void> {
    this.#arm(this.#options.headTimeoutMs);
    this.#lifeTimer = setTimeout(() => this.#outlived(), this.#options.lifetimeMs);
    // node:tls may never call back a write or an end once the session is gone: with TLS, every
    // wait on the client also ends when the connection is aborted.
    const guard = this.secure ? this.#aborted.promise : null;
    let upEnded = false;
    let downEnded = false;
    const up = this.#pumpUp(() => {
      upEnded = true;
      if (downEnded) this.abort();
    });
    const down = pump(this.#upstream, this.#client, {
      guard,
      sent: () => {
        if (this.#state === "keep_alive") this.sentAt = performance.now();
      },
      ended: () => {
        downEnded = true;
        if (upEnded) return this.abort();
        // The server has closed its side: the client gets a moment to close its own.
        if (this.#state === "keep_alive") this.#hooks.idle(this, false);
        this.#state = "closing";
        this.#arm(this.#options.keepAliveMs);
      },
    });
    const [upOk, downOk] = await Promise.all([
      up.then((ok) => (ok ? ok : (this.abort(), ok))),
      down.then((ok) => (ok ? ok : (this.abort(), ok))),
    ]);
    if (upOk && downOk) this.abort();
  }

  /**
   * Copies the client to the private server as {@linkcode pump} does, but holds the bytes after
   * each request head until that request is taken, and once it is a WebSocket passes them
   * through a {@linkcode FrameGuard}. A message over `--max-frame` is completed at the limit
   * (the peer then says `frame_too_large` and closes), and the client is no more read than to
   * discard what it sends until the connection closes.
   */
  async #pumpUp(ended: () => void): Promise<boolean> {
    const to = this.#upstream;
    const reader = new SocketReader(this.#client);
    const heads = new RequestHeads();
    let guard: FrameGuard | null = null;
    let cutOff = false;
    let rest: Uint8Array | null = null;
    try {
      while (true) {
        const chunk: Uint8Array | null = rest ?? await reader.read();
        rest = null;
        if (chunk === null) break;
        if (cutOff) continue;
        if (guard !== null) {
          const step = guard.feed(chunk);
          for (const piece of step.forward) await writeAll(to, piece);
          if (step.kind === "bad_frame") return false;
          if (step.kind === "too_large") {
            // The peer's frame_too_large and close still go out; then the connection ends.
            cutOff = true;
            this.#state = "closing";
            this.#arm(this.#options.keepAliveMs);
          }
          continue;
        }
        // Checked by the flag, not the state: a WebSocket whose server side has closed is
        // "closing", and still reads frames (the client's close, and whatever it sends first).
        if (this.#upgraded) {
          guard = new FrameGuard(this.#options.maxFrame);
          rest = chunk;
          continue;
        }
        const end = heads.scan(chunk);
        if (heads.http2) {
          this.#options.logger.debug("web_http2_refused", {
            remote: `${this.remote.hostname}:${this.remote.port}`,
          });
          return false;
        }
        if (end === -1) {
          await writeAll(to, chunk);
          continue;
        }
        this.#heads++;
        this.#atHeadEnd = true;
        await writeAll(to, chunk.subarray(0, end));
        // Woken by each request's handler, or by an abort (which closes both sockets).
        while (this.#requests < this.#heads) {
          if (this.#ended) return false;
          await new Promise<void>((resolve) => (this.#taken = resolve));
        }
        this.#atHeadEnd = false;
        if (end < chunk.length) rest = chunk.subarray(end);
      }
      ended();
      await to.closeWrite();
      return true;
    } catch {
      return false;
    }
  }

  #wakeUp(): void {
    const taken = this.#taken;
    this.#taken = null;
    taken?.();
  }

  /** The total deadline: a connection that is still not a WebSocket is closed. */
  #outlived(): void {
    if (this.#state === "websocket") return;
    this.#options.logger.debug("web_connection_outlived", {
      remote: `${this.remote.hostname}:${this.remote.port}`,
      state: this.#state,
    });
    this.abort();
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#expired(), ms);
  }

  #expired(): void {
    const { keepAliveMs, headTimeoutMs, door, logger } = this.#options;
    switch (this.#state) {
      case "head":
        door.refused(
          this.remote,
          "handshake_timeout",
          `no complete request head within ${headTimeoutMs} ms`,
        );
        return this.abort();
      case "keep_alive": {
        const quiet = performance.now() - this.sentAt;
        if (quiet < keepAliveMs) return this.#arm(keepAliveMs - quiet);
        logger.debug("web_keep_alive_ended", {
          remote: `${this.remote.hostname}:${this.remote.port}`,
        });
        return this.abort();
      }
      case "closing":
        return this.abort();
      case "websocket":
        return;
    }
  }
}

/** What {@linkcode pump} tells its connection, and when it gives up waiting. */
interface PumpHooks {
  /** Settles when the connection is aborted: no wait on `to` outlasts it (null: no need). */
  guard: Promise<void> | null;
  /** A chunk was written to `to`. */
  sent: (() => void) | null;
  /** `from` reached EOF (before `to` is half-closed). */
  ended(): void;
}

/**
 * Copies `from` to `to` until EOF, then half-closes `to`; false if either side failed or the
 * guard settled first. Each chunk is written before the next read, so a side that stops reading
 * stops this one too, and the read buffer stays small while the connection is quiet.
 */
async function pump(from: Link, to: Link, hooks: PumpHooks): Promise<boolean> {
  const { guard, sent } = hooks;
  const reader = new SocketReader(from);
  const stopped = guard?.then(() => false);
  try {
    while (true) {
      const chunk = await reader.read();
      if (chunk === null) break;
      const written = writeAll(to, chunk).then(() => true, () => false);
      if (!(await (stopped === undefined ? written : Promise.race([written, stopped])))) {
        return false;
      }
      sent?.();
    }
    hooks.ended();
    const closed = to.closeWrite().then(() => true, () => false);
    return await (stopped === undefined ? closed : Promise.race([closed, stopped]));
  } catch {
    return false;
  }
}
