/**
 * The server's settings, resolved once: {@linkcode ServerOptions} is what a caller (the CLI, a
 * test) may give, every field optional; {@linkcode resolveServerConfig} fills in every default,
 * in this one place, and returns the {@linkcode ServerConfig} the server is built from.
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
  MOTD_MAX_BYTES,
} from "./limits.ts";
import {
  DEFAULT_HISTORY_READ_BYTES_PER_SECOND,
  DEFAULT_LOGINS_PER_MINUTE,
  DEFAULT_MAX_CONNS_PER_IP,
  TLS_HANDSHAKE_TIMEOUT_MS,
} from "./security_limits.ts";
import type { Verifier } from "../core/moderator.ts";
import type { listenSsh } from "../transport/ssh/front_end.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import type { SockchatMetrics } from "../metrics/sockchat_metrics.ts";
import type { FloodGuardOptions } from "../security/token_bucket.ts";
import type { StoreFault, SyncMode } from "../store/sqlite/history.ts";
import { sanitizeMessageText } from "../security/unicode.ts";
import type { ProxySources } from "../transport/proxy_protocol.ts";
import type { ClusterNode } from "../cluster/node.ts";

/** The environment variable `--redis` falls back to (a URL with a password stays out of `ps`). */
export const REDIS_URL_ENV = "SOCKCHAT_REDIS_URL";

/**
 * Longest `--node-id`: the id is part of Redis keys (`sc:node:<id>`), the direct-message channel
 * name and every log line about the node, so it stays a short token.
 */
export const NODE_ID_MAX_LENGTH = 32;

/**
 * What a node id is made of: letters, digits, `.`, `_` and `-` (so `1` and `chat-eu-1` both
 * are ids); nothing that could split a Redis key or a log field.
 */
export const NODE_ID_PATTERN: RegExp = /^[A-Za-z0-9._-]+$/;

/** PEM certificate chain and key for serving TLS. */
export interface TlsFiles {
  /** PEM certificate chain file. */
  cert: string;
  /** PEM private key file for `cert`. */
  key: string;
}

/** Settings for {@linkcode startServer}; every field has a documented default. */
export interface ServerOptions {
  /** Address to listen on. @default "0.0.0.0" */
  host?: string;
  /** 0 picks a free port. @default 7342 */
  port?: number;
  /** Users logged in at once; more get server_full. @default 1000 */
  maxUsers?: number;
  /** Longest frame a client may send, in bytes. @default 65536 */
  maxFrame?: number;
  /** Bytes a client may fall behind before it is dropped as too slow. @default 524288 */
  maxQueueBytes?: number;
  /** Where the server reports what it does. @default a logger that writes nothing */
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
  /** Test hook: the database behaves as on a full disk, as read-only, or as a stalled disk. @default none */
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
  /** Connections must log in within this many ms. @default 30000 */
  handshakeTimeoutMs?: number;
  /**
   * Silent NDJSON clients are pinged at half of this and dropped after all of it.
   * @default 120000
   */
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
  /**
   * The message of the day, shown to each user after the welcome and with /motd (see
   * {@linkcode loadMotd}). @default "" (none)
   */
  motd?: string;
  /**
   * Fingerprints (`SHA256:...`) of keys that are operators as soon as a login proves one
   * (`--oper-keys`). @default none
   */
  operKeys?: ReadonlySet<string>;
  /** Only registered, proven identities may talk; guests may only register. @default false */
  requireAccount?: boolean;
  /** With `requireAccount`: guests are still put in rooms and read them. @default false */
  guestsRead?: boolean;
  /**
   * The SSH front end: where to listen and the host key (OpenSSH private key text).
   * @default off
   */
  ssh?: {
    host: string;
    port: number;
    hostKey: string;
    /**
     * `listenSsh` from `transport/ssh/front_end.ts`, which the caller imports (main.ts only
     * when `--ssh-port` is given, so that a server without SSH never loads its library).
     */
    listen: typeof listenSsh;
  };
  /**
   * The web front end (`--web-port`): the page and its WebSocket endpoint `/ws`, over https and
   * wss when `tls` is set. @default off
   */
  web?: {
    host: string;
    port: number;
    /** Origins whose pages may open `/ws`; empty: only the page's own. */
    origins: readonly string[];
  };
  /**
   * The IRC front end (`--irc-port`, `--irc-tls-port`): IRC clients on their own port(s), plain
   * and/or over TLS with `tls`. @default off
   */
  irc?: IrcFrontEnd;
  /**
   * `--proxy-from`: connections from these addresses, on every TCP listener, must start with a
   * PROXY v1 or v2 header (read within the handshake timeout) naming the real client, which the
   * door then sees. @default off: every connection is its own client
   */
  proxyFrom?: ProxySources;
  /**
   * Cluster mode (`--redis`): the node's Redis engine, already connected
   * ({@linkcode ClusterNode.open}). Its history replaces the SQLite store (`db`, `sync`,
   * `maxDbBytes` are then unused), its tables hold bans, mutes, accounts and room claims, its
   * bus links the hub to the other nodes; the server feeds it the hub and closes it on
   * shutdown. @default none: one server on its own
   */
  cluster?: ClusterNode;
}

/** Where the IRC front end listens, and the name it goes by. */
export interface IrcFrontEnd {
  /** Address for both IRC ports. */
  host: string;
  /** Plain IRC on this port (0: any free one); absent: none. */
  port?: number;
  /** IRC over TLS on this port, with the server's `tls` files; absent: none. */
  tlsPort?: number;
  /** The server name IRC clients see (`--server-name`). */
  serverName: string;
}

