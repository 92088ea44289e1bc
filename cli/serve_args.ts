/**
 * Parses `sockchat serve` arguments into server options.
 *
 * @module
 */

import {
  MAX_HISTORY_REQUEST,
  MAX_MAX_DB_BYTES,
  MAX_MAX_FRAME_BYTES,
  MIN_MAX_AGE_MS,
  MIN_MAX_DB_BYTES,
  MIN_MAX_FRAME_BYTES,
} from "../config/limits.ts";
import { parseDuration } from "../core/moderation.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "../log/logger.ts";
import { parseIntFlag } from "./parse_number.ts";
import {
  DEFAULT_METRICS_HOST,
  FLOOD_BYTES_PER_SECOND,
  FLOOD_MESSAGES_PER_SECOND,
  MIN_HISTORY_READ_BYTES_PER_SECOND,
} from "../config/security_limits.ts";
import { parseFlags, valueFlags } from "./parse_strict.ts";
import { UsageError } from "./usage.ts";
import { SERVER_DEFAULTS } from "../config/server_config.ts";
import { IRC_SERVER_NAME_MAX_BYTES } from "../config/irc_limits.ts";
import { ProxySourceError, ProxySources } from "../transport/proxy_protocol.ts";
import { parseNodeId, parseRedisFlag, randomNodeId, type RedisTarget } from "./cluster_args.ts";

const HINT = "sockchat serve --help";

/** Everything `serve` was asked to do. */
export interface ServeArgs {
  /** `-h` or `--help`: print the help and run nothing. */
  help: boolean;
  /** `--host`: address to listen on. */
  host: string;
  /** `--port`: TCP port, 0 for any free one. */
  port: number;
  /** `--max-users`: users connected at once. */
  maxUsers: number;
  /** `--max-frame`: longest frame a client may send, in bytes. */
  maxFrame: number;
  /** `--max-queue`: bytes a client may fall behind before it is dropped as too slow. */
  maxQueueBytes: number;
  /** `--log-level`: least severe level written. */
  logLevel: LogLevel;
  /** `--log-format`: text or json. */
  logFormat: LogFormat;
  /** `--db`: SQLite history database, or `:memory:`. */
  db: string;
  /** `--history`: messages replayed when joining a room. */
  historyReplay: number;
  /** `--retention`: messages kept per room. */
  retention: number;
  /** Bytes the history database may use; 0: no cap. */
  maxDbBytes: number;
  /** Age (ms) past which messages are deleted and empty rooms forgotten; 0: never. */
  maxAgeMs: number;
  /** `--fsync` gives "full": acknowledged messages survive power loss, not just a crash. */
  sync: "normal" | "full";
  /** `--tls-cert`: PEM certificate chain; TLS is served when given with `tlsKey`. */
  tlsCert?: string;
  /** `--tls-key`: PEM private key for `tlsCert`. */
  tlsKey?: string;
  /** `--password-file`: the server password, read from a file so that ps cannot show it. */
  passwordFile?: string;
  /** `--oper-file`: the operator secret for /oper; without one there are no operators. */
  operFile?: string;
  /** `--motd-file`: the message of the day, read once at start; absent: none. */
  motdFile?: string;
  /** `--max-conns-per-ip`: connections one address (IPv6: one /64) may hold open. */
  maxConnsPerIp: number;
  /** Connections one address may open per minute; 0: no limit. */
  maxLoginsPerMinute: number;
  /** Bytes of history one address may read per second. */
  historyReadRate: number;
  /** `--handshake-timeout`, in ms: connections not logged in by then are closed. */
  handshakeTimeoutMs: number;
  /** `--idle-timeout`, in ms: silent NDJSON clients are pinged at half, dropped at all of it. */
  idleTimeoutMs: number;
  /** Messages per second sustained per connection; 0 turns flood control off. */
  rate: number;
  /** Bytes per second sustained per connection. */
  rateBytes: number;
  /** `--metrics-port`: serve Prometheus metrics; absent: off. */
  metricsPort?: number;
  /** `--metrics-host`: address for the metrics endpoint. */
  metricsHost: string;
  /** `--ssh-port`: serve the SSH front end on this port; absent: off. */
  sshPort?: number;
  /** `--ssh-host`: address for the SSH front end (default: `--host`). */
  sshHost: string;
  /** `--ssh-host-key`: an OpenSSH ed25519 private key; absent: one kept under the state directory. */
  sshHostKeyFile?: string;
  /** `--web-port`: serve the page and its WebSocket (`/ws`) on this port; absent: off. */
  webPort?: number;
  /** `--web-host`: address for the web front end (default: `--host`). */
  webHost: string;
  /** `--web-origin`: origins whose pages may open `/ws`; empty: only the page's own. */
  webOrigins: string[];
  /** `--irc-port`: serve IRC clients (irssi, WeeChat) on this port; absent: off. */
  ircPort?: number;
  /** `--irc-tls-port`: serve IRC over TLS (with `--tls-cert`/`--tls-key`); absent: off. */
  ircTlsPort?: number;
  /** `--irc-host`: address for the IRC ports (default: `--host`). */
  ircHost: string;
  /** `--server-name`: the name IRC clients see (default: this machine's host name). */
  serverName: string;
  /** `--oper-keys`: authorized_keys file whose keys are operators on login. */
  operKeysFile?: string;
  /** `--require-account`: only registered identities may talk. */
  requireAccount: boolean;
  /** `--guests-read`: with `--require-account`, guests still read the rooms. */
  guestsRead: boolean;
  /** `--proxy-from`: balancers whose connections start with a PROXY header; absent: none. */
  proxyFrom?: ProxySources;
  /** `--redis` (else `$SOCKCHAT_REDIS_URL`): cluster mode; absent: one server on its own. */
  redis?: RedisTarget;
  /** `--node-id` in cluster mode (random when not given); absent without `--redis`. */
  nodeId?: string;
}

