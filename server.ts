/**
 * The sockchat server, assembled: settings resolved once, then the store, the chat core (one
 * {@linkcode Hub}), the {@linkcode Door} every front end shares, and each listener. A listener
 * turns accepted sockets into links; each link becomes a {@linkcode Peer} with the session its
 * front end opens. Adding a front end is one listener here. In cluster mode (`cluster`, from
 * `serve --redis`) the store, the record tables and the bus are the node's Redis engine, which
 * is fed the hub before anyone can connect.
 *
 * @module
 */

import { SHUTDOWN_GRACE_MS, SWEEP_INTERVAL_MS } from "./config/limits.ts";
import {
  WEB_CONNECTION_LIFETIME_MS,
  WEB_KEEP_ALIVE_MS,
  WEB_REQUEST_HEAD_TIMEOUT_MS,
} from "./config/web_limits.ts";
import {
  resolveServerConfig,
  type ServerConfig,
  type ServerOptions,
  type TlsFiles,
} from "./config/server_config.ts";
import { Hub } from "./core/hub.ts";
import type { AccountStore, HistoryStore } from "./core/ports.ts";
import type { ClaimStore } from "./core/room_claims.ts";
import type { ClusterBus } from "./core/cluster.ts";
import type { ClusterNode } from "./cluster/node.ts";
import { roomKey } from "./core/room.ts";
import { BanList } from "./core/moderation.ts";
import { sharedCounter } from "./core/lockout.ts";
import type { RejectReason, SockchatMetrics } from "./metrics/sockchat_metrics.ts";
import { NDJSON } from "./protocol/ndjson/encode.ts";
import { AddressBudget } from "./security/address_budget.ts";
import { ScryptHasher } from "./security/password_hash.ts";
import { HISTORY_READ_BURST_SECONDS } from "./config/security_limits.ts";
import { CLUSTER_CLOSE_MS } from "./config/cluster_limits.ts";
import { ThreadedHistory } from "./store/sqlite/threaded.ts";
import { exposeGc, IdleCollector } from "./runtime/idle_gc.ts";
import { Door } from "./transport/door.ts";
import type { Link } from "./transport/link.ts";
import { Peer, type PeerMetrics, type PeerOptions, type SessionOpener } from "./transport/peer.ts";
import { TcpListener } from "./transport/tcp/listener.ts";
import { ListenError, type ListenTarget } from "./transport/listen_error.ts";
import { WebListener } from "./transport/ws/listener.ts";
import { ndjsonOpener } from "./transport/ndjson_opener.ts";
import { type IrcListeners, listenIrc } from "./transport/irc/front_end.ts";
import type { KeyProof } from "./core/identity.ts";
import { sniffSession } from "./transport/tcp/sniff.ts";
import { ProxyGate } from "./transport/proxy_protocol.ts";
import { serverTlsContext } from "./transport/tcp/tls_server.ts";
import { VERSION } from "./version.ts";

export type { ServerOptions, TlsFiles };

