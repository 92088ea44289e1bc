/**
 * The web front end's listener: one `Deno.serve` port (https and wss with TLS) that serves the
 * page's assets (`web/assets.ts`) with strict security headers, and upgrades `/ws` to a
 * WebSocket only after the `Origin` check and the shared {@linkcode Door} (caps per address,
 * login rate, bans, logins in progress) admit it. Each WebSocket becomes a
 * {@linkcode WebSocketLink} the server runs as an ordinary peer. A banned address gets 403 on
 * every path, and page requests are charged to a {@linkcode PageGate} per address (429 past it).
 *
 * @module
 */

import { WEB_ASSET_MAX_AGE_SECONDS, WEB_INBOUND_FRAMES } from "../../config/web_limits.ts";
import type { Logger } from "../../log/logger.ts";
import { NDJSON } from "../../protocol/ndjson/encode.ts";
import { Outgoing } from "../../protocol/outgoing.ts";
import { LogThrottle } from "../../log/throttle.ts";
import { addressKey } from "../../security/conn_limiter.ts";
import { WEB_ASSETS } from "../../web/assets.ts";
import type { Door, DoorVerdict } from "../door.ts";
import type { Link } from "../link.ts";
import { PageGate } from "./page_gate.ts";
import { WebSocketLink } from "./ws_link.ts";

/** Settings for a {@linkcode WebListener}. */
export interface WebListenerOptions {
  /** Address to listen on. */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve https and wss with this PEM certificate chain and key; null for plain http. */
  tls: { cert: string; key: string } | null;
  /**
   * Origins (`scheme://host[:port]`) whose pages may open `/ws`; empty: only the page's own
   * origin (the request's scheme and `Host`).
   */
  origins: readonly string[];
  /** `--max-frame`: also bounds what one WebSocket may have received and not yet read. */
  maxFrame: number;
  /** Admission checks shared with every other listener. */
  door: Door;
  /** Where refusals and failures are logged. */
  logger: Logger;
  /** True once the server is stopping: upgrades are refused. */
  stopping(): boolean;
  /** Serves an admitted link to its end (`acceptedAt` from `performance.now()`). */
  serve(link: Link, acceptedAt: number): Promise<void>;
}