/** The settings `serve` has a flag for, so their defaults are shared with its parser and help. */
export type FlagDefaults = Readonly<
  Required<
    Pick<
      ServerOptions,
      | "host"
      | "port"
      | "maxUsers"
      | "maxFrame"
      | "maxQueueBytes"
      | "historyReplay"
      | "retention"
      | "maxDbBytes"
      | "maxAgeMs"
      | "maxConnsPerIp"
      | "maxLoginsPerMinute"
      | "historyReadRate"
      | "handshakeTimeoutMs"
      | "idleTimeoutMs"
    >
  >
>;

/**
 * The defaults a flag can override, in one place: {@linkcode resolveServerConfig} applies them,
 * and `serve`'s parser and help text read them, so the three cannot drift apart.
 */
export const SERVER_DEFAULTS: FlagDefaults = Object.freeze({
  host: DEFAULT_SERVE_HOST,
  port: DEFAULT_PORT,
  maxUsers: DEFAULT_MAX_USERS,
  maxFrame: DEFAULT_MAX_FRAME_BYTES,
  maxQueueBytes: DEFAULT_MAX_QUEUE_BYTES,
  historyReplay: DEFAULT_HISTORY_REPLAY,
  retention: DEFAULT_RETENTION_PER_ROOM,
  maxDbBytes: DEFAULT_MAX_DB_BYTES,
  maxAgeMs: DEFAULT_MAX_AGE_MS,
  maxConnsPerIp: DEFAULT_MAX_CONNS_PER_IP,
  maxLoginsPerMinute: DEFAULT_LOGINS_PER_MINUTE,
  historyReadRate: DEFAULT_HISTORY_READ_BYTES_PER_SECOND,
  handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
});

/** Every setting, with its default applied. */
export type ServerConfig =
  & Required<
    Omit<
      ServerOptions,
      "tls" | "metrics" | "storeFault" | "ssh" | "web" | "irc" | "proxyFrom" | "cluster"
    >
  >
  & Pick<
    ServerOptions,
    "tls" | "metrics" | "storeFault" | "ssh" | "web" | "irc" | "proxyFrom" | "cluster"
  >
  & {
    /** How long a TLS handshake (and a refusal's goodbye) may take. */
    tlsTimeoutMs: number;
    /** Bytes of history one login's (or one join's) replay may queue: half the queue. */
    replayBudgetBytes: number;
  };

/**
 * Fills in every default. An option given as `undefined` takes its default too.
 *
 * @example
 * ```ts
 * const config = resolveServerConfig({ port: 0 });
 * config.maxUsers; // 1000
 * ```
 */
export function resolveServerConfig(options: ServerOptions = {}): ServerConfig {
  const given = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as ServerOptions;
  const handshakeTimeoutMs = given.handshakeTimeoutMs ?? SERVER_DEFAULTS.handshakeTimeoutMs;
  const maxQueueBytes = given.maxQueueBytes ?? SERVER_DEFAULTS.maxQueueBytes;
  return {
    ...SERVER_DEFAULTS,
    logger: silentLogger,
    db: ":memory:",
    sync: "normal",
    password: null,
    operSecret: null,
    flood: {},
    maxPendingLogins: MAX_PENDING_LOGINS,
    motd: "",
    operKeys: new Set<string>(),
    requireAccount: false,
    guestsRead: false,
    ...given,
    handshakeTimeoutMs,
    maxQueueBytes,
    tlsTimeoutMs: Math.min(TLS_HANDSHAKE_TIMEOUT_MS, handshakeTimeoutMs),
    // Half the queue, so a join's replay always leaves room for live traffic.
    replayBudgetBytes: Math.floor(maxQueueBytes / 2),
  };
}

/** The message of the day could not be used. The message is one sentence for the operator. */
export class MotdError extends Error {
  /** Names the error in logs and stack traces. */
  override name = "MotdError";
}

/**
 * Reads `--motd-file` once, at start: UTF-8 text of at most {@linkcode MOTD_MAX_BYTES} bytes,
 * cleaned as messages are (no control characters or bidi overrides reach a terminal), without
 * trailing blank lines. Never reads more than the cap plus one byte, so a wrong path such as
 * /dev/zero cannot fill memory. Throws {@linkcode MotdError}.
 *
 * @example
 * ```ts
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "Be kind.\n");
 * await loadMotd(path); // "Be kind."
 * ```
 */
export async function loadMotd(path: string): Promise<string> {
  const bytes = new Uint8Array(MOTD_MAX_BYTES + 1);
  let length = 0;
  try {
    using file = await Deno.open(path, { read: true });
    if (!(await file.stat()).isFile) throw new MotdError(`--motd-file ${path} is not a file.`);
    while (length < bytes.length) {
      const n = await file.read(bytes.subarray(length));
      if (n === null) break;
      length += n;
    }
  } catch (error) {
    if (error instanceof MotdError) throw error;
    throw new MotdError(`cannot read --motd-file ${path}: ${(error as Error).message}.`);
  }
  if (length > MOTD_MAX_BYTES) {
    throw new MotdError(
      `--motd-file ${path} is larger than ${MOTD_MAX_BYTES} bytes; a message of the day is ` +
        "sent to every user at login, so keep it short.",
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, length));
  } catch {
    throw new MotdError(`--motd-file ${path} is not UTF-8 text.`);
  }
  return sanitizeMessageText(text).trimEnd();
}
