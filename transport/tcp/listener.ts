/**
 * The TCP front end's listener (plain or TLS): accepts sockets with `Deno.listen`, puts each
 * through the shared {@linkcode Door} (both by a {@linkcode DoorListener}), runs the TLS
 * handshake on it when TLS is on, and hands the resulting link to the server. Refusals cost one
 * error line and a close (over TLS, after a handshake bounded by its deadline). Nothing one peer
 * does can stop the loop.
 *
 * @module
 */

import { MAX_TLS_REFUSALS_IN_PROGRESS } from "../../config/limits.ts";
import type { Logger } from "../../log/logger.ts";
import type { ErrorFrame } from "../../protocol/frames.ts";
import { NDJSON } from "../../protocol/ndjson/encode.ts";
import { Outgoing } from "../../protocol/outgoing.ts";
import type { Door } from "../door.ts";
import { DoorListener } from "../door_listener.ts";
import { closeQuietly, type Link, remoteOf } from "../link.ts";
import { writeAll } from "../outbound_queue.ts";
import type { ProxyGate } from "../proxy_protocol.ts";
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
  /**
   * The bytes a refused connection reads before it is closed (an IRC port says `ERROR`).
   * @default one NDJSON error line, readable on netcat too
   */
  goodbye?(error: ErrorFrame): Uint8Array;
  /** `--proxy-from`: read a PROXY header from these sources first. @default null */
  proxy?: ProxyGate | null;
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
  /**
   * The socket, its accept loop and door. Its `handshaking` holds the accepted sockets still in
   * a TLS handshake: open, and counted as logins in progress.
   */
  readonly #listening: DoorListener;

  /** Binds at once; throws as `Deno.listen` does (AddrInUse, PermissionDenied). */
  constructor(options: TcpListenerOptions) {
    this.#options = options;
    const { hostname, port, door, logger, stopping } = options;
    this.#listening = new DoorListener({
      hostname,
      port,
      door,
      logger,
      stopping,
      failure: "the listening socket failed",
      proxy: options.proxy,
      serve: (conn) => {
        logger.debug("connect", { remote: remoteOf(conn) });
        return this.#serve(conn, performance.now());
      },
      refuse: (conn, error) => this.#refuse(conn, error),
    });
    this.addr = this.#listening.addr;
    this.done = this.#listening.done;
  }

  /** Sockets in a TLS handshake now. */
  get handshaking(): number {
    return this.#listening.handshaking.size;
  }

  /** Why the listener stopped on its own (not closed by the server), or null. */
  get failure(): string | null {
    return this.#listening.failure;
  }

  /** Stops accepting and abandons TLS handshakes in progress (closing a socket aborts one). */
  close(): void {
    this.#listening.close();
  }

  /** Resolves once every socket this listener accepted has been served or closed. */
  drained(): Promise<void> {
    return this.#listening.drained();
  }

  /** Runs one admitted socket to its end: the TLS handshake if any, then the server's part. */
  #serve(conn: Deno.Conn, acceptedAt: number): Promise<void> {
    const { tls, serve } = this.#options;
    return tls === null ? serve(conn, acceptedAt) : this.#serveTls(conn, tls, acceptedAt);
  }

  /** The TLS handshake within its deadline, then the server's part. */
  async #serveTls(conn: Deno.Conn, tls: ServerTlsContext, acceptedAt: number): Promise<void> {
    const { tlsTimeoutMs, door, stopping, serve } = this.#options;
    const handshaking = this.#listening.handshaking;
    handshaking.add(conn);
    const result = await acceptTls(conn, tls, tlsTimeoutMs);
    handshaking.delete(conn);
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
    const { tls, tlsTimeoutMs, goodbye: say } = this.#options;
    const bytes = say === undefined ? new Outgoing(error).encode(NDJSON) : say(error);
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
    const listening = this.#listening;
    if (tls === null) {
      listening.track(goodbye(conn));
      return;
    }
    // Over TLS the goodbye can only go out after a handshake: finish it (within the deadline,
    // which frees the socket either way), but only so many at once.
    if (listening.handshaking.size >= MAX_TLS_REFUSALS_IN_PROGRESS) {
      closeQuietly(conn);
      return;
    }
    listening.handshaking.add(conn);
    listening.track(
      acceptTls(conn, tls, tlsTimeoutMs)
        .then((result) => (result.ok ? goodbye(result.link) : undefined))
        .finally(() => listening.handshaking.delete(conn)),
    );
  }
}
