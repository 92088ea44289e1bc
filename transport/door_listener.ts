/**
 * What every socket front end (TCP, TLS, SSH) does before its own protocol starts: bind with
 * `Deno.listen`, run the accept loop, put each accepted socket through the shared
 * {@linkcode Door}, and keep every task that follows until it ends, so a stopping server can wait
 * for them. A front end adds only how it serves an admitted socket and how it turns one away.
 * Nothing one peer does can stop the loop.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import type { ErrorFrame } from "../protocol/frames.ts";
import type { Door, DoorRefusal } from "./door.ts";
import { closeQuietly, remoteOf } from "./link.ts";
import type { ProxyGate } from "./proxy_protocol.ts";
import { acceptConnections } from "./tcp/accept_loop.ts";

/** Hooks for {@linkcode admitEach}. */
export interface AdmitEachOptions {
  /** Where accept and admission failures are logged. */
  logger: Logger;
  /** True once the server is stopping: the loop ends at the next failure. */
  stopping(): boolean;
  /** Puts one accepted socket through the door; a throw costs only that socket. */
  admit(conn: Deno.Conn): void;
}

/**
 * The accept loop every door front end runs (the native, TLS and SSH ports and the web port):
 * accepts until `listener` is closed, logs failed accepts, and hands each socket to `admit`.
 * Resolves when the loop has ended; never rejects.
 *
 * @example
 * ```ts
 * import { silentLogger } from "../log/logger.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const done = admitEach(listener, {
 *   logger: silentLogger,
 *   stopping: () => false,
 *   admit: (conn) => conn.close(),
 * });
 * listener.close();
 * await done;
 * ```
 */
export async function admitEach(
  listener: Deno.Listener,
  options: AdmitEachOptions,
): Promise<void> {
  const { logger, stopping, admit } = options;
  const loop = acceptConnections(listener, {
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
      admit(conn);
    } catch (error) {
      // A store error at the door (or any other bug) costs this one socket, not the server.
      logger.error("door_failed", { remote: remoteOf(conn), error: String(error) });
      closeQuietly(conn);
    }
  }
}

/** Settings for a {@linkcode DoorListener}. */
export interface DoorListenerOptions {
  /** Address to listen on. */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Admission checks shared with every other listener. */
  door: Door;
  /** Where accept and admission failures are logged. */
  logger: Logger;
  /** True once the server is stopping: accepted sockets are closed. */
  stopping(): boolean;
  /** What {@linkcode DoorListener.failure} says when the listening socket fails on its own. */
  failure: string;
  /** Runs one admitted socket to its end; the door's lease is released after. */
  serve(conn: Deno.Conn, remote: Deno.NetAddr): Promise<void>;
  /** Turns away a socket the door refused, with the door's error (track what lasts). */
  refuse(conn: Deno.Conn, error: ErrorFrame): void;
  /**
   * `--proxy-from`: sockets from a balancer start with a PROXY header, read (held in
   * {@linkcode DoorListener.handshaking}) before the door sees the client it names.
   * @default null: every socket is its own client
   */
  proxy?: ProxyGate | null;
}

/**
 * One listening socket, its accept loop, and every task in flight from it.
 *
 * @example
 * ```ts
 * import type { Door } from "./door.ts";
 * import { silentLogger } from "../log/logger.ts";
 *
 * declare const door: Door;
 * const listener = new DoorListener({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   door,
 *   logger: silentLogger,
 *   stopping: () => false,
 *   failure: "the listening socket failed",
 *   serve: (conn) => Promise.resolve(conn.close()),
 *   refuse: (conn) => conn.close(),
 * });
 * console.log(`listening on ${listener.addr.port}`);
 * listener.close();
 * ```
 */
export class DoorListener {
  /** The address actually bound. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the accept loop has ended. */
  readonly done: Promise<void>;
  /**
   * Accepted sockets still logging in (a handshake in progress): {@linkcode close} closes them.
   * The front end adds and deletes them.
   */
  readonly handshaking: Set<Deno.Conn> = new Set();
  readonly #options: DoorListenerOptions;
  readonly #listener: Deno.Listener;
  readonly #tasks = new Set<Promise<void>>();
  #failure: string | null = null;

