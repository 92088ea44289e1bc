/**
 * The web port's front: the public socket, accepted with `Deno.listen` (by a
 * {@linkcode DoorListener}) so that every connection passes the shared {@linkcode Door} first:
 * bans, `--max-conns-per-ip` counted together with the address's TCP, SSH and WebSocket
 * connections, and the server-wide cap on connections without a login. Until it becomes a
 * WebSocket, a connection is held to deadlines that `Deno.serve` does not have: the TLS
 * handshake (with TLS, run here by `node:tls` as on the native port), the first complete request
 * head, and the time without anything sent to it between requests.
 *
 * Each admitted connection is piped both ways, with the sockets' own back-pressure, to the
 * private HTTP server (`Deno.serve` on 127.0.0.1). Its {@linkcode WebRoute} (the real client's
 * address, the public scheme) is registered under the local address of the piped socket before
 * the first byte is forwarded, so the private server's handler can tell who is really asking,
 * and refuse anyone who connected to it directly.
 *
 * @module
 */

import { SHUTDOWN_GRACE_MS } from "../../config/limits.ts";
import { WEB_REFUSAL_LINGER_MS, WEB_REFUSALS_IN_PROGRESS } from "../../config/web_limits.ts";
import type { Logger } from "../../log/logger.ts";
import type { ErrorFrame } from "../../protocol/frames.ts";
import { NDJSON } from "../../protocol/ndjson/encode.ts";
import { Outgoing } from "../../protocol/outgoing.ts";
import { addressKey as slotKey, type ConnLease } from "../../security/conn_limiter.ts";
import type { Door } from "../door.ts";
import { closeQuietly, type Link, remoteOf } from "../link.ts";
import { acceptConnections } from "../tcp/accept_loop.ts";
import { writeAll } from "../outbound_queue.ts";
import { SocketReader } from "../socket_reader.ts";
import { acceptTls, type ServerTlsContext } from "../tcp/tls_server.ts";

/** What the private server learns about a request's connection from the front. */
export interface WebRoute {
  /** The client's real address (the private server sees only the front's). */
  readonly remote: Deno.NetAddr;
  /** True if the client spoke TLS to the public port: its origin is `https:`. */
  readonly secure: boolean;
  /** A complete request head has arrived: the head deadline is met, the keep-alive one runs. */
  requested(): void;
  /** The request became a WebSocket: the front's deadlines stop, the peer's own govern. */
  upgraded(): void;
  /** The WebSocket is open and has a peer: no longer a connection without a login. */
  opened(): void;
}

/** Settings for a {@linkcode WebFront}. */
export interface WebFrontOptions {
  /** Address to listen on. */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Terminate TLS with this context; null for plain http. */
  tls: ServerTlsContext | null;
  /** The TLS handshake must finish within this. */
  tlsTimeoutMs: number;
  /** The first complete request head must arrive within this (after the TLS handshake). */
  headTimeoutMs: number;
  /** Once a request was made, a connection that is sent nothing for this long is closed. */
  keepAliveMs: number;
  /** Admission checks shared with every other listener. */
  door: Door;
  /** Where refusals and failures are logged. */
  logger: Logger;
  /** True once the server is stopping: accepted sockets are closed. */
  stopping(): boolean;
  /** Where the private HTTP server listens. */
  upstream(): Deno.NetAddr;
}

/** The key of a socket address in the route table. */
function addressKey(addr: Deno.NetAddr): string {
  return `${addr.hostname}:${addr.port}`;
}

