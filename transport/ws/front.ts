/**
 * The web port's front: the public socket, accepted with `Deno.listen` so that every connection
 * passes the shared {@linkcode Door} first, as on the native and SSH ports:
 * bans, `--max-conns-per-ip` counted together with the address's TCP, SSH and WebSocket
 * connections, and the server-wide cap on connections without a login. Until it becomes a
 * WebSocket, a connection is held to deadlines that `Deno.serve` does not have: the TLS
 * handshake (with TLS, run here by `node:tls` as on the native port), the first complete request
 * head, the time without anything sent to it between requests, and its whole time before it is
 * a WebSocket. An address may open only so many new connections a second
 * ({@linkcode WEB_CONNECTIONS_PER_SECOND}), so that it cannot churn piped sockets.
 *
 * Each admitted connection is piped both ways (a {@linkcode Piped}), with the sockets' own
 * back-pressure, to the private HTTP server (`Deno.serve` on 127.0.0.1). Its {@linkcode WebRoute} (the real client's
 * address, the public scheme) is registered under the local address of the piped socket before
 * the first byte is forwarded, so the private server's handler can tell who is really asking,
 * and refuse anyone who connected to it directly.
 *
 * @module
 */

import { SHUTDOWN_GRACE_MS } from "../../config/limits.ts";
import {
  WEB_CONNECTION_BURST,
  WEB_CONNECTIONS_PER_SECOND,
  WEB_PAGE_TRACKED_ADDRESSES,
  WEB_REFUSAL_LINGER_MS,
  WEB_REFUSALS_IN_PROGRESS,
} from "../../config/web_limits.ts";
import type { Logger } from "../../log/logger.ts";
import { LogThrottle } from "../../log/throttle.ts";
import { type ErrorFrame, errorFrame } from "../../protocol/frames.ts";
import { NDJSON } from "../../protocol/ndjson/encode.ts";
import { Outgoing } from "../../protocol/outgoing.ts";
import { AddressBudget } from "../../security/address_budget.ts";
import { addressKey, type ConnLease } from "../../security/conn_limiter.ts";
import type { Door } from "../door.ts";
import { admitEach } from "../door_listener.ts";
import { closeQuietly, type Link } from "../link.ts";
import { writeAll } from "../outbound_queue.ts";
import { acceptTls, type ServerTlsContext } from "../tcp/tls_server.ts";
import type { ProxyGate } from "../proxy_protocol.ts";
import { Piped, type WebRoute } from "./piped.ts";

/**
 * What the web port's front and its listener (`WebListener`) are both given: where to
 * listen, the deadlines before a connection is a WebSocket, and the door.
 */
export interface WebPortOptions {
  /** Address to listen on. */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve https and wss with this context (the native port's); null for plain http. */
  tls: ServerTlsContext | null;
  /** With TLS, the handshake must finish within this (the native port's `tlsTimeoutMs`). */
  tlsTimeoutMs: number;
  /** The first complete request head must arrive within this (after the TLS handshake). */
  headTimeoutMs: number;
  /** Once a request was made, a connection that is sent nothing for this long is closed. */
  keepAliveMs: number;
  /**
   * New connections per address: a burst, then so many a second.
   * @default WEB_CONNECTION_BURST, WEB_CONNECTIONS_PER_SECOND
   */
  connectionRate?: { burst: number; perSecond: number };
  /** Admission checks shared with every other listener. */
  door: Door;
  /** Where refusals and failures are logged. */
  logger: Logger;
  /**
   * `--proxy-from`: sockets from a balancer start with a PROXY header, read (as a connection
   * not yet a WebSocket) before the door sees the client it names. @default null
   */
  proxy?: ProxyGate | null;
}

/** Settings for a {@linkcode WebFront}. */
export interface WebFrontOptions extends WebPortOptions {
  /** A connection that is not a WebSocket this long after it was accepted is closed. */
  lifetimeMs: number;
  /** `--max-frame`: no WebSocket message longer than this reaches the private server. */
  maxFrame: number;
  /** True once the server is stopping: accepted sockets are closed. */
  stopping(): boolean;
  /** Where the private HTTP server listens. */
  upstream(): Deno.NetAddr;
}

/** The key of a socket address in the route table. */
function socketKey(addr: Deno.NetAddr): string {
  return `${addr.hostname}:${addr.port}`;
}

/**
 * The public web port and every connection piped from it.
 *
 * @example
 * ```ts
 * import type { Door } from "../door.ts";
import { admitEach } from "../door_listener.ts";
 * import { silentLogger } from "../../log/logger.ts";
 *
 * declare const door: Door;
 * declare const privateServer: Deno.HttpServer<Deno.NetAddr>;
 * const front = new WebFront({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   tls: null,
 *   tlsTimeoutMs: 10_000,
 *   headTimeoutMs: 10_000,
 *   keepAliveMs: 5_000,
 *   lifetimeMs: 30_000,
 *   maxFrame: 65_536,
 *   door,
 *   logger: silentLogger,
 *   stopping: () => false,
 *   upstream: () => privateServer.addr,
 * });
 * // The private server's handler:
 * function handle(_request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Response {
 *   const route = front.route(info.remoteAddr);
 *   if (route === undefined) return new Response("Forbidden", { status: 403 });
 *   route.requested();
 *   return new Response(`Hello, ${route.remote.hostname}`);
 * }
 * front.close();
 * await front.drained();
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
  /** New connections per address (see {@linkcode WEB_CONNECTION_BURST}). */
  readonly #connections: AddressBudget;
  /** A failing private server is logged once per window, not once per connection. */
  readonly #upstreamFailures = new LogThrottle();
  #refusing = 0;
  #closing = false;
  #failure: string | null = null;

