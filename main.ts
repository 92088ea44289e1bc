/**
 * The `sockchat` command: dispatches `serve`, `join` and `key`.
 *
 * @module
 */

import { parseJoinArgs } from "./cli/join_args.ts";
import { parseServeArgs } from "./cli/serve_args.ts";
import { JOIN_HELP, MAIN_HELP, SERVE_HELP, UsageError } from "./cli/usage.ts";
import { runJoin } from "./client.ts";
import { runKeyCommand } from "./client/join_identity.ts";
import { createLogger } from "./log/logger.ts";
import { type MetricsServer, MetricsServerError, startMetricsServer } from "./metrics/http.ts";
import { createSockchatMetrics } from "./metrics/sockchat_metrics.ts";
import { loadServerSecrets, SecretError, type ServerSecrets } from "./security/secrets.ts";
import { loadOperKeys, OperKeysError } from "./security/oper_keys.ts";
import { FLOOD_BYTE_BURST, FLOOD_MESSAGE_BURST } from "./config/security_limits.ts";
import { startServer } from "./server.ts";
import { loadMotd, MotdError } from "./config/server_config.ts";
import { StoreError } from "./store/store_error.ts";
import { setCloakKey } from "./core/cloak.ts";
import { shareLockouts } from "./core/lockout.ts";
import type { ClusterNode } from "./cluster/node.ts";
import type { Logger } from "./log/logger.ts";
import type { ServeArgs } from "./cli/serve_args.ts";
import { loadTlsCredentials, type TlsCredentials, TlsError } from "./transport/tcp/tls.ts";
import {
  type ListenerName,
  ListenError,
  listenFailure,
  type ListenFlags,
} from "./transport/listen_error.ts";
import type { HostKey } from "./transport/ssh/host_key.ts";
import { VERSION } from "./version.ts";