/**
 * The public web port and every connection piped from it.
 *
 * @example
 * ```ts
 * import type { Door } from "../door.ts";
 * import { silentLogger } from "../../log/logger.ts";
 *
 * declare const door: Door;
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, (_request, info) => {
 *   const route = front.route(info.remoteAddr);
 *   if (route === undefined) return new Response("Forbidden", { status: 403 });
 *   route.requested();
 *   return new Response(`Hello, ${route.remote.hostname}`);
 * });
 * const front = new WebFront({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   tls: null,
 *   tlsTimeoutMs: 10_000,
 *   headTimeoutMs: 10_000,
 *   keepAliveMs: 5_000,
 *   door,
 *   logger: silentLogger,
 *   stopping: () => false,
 *   upstream: () => server.addr,
 * });
 * front.close();
 * await front.drained();
 * await server.shutdown();
 * ```
 */
export class WebFront {
  /** The address actually bound. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the accept loop has ended. */
  readonly done: Promise<void>;
  readonly #options: WebFrontOptions;
  readonly #listener: Deno.Listener;
  /**
   * Accepted sockets that are not (yet) an open WebSocket: they count as logins in progress,
   * and {@linkcode close} closes them.
   */
  readonly #pending = new Set<Deno.Conn>();
  /** Piped connections by the local address of their socket to the private server. */
  readonly #routes = new Map<string, Piped>();
  /** Kept-alive connections between requests, by address (as the door counts them). */
  readonly #idle = new Map<string, Set<Piped>>();
  readonly #tasks = new Set<Promise<void>>();
  #refusing = 0;
  #closing = false;
  #failure: string | null = null;

  /** Binds at once; throws as `Deno.listen` does (AddrInUse, PermissionDenied). */
  constructor(options: WebFrontOptions) {
    this.#options = options;
    this.#listener = Deno.listen({ hostname: options.hostname, port: options.port });
    this.addr = this.#listener.addr as Deno.NetAddr;
    this.done = this.#loop();
  }

  /** Connections accepted that are not an open WebSocket (TLS handshakes included). */
  get pending(): number {
    return this.#pending.size;
  }

  /** Why the port stopped on its own (not closed by the server), or null. */
  get failure(): string | null {
    return this.#failure;
  }

  /** The route of a request the private server got from `peer`, or undefined if not ours. */
  route(peer: Deno.NetAddr): WebRoute | undefined {
    return this.#routes.get(addressKey(peer));
  }

