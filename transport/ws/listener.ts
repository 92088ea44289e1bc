/**
 * The web front end's listener: one port (https and wss with TLS) that serves the page's assets
 * (`web/assets.ts`) with strict security headers, and upgrades `/ws` to a WebSocket only after
 * the `Origin` check and the shared {@linkcode Door} (login rate, bans) admit it. Each WebSocket
 * becomes a {@linkcode WebSocketLink} the server runs as an ordinary peer. A banned address gets
 * 403 on every path, and page requests are charged to a {@linkcode PageGate} per address (429
 * past it).
 *
 * The public port is a {@linkcode WebFront}: it admits each connection at the door (a slot of
 * `--max-conns-per-ip` per connection), bounds it in time until it is a WebSocket, terminates
 * TLS, and pipes it to a private `Deno.serve` on 127.0.0.1, which answers only the connections
 * the front has routed to it, and sees each one's real client address through its route.
 *
 * @module
 */

import { SHUTDOWN_GRACE_MS } from "../../config/limits.ts";
import {
  WEB_ASSET_MAX_AGE_SECONDS,
  WEB_CONNECTION_LIFETIME_MS,
  WEB_HSTS_MAX_AGE_SECONDS,
  WEB_INBOUND_FRAMES,
} from "../../config/web_limits.ts";
import { NDJSON } from "../../protocol/ndjson/encode.ts";
import { Outgoing } from "../../protocol/outgoing.ts";
import { LogThrottle } from "../../log/throttle.ts";
import { addressKey } from "../../security/conn_limiter.ts";
import { WEB_ASSETS } from "../../web/assets.ts";
import type { Door, DoorVerdict } from "../door.ts";
import type { Link } from "../link.ts";
import { WebFront, type WebPortOptions } from "./front.ts";
import type { WebRoute } from "./piped.ts";
import { PageGate } from "./page_gate.ts";
import { WebSocketLink } from "./ws_link.ts";

/** Settings for a {@linkcode WebListener}. */
export interface WebListenerOptions extends WebPortOptions {
  /**
   * A connection that is not a WebSocket this long after it was accepted is closed.
   * @default WEB_CONNECTION_LIFETIME_MS
   */
  lifetimeMs?: number;
  /**
   * Origins (`scheme://host[:port]`) whose pages may open `/ws`; empty: only the page's own
   * origin (the public scheme and the request's `Host`).
   */
  origins: readonly string[];
  /** `--max-frame`: also bounds what one WebSocket may have received and not yet read. */
  maxFrame: number;
  /** True once the server is stopping: upgrades are refused. */
  stopping(): boolean;
  /** Serves an admitted link to its end (`acceptedAt` from `performance.now()`). */
  serve(link: Link, acceptedAt: number): Promise<void>;
}

/**
 * Headers every response carries: nothing inline runs, nothing is sniffed, nothing leaks; and
 * over https, a browser is told to come back only over https.
 */