/** Every count the server keeps, for `--metrics-port`. All methods must be cheap. */
export interface ServerMetrics extends PeerMetrics {
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

/** A front end's listener, as the server runs it (TCP, SSH). */
interface FrontEndListener {
  /** The address bound. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the accept loop has ended. */
  readonly done: Promise<void>;
  /** Why it stopped on its own, or null. */
  readonly failure: string | null;
  /** Connections accepted that count as logins in progress before they have a peer. */
  readonly handshaking: number;
  /** Stops accepting. */
  close(): void;
  /** Resolves once every connection it accepted has ended. */
  drained(): Promise<void>;
}

/** The address each listener actually bound (useful with port 0). */
export interface ServerAddresses {
  /** The native port: NDJSON and plain text (netcat), with TLS when configured. */
  native: Deno.NetAddr;
  /** The SSH front end, when `ssh` is set. */
  ssh?: Deno.NetAddr;
  /** The web front end (page and `/ws`), when `web` is set. */
  web?: Deno.NetAddr;
  /**
   * The web front end's private HTTP server on 127.0.0.1, when `web` is set: it answers only
   * the connections the web port pipes to it (anyone else gets 403).
   */
  webPrivate?: Deno.NetAddr;
  /** The IRC port (`--irc-port`), when set. */
  irc?: Deno.NetAddr;
  /** The IRC-over-TLS port (`--irc-tls-port`), when set. */
  ircTls?: Deno.NetAddr;
}

/** A running server. */
export interface ChatServer {
  /** The native listener's address (the same as `addresses.native`). */
  readonly addr: Deno.NetAddr;
  /** Every listener's address. */
  readonly addresses: ServerAddresses;
  /** The chat core, for inspection in tests. */
  readonly hub: Hub;
  /** Peers currently open, logged in or not. */
  readonly connections: ReadonlySet<Peer>;
  /** Stops accepting, says goodbye to everyone, and resolves once every connection has closed. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /**
   * Resolves once the server takes part fully: at once on its own; in cluster mode once the
   * log reader runs (or failed, setting {@linkcode ChatServer.failure}).
   */
  readonly ready: Promise<void>;
  /** Why the server stopped on its own (not asked to), or null: a reason to exit non-zero. */
  readonly failure: string | null;
}

/**
 * The core's audit events that say something is wrong with the server's own data or clock, not
 * what a user did: logged at warn, so an operator filtering on warnings sees them. A stored
 * message ts far ahead of the clock (core/relay.ts) means the clock was wrong when it was
 * stored, or is now.
 */
const WARN_AUDIT_EVENTS: ReadonlySet<string> = new Set(["stored_ts_in_future"]);

/**
 * Starts a server and returns at once; connections are served in the background. A port that
 * cannot be bound throws a {@linkcode ListenError} naming its listener.
 *
 * @example
 * ```ts
 * const server = startServer({ port: 0 });
 * console.log(server.addresses.native.port);
 * await server.shutdown();
 * ```
 */
export function startServer(options: ServerOptions = {}): ChatServer {
  const config = resolveServerConfig(options);
  const { logger } = config;
  const metrics = config.metrics === undefined ? NO_METRICS : countInto(config.metrics);
  // The context explains a key that does not match its certificate (as a TlsError), before
  // anything is bound.
  const tlsContext = config.tls === undefined ? null : serverTlsContext(config.tls);
  const backend = openBackend(
    config,
    () => Array.from(hub.rooms, (room) => roomKey(room.name)),
  );
  const store = backend.store;
  const hub = new Hub({
    maxUsers: config.maxUsers,
    maxFrame: config.maxFrame,
    serverName: `sockchat/${VERSION}`,
    store,
    bans: backend.bans,
    historyReplay: config.historyReplay,
    replayBudgetBytes: config.replayBudgetBytes,
    password: config.password,
    operSecret: config.operSecret,
    motd: config.motd,
    audit: (event, fields) =>
      WARN_AUDIT_EVENTS.has(event) ? logger.warn(event, fields) : logger.info(event, fields),
    onCommit: (seconds) => metrics.commitSeconds(seconds),
    historyReads: new AddressBudget({
      capacity: config.historyReadRate * HISTORY_READ_BURST_SECONDS,
      refillPerSecond: config.historyReadRate,
    }),
    // Replay budgets count NDJSON bytes (and the encoding is kept for NDJSON peers).
    frameBytes: (out) => out.encode(NDJSON).length,
    // Registered nicks live in the same file, on the server thread's connection (or in Redis).
    accounts: backend.accounts,
    // Claimed rooms (/register #room) too.
    claims: backend.claims,
    cluster: backend.cluster,
    hasher: new ScryptHasher(),
    operKeys: config.operKeys,
    requireAccount: config.requireAccount,
    guestsRead: config.guestsRead,
  });
  const peers = new Set<Peer>();
  const listeners: FrontEndListener[] = [];
  const handshaking = () => listeners.reduce((n, l) => n + l.handshaking, 0);
  const door = new Door({
    hub,
    logger,
    maxConnsPerIp: config.maxConnsPerIp,
    maxLoginsPerMinute: config.maxLoginsPerMinute,
    maxPendingLogins: config.maxPendingLogins,
    pendingLogins: () => peers.size + handshaking() - hub.localUserCount,
    rejected: (reason) => metrics.rejected(reason),
    sharedLogins: backend.sharedLogins,
  });
  const peerOptions: PeerOptions = {
    hub,
    logger,
    maxFrame: config.maxFrame,
    maxQueueBytes: config.maxQueueBytes,
    flood: config.flood,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    metrics,
  };
  let stopping = false;
  // Behind a balancer (--proxy-from), every TCP listener reads its PROXY header first.
  const proxy = config.proxyFrom === undefined
    ? null
    : new ProxyGate({ sources: config.proxyFrom, timeoutMs: config.handshakeTimeoutMs }, logger);

  /** Serves one link from any front end to its end (no suspended function of its own). */
  const serve = (
    link: Link,
    acceptedAt: number,
    open: SessionOpener,
    key?: KeyProof,
  ): Promise<void> => {
    const peer = new Peer(link, peerOptions, open, acceptedAt, key === undefined ? {} : { key });
    peers.add(peer);
    return peer.run().finally(() => peers.delete(peer));
  };

  let webListener: WebListener | undefined;
  let ircListeners: IrcListeners = {};
  // The listener being bound: a failure names it, so the operator knows which port to move.
  let binding: ListenTarget = { listener: "native", hostname: config.host, port: config.port };
  try {
    listeners.push(
      new TcpListener({
        hostname: config.host,
        port: config.port,
        tls: tlsContext,
        tlsTimeoutMs: config.tlsTimeoutMs,
        door,
        logger,
        stopping: () => stopping,
        serve: (link, acceptedAt) => serve(link, acceptedAt, sniffSession),
        proxy,
      }),
    );
    if (config.ssh !== undefined) {
      binding = { listener: "ssh", hostname: config.ssh.host, port: config.ssh.port };
      // The SSH front end hosts the terminal client for each user, over an in-process link.
      listeners.push(
        config.ssh.listen({
          hostname: config.ssh.host,
          port: config.ssh.port,
          hostKey: config.ssh.hostKey,
          door,
          logger,
          handshakeTimeoutMs: config.handshakeTimeoutMs,
          stopping: () => stopping,
          account: (nick) => hub.account(nick),
          needsPassword: () => hub.needsPassword,
          requireAccount: config.requireAccount,
          serve,
          proxy,
        }),
      );
    }
    if (config.web !== undefined) {
      binding = { listener: "web", hostname: config.web.host, port: config.web.port };
      // The browser's page and its WebSocket: NDJSON, one frame per text message.
      webListener = new WebListener({
        hostname: config.web.host,
        port: config.web.port,
        tls: tlsContext,
        tlsTimeoutMs: config.tlsTimeoutMs,
        // Each step before a login is bounded by --handshake-timeout too (short in tests).
        headTimeoutMs: Math.min(WEB_REQUEST_HEAD_TIMEOUT_MS, config.handshakeTimeoutMs),
        keepAliveMs: Math.min(WEB_KEEP_ALIVE_MS, config.handshakeTimeoutMs),
        lifetimeMs: Math.min(WEB_CONNECTION_LIFETIME_MS, config.handshakeTimeoutMs),
        origins: config.web.origins,
        maxFrame: config.maxFrame,
        door,
        logger,
        stopping: () => stopping,
        serve: (link, acceptedAt) => serve(link, acceptedAt, ndjsonOpener),
        proxy,
      });
      listeners.push(webListener);
    }
    if (config.irc !== undefined) {
      const irc = config.irc;
      binding = { listener: "irc", hostname: irc.host, port: irc.port ?? irc.tlsPort ?? 0 };
      const bound = listenIrc({
        host: irc.host,
        port: irc.port,
        tlsPort: irc.tlsPort,
        tls: tlsContext,
        tlsTimeoutMs: config.tlsTimeoutMs,
        info: {
          serverName: irc.serverName,
          version: `sockchat-${VERSION}`,
          startedAt: hub.startedAt,
          motd: config.motd,
        },
        maxFrame: config.maxFrame,
        accounts: true,
        door,
        logger,
        stopping: () => stopping,
        serve,
        proxy,
      }, (which, listener) => {
        listeners.push(listener);
        if (which === "irc") {
          binding = { listener: "irc-tls", hostname: irc.host, port: irc.tlsPort ?? 0 };
        }
      });
      ircListeners = bound;
    }
  } catch (error) {
    // The SSH port may be the one in use: the native listener is already bound.
    for (const listener of listeners) listener.close();
    void backend.close();
    throw new ListenError(binding, error);
  }
  const native = listeners[0];
  const ssh = config.ssh === undefined ? undefined : listeners[1];
  const addresses: ServerAddresses = { native: native.addr };
  if (ssh !== undefined) addresses.ssh = ssh.addr;
  if (webListener !== undefined) {
    addresses.web = webListener.addr;
    addresses.webPrivate = webListener.privateAddr;
  }
  if (ircListeners.plain !== undefined) addresses.irc = ircListeners.plain.addr;
  if (ircListeners.tls !== undefined) addresses.ircTls = ircListeners.tls.addr;

  if (config.metrics !== undefined) {
    // Totals the server can compute are read at scrape time, so the hot path keeps no gauges.
    config.metrics.connections.sampleWith(() => peers.size + handshaking());
    config.metrics.users.sampleWith(() => hub.localUserCount);
    config.metrics.queueBytes.sampleWith(() => {
      let bytes = 0;
      for (const peer of peers) bytes += peer.queuedBytes;
      return bytes;
    });
  }

  // One timer for every peer's handshake and idle deadlines and the hub's held presence.
  const sweepEvery = Math.max(
    10,
    Math.min(SWEEP_INTERVAL_MS, config.handshakeTimeoutMs / 4, config.idleTimeoutMs / 4),
  );
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const peer of peers) peer.tick(now);
    hub.tick();
  }, sweepEvery);

  // Memory a burst (a login storm) left behind is given back once the server is quiet.
  const gc = exposeGc();
  const collector = new IdleCollector({
    collect: gc === null ? undefined : () => {
      gc();
      backend.collectGarbage();
    },
    onCollect: (before, after, pauseMs) =>
      logger.info("idle_gc", {
        heapBeforeMiB: Math.round(before / 2 ** 20),
        heapAfterMiB: Math.round(after / 2 ** 20),
        pauseMs: Math.round(pauseMs),
      }),
  });
  collector.start();

  let failure: string | null = null;
  // A listener that dies on its own winds the server down, and says why (exit 1).
  for (const listener of listeners) {
    void listener.done.then(() => {
      if (stopping || listener.failure === null) return;
      failure = listener.failure;
      logger.error("listener_failed", { error: failure });
      void shutdown();
    });
  }

  let shutdownPromise: Promise<void> | null = null;
  const { promise: finished, resolve: markFinished } = Promise.withResolvers<void>();
  function shutdown(): Promise<void> {
    return shutdownPromise ??= (async () => {
      stopping = true;
      logger.info("shutdown", { connections: peers.size });
      for (const listener of listeners) listener.close();
      await Promise.all(listeners.map((l) => l.done));
      hub.shutdown();
      for (const peer of peers) peer.shutdown();
      // Each peer bounds its own flush by SHUTDOWN_GRACE_MS; this is a backstop.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(listeners.map((l) => l.drained())),
        new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS * 2))),
      ]);
      clearTimeout(timer);
      clearInterval(sweep);
      collector.stop();
      try {
        // In cluster mode: the log reader stops, the node leaves (its nicks are released,
        // its lease deleted), then Redis is closed.
        await backend.close();
      } catch (error) {
        logger.error("store_close_failed", { error: String(error) });
      }
      markFinished();
    })();
  }

  logger.info("listening", {
    host: native.addr.hostname,
    port: native.addr.port,
    tls: tlsContext !== null,
  });
  if (config.proxyFrom !== undefined) {
    logger.info("proxy_protocol", { from: config.proxyFrom.text });
  }
  if (ssh !== undefined) {
    logger.info("ssh_listening", { host: ssh.addr.hostname, port: ssh.addr.port });
  }
  if (webListener !== undefined) {
    const { hostname, port } = webListener.addr;
    logger.info("web_listening", { host: hostname, port, tls: tlsContext !== null });
  }
  for (const [addr, tls] of [[addresses.irc, false], [addresses.ircTls, true]] as const) {
    if (addr !== undefined) {
      logger.info("irc_listening", { host: addr.hostname, port: addr.port, tls });
    }
  }
  // The log reader starts after the listeners are bound but feeds the hub from where the
  // history opened, so nothing committed meanwhile is missed; `ready` says it runs.
  const ready = backend.start(hub).catch((error) => {
    failure = `the cluster could not start: ${(error as Error).message}`;
    logger.error("cluster_failed", { error: String((error as Error).message) });
    void shutdown();
  });
  return {
    addr: native.addr,
    addresses,
    hub,
    connections: peers,
    shutdown,
    finished,
    ready,
    get failure() {
      return failure;
    },
  };
}