  /**
   * Stops accepting (the port is free at once) and closes every connection that is not an open
   * WebSocket; those stay until {@linkcode drained}, to get their goodbye.
   */
  close(): void {
    this.#closing = true;
    closeQuietly(this.#listener);
    for (const conn of this.#pending) closeQuietly(conn);
  }

  /**
   * Resolves once every connection has ended: those still open after `graceMs` (a client that
   * does not close its end after the server's) are closed.
   *
   * @param graceMs @default SHUTDOWN_GRACE_MS / 2
   */
  async drained(graceMs: number = SHUTDOWN_GRACE_MS / 2): Promise<void> {
    this.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#tasks]),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    for (const piped of this.#routes.values()) piped.abort();
    await Promise.allSettled([...this.#tasks]);
  }

  async #loop(): Promise<void> {
    const { logger, stopping } = this.#options;
    const loop = acceptConnections(this.#listener, {
      stopping,
      failed: (error, retryMs) => {
        // As on the native port: only running out of descriptors is worth an operator's time.
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
    if (!stopping()) this.#failure = "the web listener failed";
  }

  /** The door, before anything else: a refused socket is answered and closed at once. */
  #admit(conn: Deno.Conn): void {
    const { door, stopping, logger } = this.#options;
    const remote = conn.remoteAddr as Deno.NetAddr;
    if (stopping() || this.#closing) {
      door.refused(remote, "shutting_down");
      closeQuietly(conn);
      return;
    }
    let verdict = door.check(remote.hostname, "connection");
    // An idle kept-alive connection is the first thing given up when its own address needs a
    // slot (HTTP lets a server close one at any time; the browser asks again on a new one), so
    // one tab's page loads do not keep another tab of the same address out.
    if (!verdict.ok && verdict.reason === "too_many_connections" && this.#evict(remote)) {
      verdict = door.check(remote.hostname, "connection");
    }
    if (!verdict.ok) {
      door.refused(remote, verdict.reason);
      this.#refuse(conn, verdict.error);
      return;
    }
    const lease = verdict.lease;
    (conn as Deno.TcpConn).setNoDelay(true);
    this.#pending.add(conn);
    const task: Promise<void> = this.#serve(conn, remote, lease).catch((error) => {
      logger.error("connection_failed", { error: String(error) });
    }).finally(() => {
      lease.release();
      this.#pending.delete(conn);
      this.#tasks.delete(task);
    });
    this.#tasks.add(task);
  }

  /** Closes the address's kept-alive connection idle the longest, if any; true if one was. */
  #evict(remote: Deno.NetAddr): boolean {
    const idle = this.#idle.get(slotKey(remote.hostname));
    if (idle === undefined) return false;
    let oldest: Piped | null = null;
    for (const piped of idle) if (oldest === null || piped.sentAt < oldest.sentAt) oldest = piped;
    if (oldest === null) return false;
    oldest.evict();
    return true;
  }

  /** One admitted socket: the TLS handshake if any, then piped until either side ends. */
  async #serve(conn: Deno.Conn, remote: Deno.NetAddr, lease: ConnLease): Promise<void> {
    const { tls, tlsTimeoutMs, door, stopping, logger } = this.#options;
    const pending = this.#pending;
    let client: Link = conn;
    if (tls !== null) {
      const result = await acceptTls(conn, tls, tlsTimeoutMs);
      if (!result.ok) {
        if (!stopping()) door.refused(remote, "tls_handshake", result.reason);
        return;
      }
      client = result.link;
    }
    // close() closed the socket meanwhile (only those pending), or is about to.
    if (this.#closing) {
      closeQuietly(client);
      return;
    }
    let upstream: Deno.TcpConn;
    try {
      const { hostname, port } = this.#options.upstream();
      upstream = await Deno.connect({ hostname, port });
    } catch (error) {
      logger.error("web_upstream_failed", { error: String(error) });
      closeQuietly(client);
      return;
    }
    if (this.#closing) {
      closeQuietly(upstream);
      closeQuietly(client);
      return;
    }
    upstream.setNoDelay(true);
    const idle = this.#idle;
    const key = slotKey(remote.hostname);
    const piped = new Piped(client, upstream, {
      remote,
      secure: tls !== null,
      options: this.#options,
      opened: () => pending.delete(conn),
      idle: (piped, on) => {
        let set = idle.get(key);
        if (on) {
          if (set === undefined) idle.set(key, set = new Set());
          set.add(piped);
        } else if (set?.delete(piped) && set.size === 0) idle.delete(key);
      },
      free: () => {
        lease.release();
        pending.delete(conn);
      },
    });
    // Known before the private server can see a byte of the request.
    const route = addressKey(upstream.localAddr);
    this.#routes.set(route, piped);
    try {
      await piped.run();
    } finally {
      this.#routes.delete(route);
    }
  }