/** Headers every response carries: nothing inline runs, nothing is sniffed, nothing leaks. */
function securityHeaders(host: string | null): Record<string, string> {
  return {
    // 'self' covers same-origin ws: and wss: in CSP 3; they are named for older browsers.
    "content-security-policy": [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self'",
      host === null ? "connect-src 'self'" : `connect-src 'self' ws://${host} wss://${host}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
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
 *   origins: [],
 *   maxFrame: 65536,
 *   door,
 *   logger: silentLogger,
 *   stopping: () => false,
 *   serve: (link) => Promise.resolve(link.close()),
 * });
 * console.log(`web listening on http://127.0.0.1:${listener.addr.port}/`);
 * listener.close();
 * ```
 */
export class WebListener {
  /** The address actually bound. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the port has stopped serving. */
  readonly done: Promise<void>;
  readonly #options: WebListenerOptions;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #origins: ReadonlySet<string>;
  readonly #tasks = new Set<Promise<void>>();
  readonly #pages = new PageGate();
  /** Page refusals are logged once per address per window, as the door's are. */
  readonly #refusals = new LogThrottle();
  /** Upgraded WebSockets not yet open: admitted, and holding a slot, but with no peer yet. */
  #opening = 0;
  #closing = false;
  readonly #closed = Promise.withResolvers<void>();
  #failure: string | null = null;

  /** Binds at once; throws as `Deno.listen` does (AddrInUse, PermissionDenied). */
  constructor(options: WebListenerOptions) {
    this.#options = options;
    this.#origins = new Set(options.origins.map((origin) => origin.toLowerCase()));
    const tls = options.tls === null ? {} : { cert: options.tls.cert, key: options.tls.key };
    this.#server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      ...tls,
      onListen: () => {},
      onError: (error) => {
        options.logger.error("web_request_failed", { error: String(error) });
        return new Response("Internal error", { status: 500 });
      },
    }, (request, info) => this.#handle(request, info.remoteAddr));
    this.addr = this.#server.addr;
    const failed = this.#server.finished.then(() => {
      if (!this.#closing) this.#failure = "the web listener failed";
    });
    this.done = Promise.race([failed, this.#closed.promise]);
  }

  /** Upgraded WebSockets not yet open: counted as logins in progress. */
  get handshaking(): number {
    return this.#opening;
  }

  /** Why the listener stopped on its own (not closed by the server), or null. */
  get failure(): string | null {
    return this.#failure;
  }

  /**
   * Stops upgrading: `/ws` is refused from now on. The port itself closes in
   * {@linkcode drained}, since shutting `Deno.serve` down closes its WebSockets too, and each must
   * first get its peer's goodbye.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closed.resolve();
  }

  /**
   * Resolves once every WebSocket this listener accepted has been served or closed, and the port
   * is free again.
   */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.#tasks]);
    this.close();
    await this.#server.shutdown();
  }

  #handle(request: Request, remote: Deno.NetAddr): Response {
    // Deno.serve builds the URL from the Host header, which the client writes: one that is no
    // host name (`Host: a b`) must be refused here like any bad request, not thrown, or each
    // would be logged as a server error and skip the checks below.
    const url = URL.parse(request.url);
    if (url?.pathname === "/ws") return this.#upgrade(request, url, remote);
    const headers = securityHeaders(url?.host ?? null);
    // The door sees connections only at /ws; every other request is checked here, since
    // Deno.serve gives no say over the connection it came on.
    if (this.#options.door.banned(remote.hostname)) {
      this.#refusedPage(remote, "banned");
      return refusal(403, "Your address is banned.", headers);
    }
    const verdict = this.#pages.admit(remote.hostname);
    if (!verdict.ok) {
      this.#refusedPage(remote, "rate_limited");
      return refusal(
        429,
        `Too many requests from your address; try again in ${verdict.retryAfterSeconds} s.`,
        { ...headers, "retry-after": String(verdict.retryAfterSeconds) },
      );
    }
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
        "cache-control": `public, max-age=${WEB_ASSET_MAX_AGE_SECONDS}`,
      },
    });
  }

  /** `/ws`: a ban first, then the Origin check, then the rest of the door, then the upgrade. */
  #upgrade(request: Request, url: URL, remote: Deno.NetAddr): Response {
    const { door, stopping, logger } = this.#options;
    const headers = securityHeaders(url.host);
    if (stopping() || this.#closing) {
      door.refused(remote, "shutting_down");
      return refusal(503, "The server is shutting down.", headers);
    }
    if (door.banned(remote.hostname)) {
      // Said first, whatever else is wrong with the request. The door decides a ban before it
      // charges anything, so asking it costs the address nothing and gives TCP's error frame.
      const banned = door.check(remote.hostname);
      if (!banned.ok) return doorRefusal(door, remote, banned, headers);
      banned.lease.release();
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return refusal(426, "This endpoint speaks WebSocket only.", {
        ...headers,
        upgrade: "websocket",
      });
    }
    // Browsers always send Origin; a program without one could send any it liked, so the check
    // is what stops another site's page from joining the chat in a visitor's name.
    const origin = request.headers.get("origin");
    if (origin !== null && !this.#allowed(origin.toLowerCase(), url)) {
      door.refused(remote, "bad_origin", origin.slice(0, 200));
      return refusal(403, "Pages from that origin may not join this chat.", headers);
    }
    const verdict = door.check(remote.hostname);
    if (!verdict.ok) return doorRefusal(door, remote, verdict, headers);
    let upgraded;
    try {
      upgraded = Deno.upgradeWebSocket(request);
    } catch (error) {
      verdict.lease.release();
      logger.debug("web_upgrade_failed", { error: String(error) });
      return refusal(400, "Not a valid WebSocket upgrade.", headers);
    }
    const { socket, response } = upgraded;
    const link = new WebSocketLink(socket, {
      remoteAddr: remote,
      maxFrame: this.#options.maxFrame,
      maxUnread: WEB_INBOUND_FRAMES * (this.#options.maxFrame + 2),
    });
    this.#opening++;
    const task = new Promise<void>((resolve) => {
      let started = false;
      socket.addEventListener("open", () => {
        started = true;
        this.#opening--;
        logger.debug("connect", { remote: `${remote.hostname}:${remote.port}`, via: "web" });
        this.#options.serve(link, performance.now()).catch((error) => {
          logger.error("connection_failed", { error: String(error) });
        }).finally(resolve);
      }, { once: true });
      socket.addEventListener("close", () => {
        if (started) return;
        this.#opening--;
        resolve();
      }, { once: true });
    }).finally(() => {
      verdict.lease.release();
      this.#tasks.delete(task);
    });
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
): Response {
  door.refused(remote, verdict.reason);
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