  /** Binds at once; throws as `Deno.listen` does (AddrInUse, PermissionDenied). */
  constructor(options: WebFrontOptions) {
    this.#options = options;
    this.#connections = new AddressBudget({
      capacity: options.connectionRate?.burst ?? WEB_CONNECTION_BURST,
      refillPerSecond: options.connectionRate?.perSecond ?? WEB_CONNECTIONS_PER_SECOND,
      maxAddresses: WEB_PAGE_TRACKED_ADDRESSES,
    });
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
    return this.#routes.get(socketKey(peer));
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
    await admitEach(this.#listener, { logger, stopping, admit: (conn) => this.#accept(conn) });
    if (!stopping()) this.#failure = "the web listener failed";
  }

  /** A socket from a balancer passes its PROXY header first; any other goes to the door. */
  #accept(conn: Deno.Conn): void {
    const gate = this.#options.proxy;
    if (gate === undefined || gate === null) return this.#admit(conn);
    const held = gate.pass(conn, this.#pending, (client) => {
      try {
        this.#admit(client);
      } catch (error) {
        this.#options.logger.error("door_failed", { error: String(error) });
        closeQuietly(client);
      }
    });
    if (held === null) return;
    const task: Promise<void> = held.finally(() => this.#tasks.delete(task));
    this.#tasks.add(task);
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
    // The rate of new connections, before the door charges a slot. A banned address is told
    // so by the door instead.
    if (!door.banned(remote.hostname) && !this.#connections.take(remote.hostname)) {
      door.refused(remote, "too_many_connections", "new web connections");
      const wait = Math.max(1, this.#connections.waitSeconds(remote.hostname));
      this.#refuse(
        conn,
        errorFrame(
          "too_many_connections",
          `Too many new connections from your address; try again in ${wait} s.`,
          { fatal: true },
        ),
      );
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
    const idle = this.#idle.get(addressKey(remote.hostname));
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
      // Each new connection would fail the same way while it lasts (out of ports, say).
      const suppressed = this.#upstreamFailures.take("upstream", performance.now());
      if (suppressed !== null) {
        logger.error("web_upstream_failed", {
          error: String(error),
          ...(suppressed > 0 ? { suppressed } : {}),
        });
      }
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
    const key = addressKey(remote.hostname);
    const piped = new Piped(client, upstream, {
      remote,
      secure: tls !== null,
      limits: this.#options,
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
    const route = socketKey(upstream.localAddr);
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
    // The body is the sentence, for a person whose browser shows it, then the error frame a TCP
    // client gets at the door (and /ws refusals carry), for programs: NDJSON readers skip a line
    // that is not JSON, as they skip the native port's greeting.
    const status = error.code === "banned" ? "403 Forbidden" : "429 Too Many Requests";
    const sentence = new TextEncoder().encode(`${error.message}\n\n`);
    const frame = new Outgoing(error).encode(NDJSON);
    const body = new Uint8Array(sentence.length + frame.length);
    body.set(sentence);
    body.set(frame, sentence.length);
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