/** Runs the CLI with `args`; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const [command, ...rest] = args;
    switch (command) {
      case "serve":
        return await serve(rest);
      case "join": {
        const parsed = parseJoinArgs(rest, (name) => Deno.env.get(name));
        if (parsed.help) {
          console.log(JOIN_HELP);
          return 0;
        }
        return await runJoin(parsed);
      }
      case "key":
        return await runKeyCommand(rest, (name) => Deno.env.get(name));
      case "-h":
      case "--help":
      case "help":
        console.log(MAIN_HELP);
        return 0;
      case "-V":
      case "--version":
      case "version":
        console.log(`sockchat ${VERSION}`);
        return 0;
      case undefined:
        throw new UsageError("missing command: use serve, join or key.");
      default:
        throw new UsageError(
          command.startsWith("-")
            ? `unknown option ${command}.`
            : `unknown command ${JSON.stringify(command)}: use serve, join or key.`,
        );
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`sockchat: ${error.message}\nTry '${error.hint}'.`);
      return 2;
    }
    throw error;
  }
}

async function serve(args: string[]): Promise<number> {
  const options = parseServeArgs(args, (name) => Deno.env.get(name));
  if (options.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const logger = createLogger({ level: options.logLevel, format: options.logFormat });
  const metrics = options.metricsPort === undefined ? undefined : createSockchatMetrics();
  let secrets: ServerSecrets;
  let tls: TlsCredentials | undefined;
  let metricsServer: MetricsServer | null = null;
  let motd: string;
  let operKeys: Set<string> | undefined;
  let sshHostKey: HostKey | undefined;
  // Loaded only when asked for: the SSH library costs memory a server without SSH need not pay.
  const ssh = options.sshPort === undefined
    ? undefined
    : await import("./transport/ssh/front_end.ts");
  try {
    secrets = await loadServerSecrets({
      passwordFile: options.passwordFile,
      operFile: options.operFile,
    });
    operKeys = options.operKeysFile === undefined
      ? undefined
      : await loadOperKeys(options.operKeysFile);
    motd = options.motdFile === undefined ? "" : await loadMotd(options.motdFile);
    // Read and check the PEM files first: a wrong path or a key in the cert's place is a
    // one-line error, not a failure to listen.
    tls = options.tlsCert && options.tlsKey
      ? await loadTlsCredentials(options.tlsCert, options.tlsKey)
      : undefined;
    if (ssh !== undefined) sshHostKey = await sshKey(ssh, options.sshHostKeyFile);
    // The metrics endpoint comes up first, so that a busy metrics port fails before anyone
    // could have joined the chat.
    if (metrics !== undefined) {
      metricsServer = startMetricsServer({
        registry: metrics.registry,
        port: options.metricsPort ?? 0,
        hostname: options.metricsHost,
      });
    }
  } catch (error) {
    const kinds = [
      SecretError,
      OperKeysError,
      MotdError,
      TlsError,
      MetricsServerError,
      ...(ssh === undefined ? [] : [ssh.HostKeyError]),
    ];
    if (printed(error, kinds)) {
      return 1;
    }
    throw error;
  }
  // Cluster mode: Redis is reached before anything listens, so a wrong URL or a Redis that is
  // down is one line and exit 1, not a server that refuses every message.
  let cluster: ClusterNode | undefined;
  if (options.redis !== undefined) {
    try {
      cluster = await openCluster(options, logger);
    } catch (error) {
      await metricsServer?.shutdown();
      if (!(error instanceof StoreError)) throw error;
      console.error(
        `sockchat: cannot start cluster node ${options.nodeId} with Redis at ` +
          `${options.redis.shown}: ${error.message}.`,
      );
      return 1;
    }
  }
  let server;
  if (options.db !== ":memory:" && cluster === undefined) {
    const dir = options.db.replace(/\/[^/]*$/, "");
    try {
      if (dir !== options.db && dir !== "") await Deno.mkdir(dir, { recursive: true });
    } catch (error) {
      await metricsServer?.shutdown();
      const why = (error as Error).message;
      console.error(`sockchat: cannot open the history database ${options.db}: ${why}.`);
      return 1;
    }
  }
  try {
    server = startServer({
      ...options,
      cluster,
      logger,
      tls,
      metrics,
      password: secrets.password,
      operSecret: secrets.operSecret,
      operKeys,
      ssh: sshHostKey === undefined || options.sshPort === undefined || ssh === undefined
        ? undefined
        : {
          host: options.sshHost,
          port: options.sshPort,
          hostKey: sshHostKey.text,
          listen: ssh.listenSsh,
        },
      web: options.webPort === undefined
        ? undefined
        : { host: options.webHost, port: options.webPort, origins: options.webOrigins },
      motd,
      irc: options.ircPort === undefined && options.ircTlsPort === undefined ? undefined : {
        host: options.ircHost,
        port: options.ircPort,
        tlsPort: options.ircTlsPort,
        serverName: options.serverName,
      },
      flood: options.rate === 0 ? null : {
        messagesPerSecond: options.rate,
        messageBurst: Math.max(FLOOD_MESSAGE_BURST, 4 * options.rate),
        bytesPerSecond: options.rateBytes,
        byteBurst: Math.max(FLOOD_BYTE_BURST, options.maxFrame, 4 * options.rateBytes),
      },
    });
  } catch (error) {
    await metricsServer?.shutdown();
    await cluster?.close();
    if (printed(error, [TlsError])) return 1;
    if (error instanceof StoreError) {
      console.error(`sockchat: cannot open the history database ${options.db}: ${error.message}.`);
      return 1;
    }
    if (error instanceof ListenError) {
      const { target, cause } = error;
      console.error(`sockchat: ${listenFailure(target, cause, LISTEN_FLAGS[target.listener])}.`);
    } else {
      console.error(`sockchat: cannot start the server: ${(error as Error).message}`);
    }
    return 1;
  }
  // In cluster mode, ready once the log reader runs: a node says it listens only once it
  // takes part.
  await server.ready;
  if (server.failure !== null) {
    await server.finished;
    await metricsServer?.shutdown();
    console.error(`sockchat: the server stopped: ${server.failure}.`);
    return 1;
  }
  if (cluster !== undefined && options.redis !== undefined) {
    console.log(`cluster node ${cluster.bus.node} via ${options.redis.shown}`);
  }
  console.log(`listening on ${hostPort(server.addr)}`);
  if (server.addresses.ssh !== undefined && sshHostKey !== undefined) {
    console.log(`ssh listening on ${hostPort(server.addresses.ssh)}`);
    const made = sshHostKey.created ? ` (new, saved to ${sshHostKey.path})` : "";
    console.log(`ssh host key ${sshHostKey.fingerprint}${made}`);
  }
  if (server.addresses.web !== undefined) {
    const scheme = tls === undefined ? "http" : "https";
    console.log(`web listening on ${scheme}://${hostPort(server.addresses.web)}/`);
  }
  if (server.addresses.irc !== undefined) {
    console.log(`irc listening on ${hostPort(server.addresses.irc)}`);
  }
  if (server.addresses.ircTls !== undefined) {
    console.log(`irc tls listening on ${hostPort(server.addresses.ircTls)}`);
  }
  if (metricsServer !== null) {
    console.log(`metrics on http://${hostPort(metricsServer.addr)}/metrics`);
  }
  const stop = () => void server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  // However the chat server ended (a signal, or its listener failing), metrics end with it.
  await metricsServer?.shutdown();
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  if (server.failure !== null) {
    // A supervisor set to restart on failure must see one.
    console.error(`sockchat: the server stopped: ${server.failure}.`);
    return 1;
  }
  return 0;
}

/**
 * Connects this node to the cluster's Redis (`--redis`, `--node-id`): the node's id and where
 * Redis is are logged (never the password); losing and regaining Redis later is logged too.
 */
