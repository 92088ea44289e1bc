/**
 * The TCP front end's listener (plain or TLS): accepts sockets with `Deno.listen`, puts each
 * through the shared {@linkcode Door}, runs the TLS handshake on it when TLS is on, and hands the
 * resulting link to the server. Refusals cost one error line and a close (over TLS, after a
 * handshake bounded by its deadline). Nothing one peer does can stop the loop.
 *
 * @module
 */

import { MAX_TLS_REFUSALS_IN_PROGRESS } from "../../config/limits.ts";
import type { Logger } from "../../log/logger.ts";
import type { ErrorFrame } from "../../protocol/frames.ts";
import { NDJSON } from "../../protocol/ndjson/encode.ts";
import { Outgoing } from "../../protocol/outgoing.ts";
import type { Door } from "../door.ts";
import { closeQuietly, type Link, remoteOf } from "../link.ts";
import { writeAll } from "../outbound_queue.ts";
import { acceptConnections } from "./accept_loop.ts";
import { acceptTls, type ServerTlsContext } from "./tls_server.ts";

/** Settings for a {@linkcode TcpListener}. */
export interface TcpListenerOptions {
  /** Address to listen on. */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve TLS with this context; null for plain TCP. */
  tls: ServerTlsContext | null;
  /** A TLS handshake (and a refusal's goodbye) must finish within this. */
  tlsTimeoutMs: number;
  /** Admission checks shared with every other listener. */
  door: Door;
  /** Where refusals and failures are logged. */
  logger: Logger;
  /** True once the server is stopping: accepted sockets are closed. */
  stopping(): boolean;
  /** Serves an admitted link to its end (`acceptedAt` from `performance.now()`). */
  serve(link: Link, acceptedAt: number): Promise<void>;
}

/**
 * One listening TCP socket and everything in flight from it.
 *
 * @example Plain TCP on a free port
 * ```ts
 * import type { Door } from "../door.ts";
 * import { silentLogger } from "../../log/logger.ts";
 *
 * declare const door: Door;
 * const listener = new TcpListener({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   tls: null,
 *   tlsTimeoutMs: 10_000,
 *   door,
 *   logger: silentLogger,
 *   stopping: () => false,
 *   serve: (link) => Promise.resolve(link.close()),
 * });
 * console.log(`listening on ${listener.addr.port}`);
 * listener.close();
 * ```
 */
export class TcpListener {
  /** The address actually bound. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the accept loop has ended. */
  readonly done: Promise<void>;
  readonly #options: TcpListenerOptions;
  readonly #listener: Deno.Listener;
  /** Accepted sockets still in a TLS handshake: open, and counted as logins in progress. */
  readonly #handshaking = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  #failure: string | null = null;

  /** Binds at once; throws as `Deno.listen` does (AddrInUse, PermissionDenied). */
  constructor(options: TcpListenerOptions) {
    this.#options = options;
    this.#listener = Deno.listen({ hostname: options.hostname, port: options.port });
    this.addr = this.#listener.addr as Deno.NetAddr;
    this.done = this.#loop();
  }

  /** Sockets in a TLS handshake now. */
  get handshaking(): number {
    return this.#handshaking.size;
  }

  /** Why the listener stopped on its own (not closed by the server), or null. */
  get failure(): string | null {
    return this.#failure;
  }

