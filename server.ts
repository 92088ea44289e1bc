/**
 * The sockchat server: accepts TCP (or TLS) connections with `Deno.listen` and runs each as its
 * own task against one shared {@linkcode Hub}. Refusals at the door (too many connections from
 * one address, a banned address) cost one small write and a close. A TLS connection must finish
 * its handshake within {@linkcode TLS_HANDSHAKE_TIMEOUT_MS} (and the login timeout) before it
 * becomes a {@linkcode Connection}.
 *
 * @module
 */

import {
  ACCEPT_BACKOFF_MAX_MS,
  ACCEPT_BACKOFF_MIN_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HISTORY_REPLAY,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_MAX_USERS,
  DEFAULT_PORT,
  DEFAULT_RETENTION_PER_ROOM,
  DEFAULT_SERVE_HOST,
  MAX_PENDING_LOGINS,
  MAX_TLS_REFUSALS_IN_PROGRESS,
  SHUTDOWN_GRACE_MS,
  SWEEP_INTERVAL_MS,
} from "./config/limits.ts";
import { DEFAULT_MAX_CONNS_PER_IP, TLS_HANDSHAKE_TIMEOUT_MS } from "./config/security_limits.ts";
import { Hub, type Verifier } from "./core/hub.ts";
import { BanList } from "./core/moderation.ts";
import { type Logger, silentLogger } from "./log/logger.ts";
import type { RejectReason, SockchatMetrics } from "./metrics/sockchat_metrics.ts";
import { errorFrame } from "./protocol/frames.ts";
import { Outgoing } from "./protocol/outgoing.ts";
import { ConnLimiter } from "./security/conn_limiter.ts";
import type { FloodGuardOptions } from "./security/token_bucket.ts";
import { SqliteHistory, type SyncMode } from "./store/sqlite_history.ts";
import { Connection, type ConnectionMetrics } from "./transport/connection.ts";
import { listenTls, serverHandshake } from "./transport/tls.ts";
import { VERSION } from "./version.ts";

/** PEM certificate chain and key for serving TLS. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** Settings for {@linkcode startServer}; every field has a documented default. */
export interface ServerOptions {
  /** @default "0.0.0.0" */
  host?: string;
  /** 0 picks a free port. @default 7342 */
  port?: number;
  /** @default 1000 */
  maxUsers?: number;
  /** @default 65536 */
  maxFrame?: number;
  /** @default 524288 */
  maxQueueBytes?: number;
  /** @default a logger that writes nothing */
  logger?: Logger;
  /** SQLite database for history, or `:memory:` to keep nothing. @default ":memory:" */
  db?: string;
  /** Messages replayed on joining a room. @default 50 */
  historyReplay?: number;
  /** Messages kept per room. @default 10000 */
  retention?: number;
  /** `full` fsyncs every commit. @default "normal" */
  sync?: SyncMode;
  /** Serve TLS with this certificate and key (PEM text). @default plain TCP */
  tls?: TlsFiles;
  /** Every hello must carry this password. @default none */
  password?: Verifier | null;
  /** /oper takes this secret. @default none: no operators */
  operSecret?: Verifier | null;
  /** Connections one address may hold open. @default 8 */
  maxConnsPerIp?: number;
  /** Flood control; null turns it off. @default the FloodGuard defaults */
  flood?: FloodGuardOptions | null;
  /** @default 30000 */
  handshakeTimeoutMs?: number;
  /** @default 120000 */
  idleTimeoutMs?: number;
  /**
   * Where counts go (see metrics/sockchat_metrics.ts); the server also gives its gauges
   * samplers, read at each scrape. @default nowhere
   */
  metrics?: SockchatMetrics;
  /** Connections that may be open without having logged in, server-wide. @default 256 */
  maxPendingLogins?: number;
}

/** Every count the server keeps, for `--metrics-port`. All methods must be cheap. */
export interface ServerMetrics extends ConnectionMetrics {
  /** One history commit took this long. */
  commitSeconds(seconds: number): void;
}

const NO_METRICS: ServerMetrics = {
  framesIn() {},
  delivered() {},
  droppedSlow() {},
  rateLimited() {},
  rejected() {},
  commitSeconds() {},
};

/** {@linkcode ServerMetrics} that count into sockchat's registry: plain increments, no allocation. */
function countInto(metrics: SockchatMetrics): ServerMetrics {
  const { messagesIn, messagesOut, droppedSlow, rateLimited, rejectedConnections } = metrics;
  const history = metrics.historyWriteSeconds;
  return {
    framesIn: (n: number) => messagesIn.inc(n),
    delivered: (n: number) => messagesOut.inc(n),
    droppedSlow: () => droppedSlow.inc(),
    rateLimited: () => rateLimited.inc(),
    rejected: (reason: RejectReason) => rejectedConnections.inc(reason),
    commitSeconds: (seconds: number) => history.observe(seconds),
  };
}

