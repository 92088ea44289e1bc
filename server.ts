/**
 * The sockchat server: accepts TCP connections with `Deno.listen` and runs each as its own task
 * against one shared {@linkcode Hub}.
 *
 * @module
 */

import {
  DEFAULT_HISTORY_REPLAY,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_MAX_USERS,
  DEFAULT_PORT,
  DEFAULT_RETENTION_PER_ROOM,
  DEFAULT_SERVE_HOST,
  SHUTDOWN_GRACE_MS,
} from "./config/limits.ts";
import { Hub } from "./core/hub.ts";
import { SqliteHistory, type SyncMode } from "./store/sqlite_history.ts";
import { type Logger, silentLogger } from "./log/logger.ts";
import { Connection } from "./transport/connection.ts";
import { VERSION } from "./version.ts";

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
  const logger = options.logger ?? silentLogger;
  const listener = Deno.listen({
    hostname: options.host ?? DEFAULT_SERVE_HOST,
    port: options.port ?? DEFAULT_PORT,
  });
  const maxQueueBytes = options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
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
  const hub = new Hub({
    maxUsers,
    maxFrame,
    serverName: `sockchat/${VERSION}`,
    store,
    historyReplay: options.historyReplay ?? DEFAULT_HISTORY_REPLAY,
    // Half the queue, so a join's replay always leaves room for live traffic.
    replayBudgetBytes: Math.floor(maxQueueBytes / 2),
  });
  const connections = new Set<Connection>();
  const tasks = new Set<Promise<void>>();
  const connectionOptions = {
    hub,
    logger,
    maxFrame,
    maxQueueBytes,
  };
  let stopping = false;

  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) {
        if (stopping) {
          closeQuietly(conn);
          continue;
        }
        // Chat frames are small and latency-sensitive: never wait to coalesce them in the kernel
        // (the outbound queue already coalesces whatever is waiting into one write).
        conn.setNoDelay(true);
        const connection = new Connection(conn, connectionOptions);
        connections.add(connection);
        const task = connection.run().catch((error) => {
          logger.error("connection_failed", { error: String(error) });
        }).finally(() => {
          connections.delete(connection);
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
      hub.shutdown();
      for (const connection of connections) connection.shutdown();
      // Each connection bounds its own flush by SHUTDOWN_GRACE_MS; this is a backstop.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...tasks]),
        new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS * 2))),
      ]);
      clearTimeout(timer);
      store.close();
      markFinished();
    })();
  }

  const addr = listener.addr as Deno.NetAddr;
  logger.info("listening", { host: addr.hostname, port: addr.port });
  return {
    addr,
    hub,
    connections,
    shutdown,
    finished,
  };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

export { DEFAULT_PORT, DEFAULT_SERVE_HOST };