/**
 * `--web-origin`'s comma-separated list, each as the origin a browser sends (`scheme://host`, and
 * `:port` unless it is the scheme's default); throws {@linkcode UsageError} for anything else.
 */
function parseOrigins(text: string): string[] {
  return text.split(",").map((item) => item.trim()).filter((item) => item !== "").map(
    (item) => {
      let url: URL | null = null;
      try {
        url = new URL(item);
      } catch {
        // Worded below.
      }
      if (
        url === null || (url.protocol !== "http:" && url.protocol !== "https:") ||
        url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== ""
      ) {
        throw new UsageError(
          `--web-origin wants origins such as https://chat.example.org (a scheme and host, no ` +
            `path), but got ${JSON.stringify(item)}.`,
          HINT,
        );
      }
      return url.origin;
    },
  );
}

/** Where history lives unless `--db` says otherwise: the XDG state directory. */
export function defaultDbPath(env: (name: string) => string | undefined): string | null {
  const state = env("XDG_STATE_HOME") || (env("HOME") ? `${env("HOME")}/.local/state` : "");
  return state === "" ? null : `${state}/sockchat/sockchat.db`;
}

/** Parses `serve`'s arguments (after the subcommand); throws {@linkcode UsageError}. */
export function parseServeArgs(
  args: string[],
  env: (name: string) => string | undefined = () => undefined,
): ServeArgs {
  const { values, positionals } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    fsync: { type: "boolean" },
    "require-account": { type: "boolean" },
    "guests-read": { type: "boolean" },
    ...valueFlags({
      host: "an address to listen on, such as 0.0.0.0",
      port: "a TCP port, 0 for any free one",
      "max-users": "a number of users",
      "max-frame": "a size in bytes",
      "max-queue": "a size in bytes",
      "log-level": LOG_LEVELS.join(", "),
      "log-format": LOG_FORMATS.join(" or "),
      db: "a file, or :memory:",
      history: "a number of messages",
      retention: "a number of messages",
      "max-db-bytes": "a size, such as 512M or 2G",
      "max-age": "a duration, such as 90d",
      "tls-cert": "a PEM certificate file",
      "tls-key": "a PEM private key file",
      "password-file": "a file holding the password",
      "oper-file": "a file holding the operator secret",
      "motd-file": "a text file holding the message of the day",
      "max-conns-per-ip": "a number of connections",
      "max-logins-per-minute": "a number of connections",
      "history-read-rate": "bytes per second",
      "handshake-timeout": "a number of seconds",
      "idle-timeout": "a number of seconds",
      rate: "messages per second",
      "rate-bytes": "bytes per second",
      "metrics-port": "a TCP port, 0 for any free one",
      "metrics-host": "an address, such as 127.0.0.1",
      "ssh-port": "a TCP port, 0 for any free one",
      "ssh-host": "an address to listen on, such as 0.0.0.0",
      "ssh-host-key": "an OpenSSH ed25519 private key file",
      "web-port": "a TCP port, 0 for any free one",
      "web-host": "an address to listen on, such as 0.0.0.0",
      "web-origin": "origins such as https://chat.example.org, separated by commas",
      "oper-keys": "an authorized_keys file",
      "irc-port": "a TCP port, 0 for any free one",
      "irc-tls-port": "a TCP port, 0 for any free one",
      "irc-host": "an address to listen on, such as 0.0.0.0",
      "server-name": "a name such as irc.example.org",
      "proxy-from": "the balancers' addresses, such as 10.0.0.5 or 10.0.0.0/24",
      redis: "a URL such as redis://127.0.0.1:6379/0",
      "node-id": "a short token such as a, 2 or chat-eu-1",
    }),
  }, HINT);
  if (positionals.length > 0) {
    throw new UsageError(
      `serve takes no arguments, but got ${JSON.stringify(positionals[0])}.`,
      HINT,
    );
  }
  const host = values.host ?? SERVER_DEFAULTS.host;
  if (host === "") throw new UsageError("--host needs an address, such as 0.0.0.0.", HINT);
  const port = values.port === undefined
    ? SERVER_DEFAULTS.port
    : parseIntFlag("--port", values.port, 0, 65535, HINT);
  const maxUsers = values["max-users"] === undefined
    ? SERVER_DEFAULTS.maxUsers
    : parseIntFlag("--max-users", values["max-users"], 1, 1_000_000, HINT);
  const maxFrame = values["max-frame"] === undefined ? SERVER_DEFAULTS.maxFrame : parseIntFlag(
    "--max-frame",
    values["max-frame"],
    MIN_MAX_FRAME_BYTES,
    MAX_MAX_FRAME_BYTES,
    HINT,
  );
  const minQueue = 2 * maxFrame + 4096;
  const maxQueueBytes = values["max-queue"] === undefined
    ? Math.max(SERVER_DEFAULTS.maxQueueBytes, minQueue)
    : parseIntFlag("--max-queue", values["max-queue"], minQueue, 1024 * 1024 * 1024, HINT);
  const logLevel = values["log-level"] ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(
      `--log-level must be one of ${LOG_LEVELS.join(", ")}, not ${JSON.stringify(logLevel)}.`,
      HINT,
    );
  }
  const logFormat = values["log-format"] ?? "text";
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new UsageError(
      `--log-format must be text or json, not ${JSON.stringify(logFormat)}.`,
      HINT,
    );
  }
  const historyReplay = values.history === undefined
    ? SERVER_DEFAULTS.historyReplay
    : parseIntFlag("--history", values.history, 0, MAX_HISTORY_REQUEST, HINT);
  const retention = values.retention === undefined
    ? SERVER_DEFAULTS.retention
    : parseIntFlag("--retention", values.retention, 1, 100_000_000, HINT);
  if (retention < historyReplay) {
    throw new UsageError("--retention must be at least --history.", HINT);
  }
  const maxDbBytes = values["max-db-bytes"] === undefined
    ? SERVER_DEFAULTS.maxDbBytes
    : parseSize("--max-db-bytes", values["max-db-bytes"]);
  const maxAgeMs = values["max-age"] === undefined
    ? SERVER_DEFAULTS.maxAgeMs
    : parseAge("--max-age", values["max-age"]);
  // Cluster mode keeps history in Redis: the SQLite flags are then unused.
  const redis = parseRedisFlag(values.redis, env);
  const db = values.db ?? (redis === undefined ? defaultDbPath(env) : ":memory:");
  if (db === null || db === "") {
    throw new UsageError(
      "no place for the history database: pass --db PATH (or --db :memory:).",
      HINT,
    );
  }
  const tlsCert = values["tls-cert"];
  const tlsKey = values["tls-key"];
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together: give both PEM files.", HINT);
  }
  const int = (flag: string, fallback: number, min: number, max: number) => {
    const value = values[flag as keyof typeof values];
    return typeof value === "string" ? parseIntFlag(`--${flag}`, value, min, max, HINT) : fallback;
  };
  const sshPort = values["ssh-port"] === undefined
    ? undefined
    : parseIntFlag("--ssh-port", values["ssh-port"], 0, 65535, HINT);
  const sshHost = values["ssh-host"] ?? host;
  if (sshHost === "") throw new UsageError("--ssh-host needs an address, such as 0.0.0.0.", HINT);
  if (values["ssh-host-key"] !== undefined && sshPort === undefined) {
    throw new UsageError(
      "--ssh-host-key goes with --ssh-port: it is the SSH front end's key.",
      HINT,
    );
  }
  const webPort = values["web-port"] === undefined
    ? undefined
    : parseIntFlag("--web-port", values["web-port"], 0, 65535, HINT);
  const webHost = values["web-host"] ?? host;
  if (webHost === "") throw new UsageError("--web-host needs an address, such as 0.0.0.0.", HINT);
  for (const flag of ["web-host", "web-origin"] as const) {
    if (values[flag] !== undefined && webPort === undefined) {
      throw new UsageError(`--${flag} goes with --web-port: it is the web front end's.`, HINT);
    }
  }
  const webOrigins = values["web-origin"] === undefined ? [] : parseOrigins(values["web-origin"]);
  if (values["guests-read"] && !values["require-account"]) {
    throw new UsageError(
      "--guests-read goes with --require-account: without it everyone may read and talk.",
      HINT,
    );
  }
  const irc = parseIrcFlags(values, host, tlsCert !== undefined, env);
  let proxyFrom: ProxySources | undefined;
  if (values["proxy-from"] !== undefined) {
    try {
      proxyFrom = ProxySources.parse(values["proxy-from"]);
    } catch (error) {
      if (!(error instanceof ProxySourceError)) throw error;
      throw new UsageError(error.message, HINT);
    }
  }
  if (values["node-id"] !== undefined && redis === undefined) {
    throw new UsageError(
      `--node-id goes with --redis (or $SOCKCHAT_REDIS_URL): it names this server in a cluster.`,
      HINT,
    );
  }
  const nodeId = redis === undefined
    ? undefined
    : values["node-id"] === undefined
    ? randomNodeId()
    : parseNodeId(values["node-id"]);
  const metricsPort = values["metrics-port"] === undefined
    ? undefined
    : parseIntFlag("--metrics-port", values["metrics-port"], 0, 65535, HINT);
  return {
    tlsCert,
    tlsKey,
    passwordFile: values["password-file"],
    operFile: values["oper-file"],
    motdFile: values["motd-file"],
    maxConnsPerIp: int("max-conns-per-ip", SERVER_DEFAULTS.maxConnsPerIp, 1, 1_000_000),
    maxLoginsPerMinute: int(
      "max-logins-per-minute",
      SERVER_DEFAULTS.maxLoginsPerMinute,
      0,
      1_000_000,
    ),
    historyReadRate: int(
      "history-read-rate",
      SERVER_DEFAULTS.historyReadRate,
      MIN_HISTORY_READ_BYTES_PER_SECOND,
      1024 * 1024 * 1024,
    ),
    handshakeTimeoutMs:
      int("handshake-timeout", SERVER_DEFAULTS.handshakeTimeoutMs / 1000, 1, 3600) *
      1000,
    idleTimeoutMs: int("idle-timeout", SERVER_DEFAULTS.idleTimeoutMs / 1000, 2, 86_400) * 1000,
    rate: int("rate", FLOOD_MESSAGES_PER_SECOND, 0, 1_000_000),
    rateBytes: int("rate-bytes", FLOOD_BYTES_PER_SECOND, 1024, 1024 * 1024 * 1024),
    metricsPort,
    metricsHost: values["metrics-host"] ?? DEFAULT_METRICS_HOST,
    sshPort,
    sshHost,
    sshHostKeyFile: values["ssh-host-key"],
    webPort,
    webHost,
    webOrigins,
    ...irc,
    operKeysFile: values["oper-keys"],
    requireAccount: values["require-account"] ?? false,
    guestsRead: values["guests-read"] ?? false,
    proxyFrom,
    redis,
    nodeId,
    db,
    historyReplay,
    retention,
    maxDbBytes,
    maxAgeMs,
    sync: values.fsync ? "full" : "normal",
    help: values.help ?? false,
    host,
    port,
    maxUsers,
    maxFrame,
    maxQueueBytes,
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat,
  };
}