/** A running server. */
export interface ChatServer {
  /** The address actually bound (useful with port 0). */
  readonly addr: Deno.NetAddr;
  /** The chat core, for inspection in tests. */
  readonly hub: Hub;
  /** Connections currently open, logged in or not. */
  readonly connections: ReadonlySet<Connection>;
  /** Stops accepting, says goodbye to everyone, and resolves once every connection has closed. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/**
 * Starts a server and returns at once; connections are served in the background.
 *
 * @example
 * ```ts
 * const server = startServer({ port: 0 });
 * console.log(server.addr.port);
 * await server.shutdown();
 * ```
 */
export function startServer(options: ServerOptions = {}): ChatServer {
  const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME_BYTES;
  const maxUsers = options.maxUsers ?? DEFAULT_MAX_USERS;
  const maxQueueBytes = options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics === undefined ? NO_METRICS : countInto(options.metrics);
  const hostname = options.host ?? DEFAULT_SERVE_HOST;
  const port = options.port ?? DEFAULT_PORT;
  // listenTls explains a key that does not match its certificate (as a TlsError).
  const listener: Deno.Listener = options.tls
    ? listenTls({ hostname, port, cert: options.tls.cert, key: options.tls.key })
    : Deno.listen({ hostname, port });
  let store: SqliteHistory;
  try {
    store = new SqliteHistory({
      path: options.db ?? ":memory:",
      retention: options.retention ?? DEFAULT_RETENTION_PER_ROOM,
      sync: options.sync,
    });
  } catch (error) {
    listener.close();
    throw error;
  }
  const bans = new BanList(store);
  const hub = new Hub({
    maxUsers,
    maxFrame,
    serverName: `sockchat/${VERSION}`,
    store,
    bans,
    historyReplay: options.historyReplay ?? DEFAULT_HISTORY_REPLAY,
    // Half the queue, so a join's replay always leaves room for live traffic.
    replayBudgetBytes: Math.floor(maxQueueBytes / 2),
    password: options.password ?? null,
    operSecret: options.operSecret ?? null,
    audit: (event, fields) => logger.info(event, fields),
    onCommit: (seconds) => metrics.commitSeconds(seconds),
  });
  const maxPendingLogins = options.maxPendingLogins ?? MAX_PENDING_LOGINS;
  const limiter = new ConnLimiter(options.maxConnsPerIp ?? DEFAULT_MAX_CONNS_PER_IP);
  const connections = new Set<Connection>();
  /** Accepted TLS sockets still in their handshake: not yet Connections, but open. */
  const handshaking = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const connectionOptions = {
    hub,
    logger,
    maxFrame,
    maxQueueBytes,
    flood: options.flood === undefined ? {} : options.flood,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    metrics,
  };
  let stopping = false;
  const tlsTimeoutMs = Math.min(TLS_HANDSHAKE_TIMEOUT_MS, connectionOptions.handshakeTimeoutMs);

  if (options.metrics !== undefined) {
    // Totals the server can compute are read at scrape time, so the hot path keeps no gauges.
    options.metrics.connections.sampleWith(() => connections.size + handshaking.size);
    options.metrics.users.sampleWith(() => hub.userCount);
    options.metrics.queueBytes.sampleWith(() => {
      let bytes = 0;
      for (const connection of connections) bytes += connection.queuedBytes;
      return bytes;
    });
  }

  // One timer for every connection's handshake and idle deadlines: no per-message timers.
  const sweepEvery = Math.max(
    10,
    Math.min(
      SWEEP_INTERVAL_MS,
      connectionOptions.handshakeTimeoutMs / 4,
      connectionOptions.idleTimeoutMs / 4,
    ),
  );
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const connection of connections) connection.tick(now);
  }, sweepEvery);

  /** Refuses a connection at the door: one JSON error line (readable on netcat too), then close. */
  const refuse = (conn: Deno.Conn, reason: RejectReason, frame: Outgoing) => {
    metrics.rejected(reason);
    logger.info("refused", { remote: remoteOf(conn), reason });
    const goodbye = async () => {
      await conn.write(frame.ndjson()).catch(() => {});
      closeQuietly(conn);
    };
    if (options.tls === undefined) {
      void goodbye();
      return;
    }
    // Over TLS the goodbye can only go out after a handshake, and a socket closed before its
    // handshake ends stays open anyway (see serverHandshake): track it like any other, but
    // only so many at once, so that refusals cannot pile up without bound.
    if (handshaking.size >= MAX_TLS_REFUSALS_IN_PROGRESS) {
      closeQuietly(conn);
      return;
    }
    handshaking.add(conn);
    const task = serverHandshake(conn as Deno.TlsConn, tlsTimeoutMs)
      .then((result) => (result.ok ? goodbye() : result.released))
      .finally(() => {
        handshaking.delete(conn);
        tasks.delete(task);
      });
    tasks.add(task);
  };

  /** The next connection; on a passing failure (out of file descriptors) it waits and retries. */
  const accepted = async function* (): AsyncGenerator<Deno.Conn> {
    let backoff = ACCEPT_BACKOFF_MIN_MS;
    while (!stopping) {
      try {
        yield await listener.accept();
        backoff = ACCEPT_BACKOFF_MIN_MS;
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) return;
        logger.error("accept_failed", { error: String(error), retry_ms: backoff });
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, ACCEPT_BACKOFF_MAX_MS);
      }
    }
  };

  const acceptLoop = (async () => {
    try {
      for await (const conn of accepted()) {
        if (stopping) {
          metrics.rejected("shutting_down");
          closeQuietly(conn);
          continue;
        }
        const address = (conn.remoteAddr as Deno.NetAddr).hostname;
        const ban = bans.find(null, address, hub.now());
        if (ban !== undefined) {
          refuse(
            conn,
            "banned",
            new Outgoing(errorFrame("banned", "Your address is banned.", { fatal: true })),
          );
          continue;
        }
        // Connections that have not logged in yet cost memory and belong to nobody: cap them
        // server-wide, so that many addresses together cannot hold the door open either.
        if (connections.size - hub.userCount >= maxPendingLogins) {
          refuse(
            conn,
            "too_many_connections",
            new Outgoing(errorFrame(
              "too_many_connections",
              "The server has too many logins in progress; try again in a moment.",
              { fatal: true },
            )),
          );
          continue;
        }
        const lease = limiter.acquire(address);
        if (lease === null) {
          refuse(
            conn,
            "too_many_connections",
            new Outgoing(errorFrame(
              "too_many_connections",
              "Too many connections from your address; close one and try again.",
              { fatal: true },
            )),
          );
          continue;
        }
        // Chat frames are small and latency-sensitive: never wait to coalesce them in the kernel
        // (the outbound queue already coalesces whatever is waiting into one write).
        if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
        logger.debug("connect", { remote: remoteOf(conn) });
        const task = serve(conn, performance.now()).catch((error) => {
          logger.error("connection_failed", { error: String(error) });
        }).finally(() => {
          lease.release();
          tasks.delete(task);
        });
        tasks.add(task);
      }
    } catch (error) {
      if (!stopping) logger.error("accept_failed", { error: String(error) });
    }
    // The listener died on its own: wind down as if asked to.
    if (!stopping) void shutdown();
  })();

  /** Runs one accepted socket to its end: the TLS handshake if any, then the connection. */
  async function serve(conn: Deno.Conn, acceptedAt: number): Promise<void> {
    if (options.tls !== undefined) {
      const remote = remoteOf(conn);
      handshaking.add(conn);
      const result = await serverHandshake(conn as Deno.TlsConn, tlsTimeoutMs);
      if (!result.ok) {
        if (!stopping) {
          metrics.rejected("tls_handshake");
          logger.info("refused", { remote, reason: "tls_handshake", detail: result.reason });
        }
        // A silent peer keeps its socket open even after the deadline (see serverHandshake), so
        // its per-address slot stays taken until the socket is really gone.
        await result.released;
        handshaking.delete(conn);
        return;
      }
      handshaking.delete(conn);
      if (stopping) {
        closeQuietly(conn);
        return;
      }
    }
    const connection = new Connection(conn, connectionOptions, acceptedAt);
    connections.add(connection);
    try {
      await connection.run();
    } finally {
      connections.delete(connection);
    }
  }

  let shutdownPromise: Promise<void> | null = null;
  const { promise: finished, resolve: markFinished } = Promise.withResolvers<void>();
  function shutdown(): Promise<void> {
    return shutdownPromise ??= (async () => {
      stopping = true;
      logger.info("shutdown", { connections: connections.size });
      try {
        listener.close();
      } catch {
        // already closed
      }
      await acceptLoop;
      // Abandon unfinished TLS handshakes (their sockets go with the process, or when the peer
      // next sends or hangs up: Deno cannot abort a server handshake).
      for (const conn of handshaking) closeQuietly(conn);
      hub.shutdown();
      for (const connection of connections) connection.shutdown();
      // Each connection bounds its own flush by SHUTDOWN_GRACE_MS; this is a backstop.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...tasks]),
        new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS * 2))),
      ]);
      clearTimeout(timer);
      clearInterval(sweep);
      store.close();
      markFinished();
    })();
  }

  const addr = listener.addr as Deno.NetAddr;
  logger.info("listening", {
    host: addr.hostname,
    port: addr.port,
    tls: options.tls !== undefined,
  });
  return { addr, hub, connections, shutdown, finished };
}

function remoteOf(conn: Deno.Conn): string {
  const addr = conn.remoteAddr as Deno.NetAddr;
  return `${addr.hostname}:${addr.port}`;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