/** Where history and records live, and what links the hub to other nodes, if anything. */
interface Backend {
  /** The history store. */
  store: HistoryStore;
  /** Bans and mutes, over the store's tables. */
  bans: BanList;
  /** Registered nicks. */
  accounts: AccountStore;
  /** Claimed rooms. */
  claims: ClaimStore;
  /** The cluster bus, in cluster mode. */
  cluster?: ClusterBus;
  /** Counts a login from an address on every node (cluster mode: the door's shared rate). */
  sharedLogins?: (address: string) => Promise<number>;
  /** Starts feeding the hub (cluster mode: the log, direct messages, rejoins). */
  start(hub: Hub): Promise<void>;
  /** Gives memory back when the server is quiet. */
  collectGarbage(): void;
  /** Closes the store (in cluster mode: leaves the cluster first). */
  close(): Promise<void>;
}

/**
 * SQLite on its own thread, or (cluster mode) the node's Redis engine; `roomsInUse` tells the
 * SQLite upkeep which rooms are live.
 */
function openBackend(config: ServerConfig, roomsInUse: () => Iterable<string>): Backend {
  const engine = config.cluster;
  if (engine !== undefined) return clusterBackend(engine, config);
  const store = openStore(config, roomsInUse);
  return {
    store,
    bans: new BanList(store.moderation, { mutes: store.moderation }),
    accounts: store,
    claims: store,
    start: () => Promise.resolve(),
    collectGarbage: () => store.collectGarbage(),
    close: () => store.close(),
  };
}