/** The IRC front end's flags: off unless a port is given; TLS only with a certificate. */
function parseIrcFlags(
  values: Partial<Record<"irc-port" | "irc-tls-port" | "irc-host" | "server-name", string>>,
  host: string,
  hasTls: boolean,
  env: (name: string) => string | undefined,
): Pick<ServeArgs, "ircPort" | "ircTlsPort" | "ircHost" | "serverName"> {
  const port = (flag: "irc-port" | "irc-tls-port") => {
    const value = values[flag];
    return value === undefined ? undefined : parseIntFlag(`--${flag}`, value, 0, 65535, HINT);
  };
  const ircPort = port("irc-port");
  const ircTlsPort = port("irc-tls-port");
  const on = ircPort !== undefined || ircTlsPort !== undefined;
  if (ircTlsPort !== undefined && !hasTls) {
    throw new UsageError(
      "--irc-tls-port serves TLS with --tls-cert and --tls-key: give both PEM files, or use " +
        "--irc-port for plain IRC.",
      HINT,
    );
  }
  for (const flag of ["irc-host", "server-name"] as const) {
    if (values[flag] !== undefined && !on) {
      throw new UsageError(
        `--${flag} goes with --irc-port or --irc-tls-port: it is the IRC front end's.`,
        HINT,
      );
    }
  }
  const ircHost = values["irc-host"] ?? host;
  if (ircHost === "") throw new UsageError("--irc-host needs an address, such as 0.0.0.0.", HINT);
  const serverName = values["server-name"] ?? defaultServerName(env);
  const problem = serverNameProblem(serverName);
  if (problem !== null) throw new UsageError(`--server-name ${problem}`, HINT);
  return { ircPort, ircTlsPort, ircHost, serverName };
}