  /** Stops accepting and abandons TLS handshakes in progress (closing a socket aborts one). */
  close(): void {
    closeQuietly(this.#listener);
    for (const conn of this.#handshaking) closeQuietly(conn);
  }

  /** Resolves once every socket this listener accepted has been served or closed. */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.#tasks]);
  }

  async #loop(): Promise<void> {
    const { logger, stopping } = this.#options;
    const loop = acceptConnections(this.#listener, {
      stopping,
      failed: (error, retryMs) => {
        // A peer that reset before it was accepted is routine; only running out of
        // descriptors is worth an operator's attention.
        if (retryMs > 0) logger.error("accept_failed", { error: String(error), retry_ms: retryMs });
        else logger.debug("accept_failed", { error: String(error) });
      },
    });
    for await (const conn of loop) {
      try {
        this.#admit(conn);
      } catch (error) {
        // A store error at the door (or any other bug) costs this one socket, not the server.
        logger.error("door_failed", { remote: remoteOf(conn), error: String(error) });
        closeQuietly(conn);
      }
    }
    if (!stopping()) this.#failure = "the listening socket failed";
  }

  #admit(conn: Deno.Conn): void {
    const { door, stopping, logger } = this.#options;
    const remote = conn.remoteAddr as Deno.NetAddr;
    if (stopping()) {
      door.refused(remote, "shutting_down");
      closeQuietly(conn);
      return;
    }
    const verdict = door.check(remote.hostname);
    if (!verdict.ok) {
      door.refused(remote, verdict.reason);
      this.#refuse(conn, verdict.error);
      return;
    }
    // Chat frames are small and latency-sensitive: never wait to coalesce them in the kernel
    // (the outbound queue already coalesces whatever is waiting into one write). Keepalive
    // finds peers whose host vanished without a FIN or RST, even when nothing is being sent.
    if ("setNoDelay" in conn) {
      (conn as Deno.TcpConn).setNoDelay(true);
      (conn as Deno.TcpConn).setKeepAlive(true);
    }
    logger.debug("connect", { remote: remoteOf(conn) });
    // One promise chain per connection, and no suspended function of our own while it lasts:
    // every idle connection pays for what is held here.
    const task: Promise<void> = this.#serve(conn, performance.now()).catch((error) => {
      logger.error("connection_failed", { error: String(error) });
    }).finally(() => {
      verdict.lease.release();
      this.#tasks.delete(task);
    });
    this.#tasks.add(task);
  }

  /** Runs one admitted socket to its end: the TLS handshake if any, then the server's part. */
  #serve(conn: Deno.Conn, acceptedAt: number): Promise<void> {
    const { tls, serve } = this.#options;
    return tls === null ? serve(conn, acceptedAt) : this.#serveTls(conn, tls, acceptedAt);
  }

  /** The TLS handshake within its deadline, then the server's part. */
  async #serveTls(conn: Deno.Conn, tls: ServerTlsContext, acceptedAt: number): Promise<void> {
    const { tlsTimeoutMs, door, stopping, serve } = this.#options;
    this.#handshaking.add(conn);
    const result = await acceptTls(conn, tls, tlsTimeoutMs);
    this.#handshaking.delete(conn);
    if (!result.ok) {
      if (!stopping()) {
        door.refused(conn.remoteAddr as Deno.NetAddr, "tls_handshake", result.reason);
      }
      return;
    }
    if (stopping()) {
      closeQuietly(result.link);
      return;
    }
    await serve(result.link, acceptedAt);
  }

  /** Refuses a connection: one NDJSON error line (readable on netcat too), then close. */
  #refuse(conn: Deno.Conn, error: ErrorFrame): void {
    const { tls, tlsTimeoutMs } = this.#options;
    const bytes = new Outgoing(error).encode(NDJSON);
    const goodbye = async (link: Link) => {
      // Half-close after the line, so the peer reads it before EOF (over TLS: close_notify);
      // a peer that reads nothing gets the handshake deadline, then the socket is closed.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        writeAll(link, bytes).then(() => link.closeWrite()).catch(() => {}),
        new Promise((resolve) => (timer = setTimeout(resolve, tlsTimeoutMs))),
      ]);
      clearTimeout(timer);
      closeQuietly(link);
    };
    if (tls === null) {
      this.#track(goodbye(conn));
      return;
    }
    // Over TLS the goodbye can only go out after a handshake: finish it (within the deadline,
    // which frees the socket either way), but only so many at once.
    if (this.#handshaking.size >= MAX_TLS_REFUSALS_IN_PROGRESS) {
      closeQuietly(conn);
      return;
    }
    this.#handshaking.add(conn);
    this.#track(
      acceptTls(conn, tls, tlsTimeoutMs)
        .then((result) => (result.ok ? goodbye(result.link) : undefined))
        .finally(() => this.#handshaking.delete(conn)),
    );
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    const done = () => void this.#tasks.delete(task);
    task.then(done, done);
  }
}