async function openCluster(options: ServeArgs, logger: Logger): Promise<ClusterNode> {
  const { ClusterNode } = await import("./cluster/node.ts");
  const redis = options.redis;
  const node = options.nodeId;
  if (redis === undefined || node === undefined) throw new Error("not in cluster mode");
  logger.info("cluster_node", { node, redis: redis.shown });
  const engine = await ClusterNode.open({
    url: redis.url,
    node,
    retention: options.retention,
    maxAgeMs: options.maxAgeMs,
    // The history's byte budget in Redis, as for SQLite (store/redis/budget.ts).
    maxBytes: options.maxDbBytes,
    onState: (problem) =>
      problem === null
        ? logger.info("redis_back", { redis: redis.shown })
        : logger.warn("redis_lost", { redis: redis.shown, problem }),
    onError: (message) => logger.warn("cluster_error", { error: message }),
    onUsurped: (message) => logger.error("cluster_node_id_in_use", { error: message }),
  });
  try {
    // Before anything listens: every node must cloak a user alike (room bans match cloaks).
    const { shareCloakKey } = await import("./cluster/cloak_key.ts");
    await shareCloakKey(
      engine.conn,
      engine.epoch,
      setCloakKey,
      (message) => logger.warn("cluster_error", { error: message }),
    );
    // Wrong secrets, registrations and logins per address count on every node.
    const { RedisSharedCounter } = await import("./cluster/shared_counter.ts");
    shareLockouts(
      new RedisSharedCounter(engine.conn, {
        onState: (problem) =>
          problem === null
            ? logger.info("shared_counts_back", {})
            : logger.warn("shared_counts_local_only", { problem }),
      }),
    );
  } catch (error) {
    await engine.close();
    throw error;
  }
  return engine;
}

/** The flags that move each listener, for the error when one cannot bind. */
const LISTEN_FLAGS: Readonly<Record<ListenerName, ListenFlags>> = {
  native: { what: "port", portFlag: "--port", hostFlag: "--host" },
  ssh: { what: "SSH port", portFlag: "--ssh-port", hostFlag: "--ssh-host" },
  web: { what: "web port", portFlag: "--web-port", hostFlag: "--web-host" },
  irc: { what: "IRC port", portFlag: "--irc-port", hostFlag: "--irc-host" },
  "irc-tls": { what: "IRC TLS port", portFlag: "--irc-tls-port", hostFlag: "--irc-host" },
};

/**
 * The SSH host key: `--ssh-host-key FILE`, or the one kept under the state directory, generated
 * on the first start.
 */
function sshKey(
  ssh: typeof import("./transport/ssh/front_end.ts"),
  file: string | undefined,
): Promise<HostKey> {
  if (file !== undefined) return ssh.loadHostKey(file);
  const path = ssh.defaultHostKeyPath((name) => Deno.env.get(name));
  if (path === null) {
    throw new ssh.HostKeyError(
      "There is nowhere to keep the SSH host key: set XDG_STATE_HOME or HOME, or give " +
        "--ssh-host-key FILE.",
    );
  }
  return ssh.loadOrCreateHostKey(path);
}

/**
 * Prints `error` if it is one of `kinds`, whose messages are already one sentence for the
 * operator; false, printing nothing, for any other error.
 */
function printed(
  error: unknown,
  kinds: readonly (new (message: string) => Error)[],
): boolean {
  if (!kinds.some((kind) => error instanceof kind)) return false;
  console.error(`sockchat: ${(error as Error).message}`);
  return true;
}

/** `host:port`, with an IPv6 host in brackets. */
function hostPort(addr: Deno.NetAddr): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `${host}:${addr.port}`;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
