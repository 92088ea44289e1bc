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
import type { Door } from "../door.ts";
import { DoorListener } from "../door_listener.ts";
import { closeQuietly, type Link } from "../link.ts";
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
  /**
   * The socket, its accept loop and door. Its `handshaking` holds the accepted sockets that are
   * not (yet) an open WebSocket: they count as logins in progress, and closing stops them.
   */
  readonly #listening: DoorListener;
  /** Piped connections by the local address of their socket to the private server. */
  readonly #routes = new Map<string, Piped>();
  #refusing = 0;
  #closing = false;

  /** Binds at once; throws as `Deno.listen` does (AddrInUse, PermissionDenied). */
  constructor(options: WebFrontOptions) {
    this.#options = options;
    const { hostname, port, door, logger, stopping } = options;
    this.#listening = new DoorListener({
      hostname,
      port,
      door,
      // One slot per connection, pages included; /ws charges the login budget itself.
      charge: "connection",
      logger,
      stopping,
      failure: "the web listener failed",
      serve: (conn, remote) => this.#serve(conn, remote),
      refuse: (conn, error) => this.#refuse(conn, error),
    });
    this.addr = this.#listening.addr;
    this.done = this.#listening.done;
  }

  /** Connections accepted that are not an open WebSocket (TLS handshakes included). */
  get pending(): number {
    return this.#listening.handshaking.size;
  }

  /** Why the port stopped on its own (not closed by the server), or null. */
  get failure(): string | null {
    return this.#listening.failure;
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
    this.#listening.close();
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
      this.#listening.drained(),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    for (const piped of this.#routes.values()) piped.abort();
    await this.#listening.drained();
  }

  /** One admitted socket: the TLS handshake if any, then piped until either side ends. */
  async #serve(conn: Deno.Conn, remote: Deno.NetAddr): Promise<void> {
    const { tls, tlsTimeoutMs, door, stopping, logger } = this.#options;
    const pending = this.#listening.handshaking;
    pending.add(conn);
    try {
      let client: Link = conn;
      if (tls !== null) {
        const result = await acceptTls(conn, tls, tlsTimeoutMs);
        if (!result.ok) {
          if (!stopping()) door.refused(remote, "tls_handshake", result.reason);
          return;
        }
        client = result.link;
      }
      // close() closed the socket meanwhile (only those in `pending`), or is about to.
      if (this.#closing || !pending.has(conn)) {
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
      const piped = new Piped(client, upstream, {
        remote,
        secure: tls !== null,
        options: this.#options,
        opened: () => pending.delete(conn),
      });
      // Known before the private server can see a byte of the request.
      const key = addressKey(upstream.localAddr);
      this.#routes.set(key, piped);
      try {
        await piped.run();
      } finally {
        this.#routes.delete(key);
      }
    } finally {
      pending.delete(conn);
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
    this.#listening.track(goodbye(conn, bytes).finally(() => this.#refusing--));
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

/** One client connection piped to the private server, with its deadlines. */
class Piped implements WebRoute {
  readonly remote: Deno.NetAddr;
  readonly secure: boolean;
  readonly #client: Link;
  readonly #upstream: Deno.TcpConn;
  readonly #options: WebFrontOptions;
  readonly #opened: () => void;
  #state: PipedState = "head";
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the client was last sent something (`performance.now()`), while keep-alive runs. */
  #sentAt = 0;
  readonly #aborted = Promise.withResolvers<void>();

  constructor(
    client: Link,
    upstream: Deno.TcpConn,
    route: { remote: Deno.NetAddr; secure: boolean; options: WebFrontOptions; opened(): void },
  ) {
    this.#client = client;
    this.#upstream = upstream;
    this.remote = route.remote;
    this.secure = route.secure;
    this.#options = route.options;
    this.#opened = route.opened;
  }

  /** {@inheritDoc WebRoute.requested} */
  requested(): void {
    this.#sentAt = performance.now();
    if (this.#state !== "head") return;
    this.#state = "keep_alive";
    this.#arm(this.#options.keepAliveMs);
  }

  /** {@inheritDoc WebRoute.upgraded} */
  upgraded(): void {
    if (this.#state === "closing") return;
    this.#state = "websocket";
    clearTimeout(this.#timer);
  }

  /** {@inheritDoc WebRoute.opened} */
  opened(): void {
    this.#opened();
  }

  /** Closes both sockets at once; the pumps then end. */
  abort(): void {
    clearTimeout(this.#timer);
    this.#aborted.resolve();
    closeQuietly(this.#client);
    closeQuietly(this.#upstream);
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
        if (this.#state === "keep_alive") this.#sentAt = performance.now();
      },
      ended: () => {
        downEnded = true;
        if (upEnded) return this.abort();
        // The server has closed its side: the client gets a moment to close its own.
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
        const quiet = performance.now() - this.#sentAt;
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