/**
 * Why `name` cannot be an IRC server name, or null: it is the source of every server line, so
 * it must be one word of printable ASCII, not start with `:`, and fit
 * {@linkcode IRC_SERVER_NAME_MAX_BYTES}.
 *
 * @example
 * ```ts
 * serverNameProblem("irc.example.org"); // null
 * serverNameProblem("my server"); // "must be one word ..."
 * ```
 */
export function serverNameProblem(name: string): string | null {
  if (name === "") return "needs a name, such as irc.example.org.";
  if (!/^[\x21-\x7e]+$/.test(name) || name.startsWith(":")) {
    return `must be one word of printable ASCII (no spaces), such as irc.example.org, not ${
      JSON.stringify(name)
    }.`;
  }
  if (name.length > IRC_SERVER_NAME_MAX_BYTES) {
    return `is at most ${IRC_SERVER_NAME_MAX_BYTES} bytes long, not ${name.length}.`;
  }
  return null;
}

/**
 * This machine's host name, as IRC clients will see it (`$HOSTNAME`, else /etc/hostname, else
 * `sockchat`), cut to what a server name may be. Needs no `--allow-sys`.
 */
export function defaultServerName(env: (name: string) => string | undefined): string {
  let name = env("HOSTNAME") ?? "";
  if (name === "") {
    try {
      name = Deno.readTextFileSync("/etc/hostname");
    } catch {
      // No such file (or no permission): the fallback below.
    }
  }
  name = name.trim().replace(/[^A-Za-z0-9.-]/g, "").slice(0, IRC_SERVER_NAME_MAX_BYTES);
  return name === "" ? "sockchat" : name;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** A size as people write it: `1073741824`, `512M`, `1G` (binary units); 0 means no cap. */
function parseSize(flag: string, value: string): number {
  const match = /^(\d{1,16})([kmgt]?)$/i.exec(value);
  if (match === null) {
    throw new UsageError(
      `${flag} needs a size in bytes, such as 1073741824, 512M or 1G (0: no cap), not ` +
        `${JSON.stringify(value)}.`,
      HINT,
    );
  }
  const bytes = Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()];
  if (bytes !== 0 && (bytes < MIN_MAX_DB_BYTES || bytes > MAX_MAX_DB_BYTES)) {
    throw new UsageError(
      `${flag} must be 0 (no cap) or between 1M and 1024T, not ${value}.`,
      HINT,
    );
  }
  return bytes;
}

/** An age as people write it: `90d`, `12h`, `30m`; 0 means keep for ever. */
function parseAge(flag: string, value: string): number {
  if (value === "0") return 0;
  const ms = parseDuration(value);
  if (ms === null) {
    throw new UsageError(
      `${flag} needs a duration such as 90d, 12h or 90m (0: keep for ever), not ` +
        `${JSON.stringify(value)}.`,
      HINT,
    );
  }
  if (ms < MIN_MAX_AGE_MS) {
    throw new UsageError(
      `${flag} must be 0 (keep for ever) or at least ${MIN_MAX_AGE_MS / 3_600_000}h, not ${value}.`,
      HINT,
    );
  }
  return ms;
}