  /**
   * Turns away a socket the door refused: over plain http, a short response written at once
   * (403 for a ban, else 429), then a brief linger so that closing does not reset it before the
   * client has read it; over TLS, or past {@linkcode WEB_REFUSALS_IN_PROGRESS}, just a close.
   */
  #refuse(conn: Deno.Conn, error: ErrorFrame): void {
    if (this.#options.tls !== null || this.#refusing >= WEB_REFUSALS_IN_PROGRESS) {
      closeQuietly(conn);
      return;
    }
    // The body is the error frame a TCP client gets at the door (and /ws refusals carry): a
    // sentence for people, a code for programs.
    const status = error.code === "banned" ? "403 Forbidden" : "429 Too Many Requests";
    const body = new Outgoing(error).encode(NDJSON);
    const head = new TextEncoder().encode(
      `HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
        `content-length: ${body.length}\r\nconnection: close\r\n\r\n`,
    );
    const bytes = new Uint8Array(head.length + body.length);
    bytes.set(head);
    bytes.set(body, head.length);
    this.#refusing++;
    const task: Promise<void> = goodbye(conn, bytes).finally(() => {
      this.#refusing--;
      this.#tasks.delete(task);
    });
    this.#tasks.add(task);
  }
}

/** Writes `bytes`, half-closes, and reads what the client sent until it closes or the linger ends. */
async function goodbye(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const said = (async () => {
    await writeAll(conn, bytes);
    await conn.closeWrite();
    const sink = new Uint8Array(1024);
    while (await conn.read(sink) !== null) { /* discarded */ }
  })().catch(() => {});
  await Promise.race([
    said,
    new Promise((resolve) => (timer = setTimeout(resolve, WEB_REFUSAL_LINGER_MS))),
  ]);
  clearTimeout(timer);
  closeQuietly(conn);
  await said;
}

/** Where a piped connection is: which deadline, if any, holds it. */
type PipedState = "head" | "keep_alive" | "websocket" | "closing";

/** What a {@linkcode Piped} connection needs from its front. */
interface PipedHooks {
  /** The client's real address. */
  remote: Deno.NetAddr;
  /** The client spoke TLS. */
  secure: boolean;
  /** The deadlines, door and logger. */
  options: WebFrontOptions;
  /** The WebSocket has a peer: the connection is no longer pending. */
  opened(): void;
  /** The connection is (`on`) or is no longer an idle kept-alive one, to be evicted first. */
  idle(piped: Piped, on: boolean): void;
  /** Gives back the door's slot and the pending place at once (before the pumps end). */
  free(): void;
}

/** One client connection piped to the private server, with its deadlines. */
class Piped implements WebRoute {
  readonly remote: Deno.NetAddr;
  readonly secure: boolean;
  readonly #client: Link;
  readonly #upstream: Deno.TcpConn;
  readonly #options: WebFrontOptions;
  readonly #hooks: PipedHooks;
  #state: PipedState = "head";
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the client was last sent something (`performance.now()`), while keep-alive runs. */
  sentAt = 0;
  readonly #aborted = Promise.withResolvers<void>();

  constructor(client: Link, upstream: Deno.TcpConn, hooks: PipedHooks) {
    this.#client = client;
    this.#upstream = upstream;
    this.remote = hooks.remote;
    this.secure = hooks.secure;
    this.#options = hooks.options;
    this.#hooks = hooks;
  }

  /** {@inheritDoc WebRoute.requested} */
  requested(): void {
    this.sentAt = performance.now();
    if (this.#state !== "head") return;
    this.#state = "keep_alive";
    this.#hooks.idle(this, true);
    this.#arm(this.#options.keepAliveMs);
  }

  /** {@inheritDoc WebRoute.upgraded} */
  upgraded(): void {
    if (this.#state === "closing") return;
    if (this.#state === "keep_alive") this.#hooks.idle(this, false);
    this.#state = "websocket";
    clearTimeout(this.#timer);
  }

  /** {@inheritDoc WebRoute.opened} */
  opened(): void {
    this.#hooks.opened();
  }

  /** Closes both sockets at once; the pumps then end. */
  abort(): void {
    clearTimeout(this.#timer);
    if (this.#state === "keep_alive") this.#hooks.idle(this, false);
    this.#state = "closing";
    this.#aborted.resolve();
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
    // node:tls may never call back a write or an end once the session is gone: with TLS, every
    // wait on the client also ends when the connection is aborted.
    const guard = this.secure ? this.#aborted.promise : null;
    let upEnded = false;
    let downEnded = false;
    const up = pump(this.#client, this.#upstream, {
      guard: null,
      sent: null,
      ended: () => {
        upEnded = true;
        if (downEnded) this.abort();
      },
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
