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
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HISTORY_REPLAY,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_DB_BYTES,
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
import {
  DEFAULT_HISTORY_READ_BYTES_PER_SECOND,
  DEFAULT_LOGINS_PER_MINUTE,
  DEFAULT_MAX_CONNS_PER_IP,
  HISTORY_READ_BURST_SECONDS,
  TLS_HANDSHAKE_TIMEOUT_MS,
} from "./config/security_limits.ts";
import { AddressBudget } from "./security/address_budget.ts";
import { LogThrottle } from "./log/throttle.ts";
import { Hub, type Verifier } from "./core/hub.ts";
import { BanList } from "./core/moderation.ts";
import { type Logger, silentLogger } from "./log/logger.ts";
import type { RejectReason, SockchatMetrics } from "./metrics/sockchat_metrics.ts";
import { errorFrame } from "./protocol/frames.ts";
import { Outgoing } from "./protocol/outgoing.ts";
import { addressKey, ConnLimiter } from "./security/conn_limiter.ts";
import type { FloodGuardOptions } from "./security/token_bucket.ts";
import { SqliteHistory, type StoreFault, type SyncMode } from "./store/sqlite/history.ts";
import { acceptConnections } from "./transport/tcp/accept_loop.ts";
import { Connection, type ConnectionMetrics } from "./transport/peer.ts";
import { writeAll } from "./transport/outbound_queue.ts";
import { closeQuietly, type Link, remoteOf } from "./transport/link.ts";
import { acceptTls, serverTlsContext } from "./transport/tcp/tls_server.ts";
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
  /**
   * Bytes the history database may use; past it the oldest messages of any room go first.
   * 0: no cap. @default 1073741824 (1 GiB)
   */
  maxDbBytes?: number;
  /**
   * Messages older than this (ms) are deleted, and rooms empty and unused for longer are
   * forgotten. 0: keep them. @default 7776000000 (90 days)
   */
  maxAgeMs?: number;
  /** Test hook: the database behaves as on a full disk, or as read-only. @default none */
  storeFault?: StoreFault;
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
  /** Connections one address may open per minute (bursts of as many); 0 for no limit. @default 30 */
  maxLoginsPerMinute?: number;
  /** Bytes of history one address may read per second (/history, joins, resume). @default 1 MiB */
  historyReadRate?: number;
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
  /** Why the server stopped on its own (not asked to), or null: a reason to exit non-zero. */
  readonly failure: string | null;
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
  // TLS runs over accepted TCP sockets (see transport/tcp/tls_server.ts), so that a handshake that
  // fails or times out gives its socket back. The context explains a key that does not match
  // its certificate (as a TlsError).
  const tlsContext = options.tls === undefined ? null : serverTlsContext(options.tls);
  const listener: Deno.Listener = Deno.listen({ hostname, port });
  let store: SqliteHistory;
  try {
    store = new SqliteHistory({
      path: options.db ?? ":memory:",
      retention: options.retention ?? DEFAULT_RETENTION_PER_ROOM,
      sync: options.sync,
      maxBytes: options.maxDbBytes ?? DEFAULT_MAX_DB_BYTES,
      maxAgeMs: options.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
      // Upkeep runs on a timer, long after `hub` exists.
      roomInUse: (key) => hub.room(key) !== undefined,
      // A side path: its failures are logged and retried, never fatal.
      onUpkeepError: (error) => logger.warn("store_upkeep_failed", { error: error.message }),
      fault: options.storeFault,
    });
  } catch (error) {
    listener.close();
    throw error;
  }
  const bans = new BanList(store.moderation, { mutes: store.moderation });
  const loginsPerMinute = options.maxLoginsPerMinute ?? DEFAULT_LOGINS_PER_MINUTE;
  const logins = loginsPerMinute === 0 ? null : new AddressBudget({
    capacity: loginsPerMinute,
    refillPerSecond: loginsPerMinute / 60,
  });
  const readRate = options.historyReadRate ?? DEFAULT_HISTORY_READ_BYTES_PER_SECOND;
  const historyReads = new AddressBudget({
    capacity: readRate * HISTORY_READ_BURST_SECONDS,
    refillPerSecond: readRate,
  });
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
    historyReads,
  });
  const maxPendingLogins = options.maxPendingLogins ?? MAX_PENDING_LOGINS;
  const limiter = new ConnLimiter(options.maxConnsPerIp ?? DEFAULT_MAX_CONNS_PER_IP);
  const connections = new Set<Connection>();
  /**
   * Accepted TLS sockets still in their handshake: not yet Connections, but open. They count
   * as logins in progress, and each is closed by its handshake deadline at the latest.
   */
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
  /** Set when the server stops on its own, not because it was asked to. */
  let failure: string | null = null;
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
    hub.tick();
  }, sweepEvery);

  /** One address's refusals are logged once per window, with a count of those left out. */
  const refusals = new LogThrottle();
  const logRefusal = (conn: Deno.Conn, fields: Record<string, string>) => {
    const address = (conn.remoteAddr as Deno.NetAddr).hostname;
    const suppressed = refusals.take(addressKey(address), performance.now());
    if (suppressed === null) return;
    logger.info("refused", {
      remote: remoteOf(conn),
      ...fields,
      ...(suppressed > 0 ? { suppressed } : {}),
    });
  };

  /** Refuses a connection at the door: one JSON error line (readable on netcat too), then close. */
  const refuse = (conn: Deno.Conn, reason: RejectReason, frame: Outgoing) => {
    metrics.rejected(reason);
    logRefusal(conn, { reason });
    const goodbye = async (link: Link) => {
      // Half-close after the line, so the peer reads it before EOF (over TLS: close_notify);
      // a peer that reads nothing gets the handshake deadline, then the socket is closed.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        writeAll(link, frame.ndjson()).then(() => link.closeWrite()).catch(() => {}),
        new Promise((resolve) => (timer = setTimeout(resolve, tlsTimeoutMs))),
      ]);
      clearTimeout(timer);
      closeQuietly(link);
    };
    if (tlsContext === null) {
      void goodbye(conn);
      return;
    }
    // Over TLS the goodbye can only go out after a handshake: finish it (within the deadline,
    // which frees the socket either way), but only so many at once.
    if (handshaking.size >= MAX_TLS_REFUSALS_IN_PROGRESS) {
      closeQuietly(conn);
      return;
    }
    handshaking.add(conn);
    const task = acceptTls(conn, tlsContext, tlsTimeoutMs)
      .then((result) => (result.ok ? goodbye(result.link) : undefined))
      .finally(() => {
        handshaking.delete(conn);
        tasks.delete(task);
      });
    tasks.add(task);
  };

  /**
   * Checks one accepted socket at the door and starts serving it, or refuses it. Nothing here
   * may throw past the socket: one peer's trouble must never stop the accept loop.
   */
  const admit = (conn: Deno.Conn) => {
    if (stopping) {
      metrics.rejected("shutting_down");
      closeQuietly(conn);
      return;
    }
    const address = (conn.remoteAddr as Deno.NetAddr).hostname;
    const ban = bans.find(null, address, hub.now());
    if (ban !== undefined) {
      refuse(
        conn,
        "banned",
        new Outgoing(errorFrame("banned", "Your address is banned.", { fatal: true })),
      );
      return;
    }
    // Connections that have not logged in yet (TLS handshakes included) cost memory and belong
    // to nobody: cap them server-wide, so that many addresses together cannot hold the door.
    if (connections.size + handshaking.size - hub.userCount >= maxPendingLogins) {
      refuse(
        conn,
        "too_many_connections",
        new Outgoing(errorFrame(
          "too_many_connections",
          "The server has too many logins in progress; try again in a moment.",
          { fatal: true },
        )),
      );
      return;
    }
    if (logins !== null && !logins.take(address)) {
      refuse(
        conn,
        "too_many_connections",
        new Outgoing(errorFrame(
          "too_many_connections",
          `Too many connections from your address in the last minute; try again in ${
            logins.waitSeconds(address)
          } s.`,
          { fatal: true },
        )),
      );
      return;
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
    const task = serve(conn, performance.now()).catch((error) => {
      logger.error("connection_failed", { error: String(error) });
    }).finally(() => {
      lease.release();
      tasks.delete(task);
    });
    tasks.add(task);
  };

  const acceptLoop = (async () => {
    const loop = acceptConnections(listener, {
      stopping: () => stopping,
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
    // The listener died on its own: wind down, and say so (the process exits non-zero).
    if (!stopping) {
      failure = "the listening socket failed";
      logger.error("listener_failed", {});
      void shutdown();
    }
  })();

  /** Runs one accepted socket to its end: the TLS handshake if any, then the connection. */
  async function serve(conn: Deno.Conn, acceptedAt: number): Promise<void> {
    let link: Link = conn;
    if (tlsContext !== null) {
      handshaking.add(conn);
      const result = await acceptTls(conn, tlsContext, tlsTimeoutMs);
      handshaking.delete(conn);
      if (!result.ok) {
        if (!stopping) {
          metrics.rejected("tls_handshake");
          logRefusal(conn, { reason: "tls_handshake", detail: result.reason });
        }
        return;
      }
      link = result.link;
      if (stopping) {
        closeQuietly(link);
        return;
      }
    }
    const connection = new Connection(link, connectionOptions, acceptedAt);
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
      // Abandon unfinished TLS handshakes: closing the socket aborts them.
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
      try {
        store.close();
      } catch (error) {
        logger.error("store_close_failed", { error: String(error) });
      }
      markFinished();
    })();
  }

  const addr = listener.addr as Deno.NetAddr;
  logger.info("listening", {
    host: addr.hostname,
    port: addr.port,
    tls: options.tls !== undefined,
  });
  return {
    addr,
    hub,
    connections,
    shutdown,
    finished,
    get failure() {
      return failure;
    },
  };
}