function securityHeaders(secure: boolean): Record<string, string> {
  return {
    // 'self' covers the page's own ws: and wss: in CSP 3 (every browser the page supports). The
    // policy names nothing taken from the request: a Host header is the client's to write, and
    // one like `chat;report-uri ...` would otherwise add its own directives.
    "content-security-policy": [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self'",
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    ...(secure ? { "strict-transport-security": `max-age=${WEB_HSTS_MAX_AGE_SECONDS}` } : {}),
  };
}

/**
 * The web port and every WebSocket in flight from it.
 *
 * @example
 * ```ts
 * import type { Door } from "../door.ts";
 * import { silentLogger } from "../../log/logger.ts";
 *
 * declare const door: Door;
 * const listener = new WebListener({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   tls: null,
 *   tlsTimeoutMs: 10_000,
 *   headTimeoutMs: 10_000,
 *   keepAliveMs: 5_000,
 *   origins: [],
 *   maxFrame: 65536,
 *   door,
 *   logger: silentLogger,
 *   stopping: () => false,
 *   serve: (link) => Promise.resolve(link.close()),
 * });
 * console.log(`web listening on http://127.0.0.1:${listener.addr.port}/`);
 * listener.close();
 * await listener.drained();
 * ```
 */
export class WebListener {
  /** The address actually bound (the public port). */
  readonly addr: Deno.NetAddr;
  /** Resolves when the port has stopped serving. */
  readonly done: Promise<void>;
  readonly #options: WebListenerOptions;
  readonly #front: WebFront;
  /** The private HTTP server the front pipes each admitted connection to. */
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #origins: ReadonlySet<string>;
  readonly #tasks = new Set<Promise<void>>();
  readonly #pages = new PageGate();
  /** Page refusals are logged once per address per window, as the door's are. */
  readonly #refusals = new LogThrottle();
  #closing = false;
  #failure: string | null = null;

  /** Binds at once; throws as `Deno.listen` does (AddrInUse, PermissionDenied). */
  constructor(options: WebListenerOptions) {
    this.#options = options;
    this.#origins = new Set(options.origins.map((origin) => origin.toLowerCase()));
    // The public port first: it is the one that may be in use, and nothing is bound if it is.
    this.#front = new WebFront({
      hostname: options.hostname,
      port: options.port,
      tls: options.tls,
      tlsTimeoutMs: options.tlsTimeoutMs,
      headTimeoutMs: options.headTimeoutMs,
      keepAliveMs: options.keepAliveMs,
      lifetimeMs: options.lifetimeMs ?? WEB_CONNECTION_LIFETIME_MS,
      maxFrame: options.maxFrame,
      connectionRate: options.connectionRate,
      door: options.door,
      logger: options.logger,
      proxy: options.proxy,
      stopping: options.stopping,
      upstream: () => this.#server.addr,
    });
    try {
      this.#server = Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        onListen: () => {},
        onError: (error) => {
          options.logger.error("web_request_failed", { error: String(error) });
          return new Response("Internal error", { status: 500 });
        },
      }, (request, info) => this.#route(request, info.remoteAddr));
    } catch (error) {
      this.#front.close();
      throw error;
    }
    this.addr = this.#front.addr;
    const failed = this.#server.finished.then(() => {
      if (!this.#closing) this.#failure = "the web port's private server failed";
    });
    this.done = Promise.race([failed, this.#front.done]);
  }

  /** Where the private HTTP server listens (127.0.0.1, a port of the system's choosing). */
  get privateAddr(): Deno.NetAddr {
    return this.#server.addr;
  }

  /**
   * Connections that are not an open WebSocket (pages, TLS handshakes, upgrades in progress):
   * counted as logins in progress, so the server-wide cap bounds them too.
   */
  get handshaking(): number {
    return this.#front.pending;
  }

  /** Why the listener stopped on its own (not closed by the server), or null. */
  get failure(): string | null {
    return this.#failure ?? this.#front.failure;
  }

  /**
   * Stops accepting (the port is free at once), closes every connection that is not an open
   * WebSocket, and refuses `/ws` from now on. The WebSockets stay until {@linkcode drained}, as
   * each must first get its peer's goodbye.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#front.close();
  }

  /**
   * Resolves once every WebSocket this listener accepted has been served or closed, and both
   * the port and the private server are closed.
   */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.#tasks]);
    this.close();
    // Each WebSocket's last frames are still on their way through the pipe: a bounded wait.
    await this.#front.drained(SHUTDOWN_GRACE_MS / 2);
    await this.#server.shutdown();
  }

  /**
   * A request on the private server: only from a connection the front piped here (anything
   * else is a local user connecting to the private port directly, refused with 403), and
   * answered as from the client's real address and the public scheme.
   */
  #route(request: Request, peer: Deno.NetAddr): Response | Promise<Response> {
    const route = this.#front.route(peer);
    if (route === undefined) {
      this.#options.door.refused(peer, "not_via_web_port");
      return refusal(403, "Connect to the web port, not to this one.", securityHeaders(false));
    }
    route.requested();
    return this.#handle(request, route);
  }

  #handle(request: Request, route: WebRoute): Response | Promise<Response> {
    const remote = route.remote;
    // Deno.serve builds the URL from the Host header, which the client writes: one that is no
    // host name (`Host: a b`) must be refused here like any bad request, not thrown, or each
    // would be logged as a server error and skip the checks below.
    const url = URL.parse(request.url);
    // The private server speaks plain http; the page's origin has the public scheme.
    if (url !== null && route.secure) url.protocol = "https:";
    if (url?.pathname === "/ws") return this.#upgrade(request, url, route);
    const headers = securityHeaders(route.secure);
    // The door saw the connection when it was accepted; a ban made since then, and each page
    // request's budget, are checked here.
    if (this.#options.door.banned(remote.hostname)) {
      this.#refusedPage(remote, "banned");
      return refusal(403, "Your address is banned.", headers);
    }
    const over = this.#chargePage(remote, headers);
    if (over !== null) return over;
    if (url === null) return refusal(400, "The Host header is not a host name.", headers);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", {
        status: 405,
        headers: { ...headers, allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
      });
    }
    const asset = WEB_ASSETS.get(url.pathname);
    if (asset === undefined) {
      return new Response("Not found\n", {
        status: 404,
        headers: { ...headers, "content-type": "text/plain; charset=utf-8" },
      });
    }
    return new Response(request.method === "HEAD" ? null : asset.body, {
      headers: {
        ...headers,
        "content-type": asset.type,
        // What a GET would send, for HEAD too (Deno would say 0 for the empty body).
        "content-length": String(asset.body.length),
        "cache-control": `public, max-age=${WEB_ASSET_MAX_AGE_SECONDS}`,
      },
    });
  }

  /**
   * Charges one request to the address's page budget: null if within it, else the 429 to send.
   */
  #chargePage(remote: Deno.NetAddr, headers: Record<string, string>): Response | null {
    const verdict = this.#pages.admit(remote.hostname);
    if (verdict.ok) return null;
    this.#refusedPage(remote, "rate_limited");
    return refusal(
      429,
      `Too many requests from your address; try again in ${verdict.retryAfterSeconds} s.`,
      { ...headers, "retry-after": String(verdict.retryAfterSeconds) },
    );
  }

  /**
   * `/ws`: a ban first, then the Origin check, then the login rate, then the upgrade. A request
   * refused before the login rate (no upgrade, a foreign origin) is charged as a page, so that
   * it costs what any other request costs.
   */
  #upgrade(request: Request, url: URL, route: WebRoute): Response | Promise<Response> {
    const { door, stopping } = this.#options;
    const remote = route.remote;
    const headers = securityHeaders(route.secure);
    if (stopping() || this.#closing) {
      door.refused(remote, "shutting_down");
      return refusal(503, "The server is shutting down.", headers);
    }
    if (door.banned(remote.hostname)) {
      // Said first, whatever else is wrong with the request. The door decides a ban before it
      // charges anything, so asking it costs the address nothing and gives TCP's error frame.
      const banned = door.check(remote.hostname, "login");
      if (!banned.ok) return doorRefusal(door, remote, banned, headers);
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      const over = this.#chargePage(remote, headers);
      if (over !== null) return over;
      return refusal(426, "This endpoint speaks WebSocket only.", {
        ...headers,
        upgrade: "websocket",
      });
    }
    // Browsers always send Origin; a program without one could send any it liked, so the check
    // is what stops another site's page from joining the chat in a visitor's name.
    const origin = request.headers.get("origin");
    if (origin !== null && !this.#allowed(origin.toLowerCase(), url)) {
      const over = this.#chargePage(remote, headers);
      if (over !== null) return over;
      door.refused(remote, "bad_origin", origin.slice(0, 200));
      return refusal(403, "Pages from that origin may not join this chat.", headers);
    }
    // The connection already holds its slot of --max-conns-per-ip (the front took it): a
    // WebSocket is charged only its login.
    const verdict = door.check(remote.hostname, "login");
    if (!verdict.ok) return doorRefusal(door, remote, verdict, headers);
    // In cluster mode the login is counted on every node first (one Redis round trip).
    const shared = door.sharedCheck(remote.hostname);
    if (shared === null) return this.#upgraded(request, route, headers);
    return shared.then((refused) => {
      if (refused !== null) {
        return doorRefusal(door, remote, { ok: false, ...refused }, headers, "cluster-wide");
      }
      if (stopping() || this.#closing) {
        door.refused(remote, "shutting_down");
        return refusal(503, "The server is shutting down.", headers);
      }
      return this.#upgraded(request, route, headers);
    });
  }

  /** The upgrade itself, once every check let the login in; the WebSocket is then served. */
  #upgraded(request: Request, route: WebRoute, headers: Record<string, string>): Response {
    const { logger } = this.#options;
    const remote = route.remote;
    // The front must know where the WebSocket's frames start, to check each one's length: it
    // holds what follows each request head it saw, so it does, unless this head was one it
    // could not see (which hyper and the front's scan agree should never happen).
    if (!route.upgradable) {
      return refusal(400, "Not a valid WebSocket upgrade.", headers);
    }
    let upgraded;
    try {
      upgraded = Deno.upgradeWebSocket(request);
    } catch (error) {
      logger.debug("web_upgrade_failed", { error: String(error) });
      return refusal(400, "Not a valid WebSocket upgrade.", headers);
    }
    route.upgraded();
    const { socket, response } = upgraded;
    const link = new WebSocketLink(socket, {
      remoteAddr: remote,
      maxFrame: this.#options.maxFrame,
      maxUnread: WEB_INBOUND_FRAMES * (this.#options.maxFrame + 2),
    });
    const task = new Promise<void>((resolve) => {
      let started = false;
      socket.addEventListener("open", () => {
        started = true;
        route.opened();
        logger.debug("connect", { remote: `${remote.hostname}:${remote.port}`, via: "web" });
        this.#options.serve(link, performance.now()).catch((error) => {
          logger.error("connection_failed", { error: String(error) });
        }).finally(resolve);
      }, { once: true });
      socket.addEventListener("close", () => {
        if (!started) resolve();
      }, { once: true });
    }).finally(() => this.#tasks.delete(task));
    this.#tasks.add(task);
    return response;
  }

  /**
   * Logs a refused page request, once per address per window. Not counted as a refused
   * connection: a browser asks for several pages on one connection.
   */
  #refusedPage(remote: Deno.NetAddr, reason: "banned" | "rate_limited"): void {
    const suppressed = this.#refusals.take(addressKey(remote.hostname), performance.now());
    if (suppressed === null) return;
    this.#options.logger.info("web_refused", {
      remote: `${remote.hostname}:${remote.port}`,
      reason,
      ...(suppressed > 0 ? { suppressed } : {}),
    });
  }

  /** Whether a page from `origin` may open the WebSocket. */
  #allowed(origin: string, url: URL): boolean {
    if (this.#origins.size === 0) return origin === url.origin.toLowerCase();
    return this.#origins.has(origin);
  }
}

/** The door's refusal of `/ws`: 403 for a ban, else 429, with the error frame TCP would get. */
function doorRefusal(
  door: Door,
  remote: Deno.NetAddr,
  verdict: Extract<DoorVerdict, { ok: false }>,
  headers: Record<string, string>,
  detail?: string,
): Response {
  door.refused(remote, verdict.reason, detail);
  const body = new TextDecoder().decode(new Outgoing(verdict.error).encode(NDJSON));
  return new Response(body, {
    status: verdict.reason === "banned" ? 403 : 429,
    headers: { ...headers, "content-type": "application/x-ndjson" },
  });
}

/**
 * A refusal as plain text: a browser shows it for a page, and its script sees only that the
 * WebSocket failed.
 */
function refusal(status: number, text: string, headers: Record<string, string>): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { ...headers, "content-type": "text/plain; charset=utf-8" },
  });
}