  /** Binds at once; throws as `Deno.listen` does (AddrInUse, PermissionDenied). */
  constructor(options: DoorListenerOptions) {
    this.#options = options;
    this.#listener = Deno.listen({ hostname: options.hostname, port: options.port });
    this.addr = this.#listener.addr as Deno.NetAddr;
    this.done = this.#loop();
  }

  /** Why the listener stopped on its own (not closed by the server), or null. */
  get failure(): string | null {
    return this.#failure;
  }

  /** Stops accepting and closes the sockets still logging in (closing one aborts its handshake). */
  close(): void {
    closeQuietly(this.#listener);
    for (const conn of this.handshaking) closeQuietly(conn);
  }

  /** Resolves once every socket this listener accepted has been served or closed. */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.#tasks]);
  }

  /** Keeps `task` until it settles, for {@linkcode drained}. */
  track(task: Promise<void>): void {
    this.#tasks.add(task);
    const done = () => void this.#tasks.delete(task);
    task.then(done, done);
  }

  async #loop(): Promise<void> {
    const { logger, stopping } = this.#options;
    await admitEach(this.#listener, { logger, stopping, admit: (conn) => this.#accept(conn) });
    if (!stopping()) this.#failure = this.#options.failure;
  }

  /** A socket from a balancer passes its PROXY header first; any other goes to the door. */
  #accept(conn: Deno.Conn): void {
    const gate = this.#options.proxy;
    if (gate === undefined || gate === null) return this.#admit(conn);
    const held = gate.pass(conn, this.handshaking, (client) => {
      try {
        this.#admit(client);
      } catch (error) {
        this.#options.logger.error("door_failed", {
          remote: remoteOf(client),
          error: String(error),
        });
        closeQuietly(client);
      }
    });
    if (held !== null) this.track(held);
  }

  /** Serves `conn` once the cluster-wide login rate let it in; else refuses it. */
  async #afterShared(
    conn: Deno.Conn,
    remote: Deno.NetAddr,
    shared: Promise<DoorRefusal | null>,
  ): Promise<void> {
    const { door, stopping, serve, refuse } = this.#options;
    this.handshaking.add(conn);
    const refusal = await shared;
    this.handshaking.delete(conn);
    if (stopping()) {
      closeQuietly(conn);
      return;
    }
    if (refusal === null) return await serve(conn, remote);
    door.refused(remote, refusal.reason, "cluster-wide");
    refuse(conn, refusal.error);
  }

  #admit(conn: Deno.Conn): void {
    const { door, stopping, logger, serve, refuse } = this.#options;
    const remote = conn.remoteAddr as Deno.NetAddr;
    if (stopping()) {
      door.refused(remote, "shutting_down");
      closeQuietly(conn);
      return;
    }
    const verdict = door.check(remote.hostname);
    if (!verdict.ok) {
      door.refused(remote, verdict.reason);
      refuse(conn, verdict.error);
      return;
    }
    // Chat frames are small and latency-sensitive: never wait to coalesce them in the kernel
    // (the outbound queue already coalesces whatever is waiting into one write). Keepalive
    // finds peers whose host vanished without a FIN or RST, even when nothing is being sent.
    if ("setNoDelay" in conn) {
      (conn as Deno.TcpConn).setNoDelay(true);
      (conn as Deno.TcpConn).setKeepAlive(true);
    }
    // In cluster mode the login is counted on every node first (one Redis round trip), while
    // the socket waits as a login in progress.
    const shared = door.sharedCheck(remote.hostname);
    const served = shared === null ? serve(conn, remote) : this.#afterShared(conn, remote, shared);
    // One promise chain per connection, and no suspended function of our own while it lasts:
    // every idle connection pays for what is held here.
    const task: Promise<void> = served.catch((error) => {
      logger.error("connection_failed", { error: String(error) });
    }).finally(() => {
      verdict.lease.release();
      this.#tasks.delete(task);
    });
    this.#tasks.add(task);
  }
}