/** The node's Redis engine as the server's backend. */
function clusterBackend(engine: ClusterNode, config: ServerConfig): Backend {
  const { logger } = config;
  const counter = sharedCounter();
  return {
    store: engine.history,
    bans: new BanList(engine.tables.moderation, { mutes: engine.tables.moderation }),
    accounts: engine.tables,
    claims: engine.tables,
    cluster: engine.bus,
    // The sliding window on Redis's clock (cluster/shared_counter.ts): main.ts shares the
    // counter before it starts the server; without one, only this node's own rate holds.
    sharedLogins: counter === null ? undefined : (address) => counter.loginRate(address),
    start: (hub) =>
      engine.start({
        committed: (batch) => hub.committed(batch),
        applyRemote: (envelope) => hub.applyRemote(envelope),
        applyDirect: (key, frame) => hub.applyDirect(key, frame),
        rejoin: (taken) => hub.rejoinCluster(taken),
        logGap: (gap) => {
          logger.warn("cluster_log_gap", {
            reason: gap.reason,
            ...(gap.reason === "trimmed" ? { missed: gap.missed } : {}),
          });
          // Their rooms' live messages in the hole never reached this node's users.
          return hub.logGap();
        },
      }),
    collectGarbage: () => {},
    // ClusterNode.close bounds itself (CLUSTER_CLOSE_MS); this backstop keeps a shutdown finite
    // whatever Redis does.
    close: async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        engine.close(),
        new Promise<void>((resolve) => timer = setTimeout(resolve, CLUSTER_CLOSE_MS * 2)),
      ]);
      clearTimeout(timer);
    },
  };
}

/**
 * The history store the settings ask for, on its own thread; `roomsInUse` tells its upkeep which
 * rooms are live.
 */
function openStore(
  config: ServerConfig,
  roomsInUse: () => Iterable<string>,
): ThreadedHistory {
  const { logger } = config;
  return new ThreadedHistory({
    path: config.db,
    retention: config.retention,
    sync: config.sync,
    maxBytes: config.maxDbBytes,
    maxAgeMs: config.maxAgeMs,
    // Upkeep runs on a timer, long after the hub exists.
    roomsInUse,
    // A side path: its failures are logged and retried, never fatal.
    onUpkeepError: (error) => logger.warn("store_upkeep_failed", { error: error.message }),
    fault: config.storeFault,
  });
}
