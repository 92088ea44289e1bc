/**
 * Serves a {@linkcode MetricsRegistry} over HTTP at `/metrics` for Prometheus to scrape.
 * Everything else is a 404; it binds loopback unless told otherwise.
 *
 * @module
 */

import { DEFAULT_METRICS_HOST } from "../config/security_limits.ts";
import { type MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "./registry.ts";
import { type ListenFlags, listenReason } from "../transport/listen_error.ts";

/** The flags that move the endpoint, for the error when it cannot listen. */
const METRICS_FLAGS: ListenFlags = {
  what: "metrics port",
  portFlag: "--metrics-port",
  hostFlag: "--metrics-host",
};

/** The only path served. */
export const METRICS_PATH = "/metrics";

/** Settings for {@linkcode startMetricsServer}. */
export interface MetricsServerOptions {
  /** What to serve. */
  registry: MetricsRegistry;
  /** 0 picks a free port. */
  port: number;
  /** Address to listen on; the default keeps metrics on this machine. @default "127.0.0.1" */
  hostname?: string;
  /** Called once listening, with the bound address. @default nothing (Deno's banner is off) */
  onListen?: (addr: Deno.NetAddr) => void;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The address actually bound (useful with port 0). */
  readonly addr: Deno.NetAddr;
  /** Stops accepting, lets requests in flight finish, and resolves when it has stopped. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/** Thrown when the endpoint cannot listen; the message says where and why. */
export class MetricsServerError extends Error {
  /** Names the error in logs and stack traces. */
  override name = "MetricsServerError";
}

/** Answers one request: the metrics for GET/HEAD `/metrics`, 405 for other methods, else 404. */
export function handleMetricsRequest(request: Request, registry: MetricsRegistry): Response {
  const { pathname } = new URL(request.url);
  if (pathname !== METRICS_PATH) {
    return new Response(`Not found. Metrics are at ${METRICS_PATH}.\n`, {
      status: 404,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Only GET and HEAD are allowed here.\n", {
      status: 405,
      headers: { "allow": "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
    });
  }
  return new Response(registry.render(), {
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
  });
}

/**
 * Starts the endpoint and returns at once.
 *
 * @example
 * ```ts
 * import { createSockchatMetrics } from "./sockchat_metrics.ts";
 *
 * const metrics = createSockchatMetrics();
 * const server = startMetricsServer({ registry: metrics.registry, port: 9342 });
 * // curl http://127.0.0.1:9342/metrics
 * await server.shutdown();
 * ```
 */
export function startMetricsServer(options: MetricsServerOptions): MetricsServer {
  const hostname = options.hostname ?? DEFAULT_METRICS_HOST;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port: options.port,
      onListen: (addr) => options.onListen?.(addr),
    }, (request) => handleMetricsRequest(request, options.registry));
  } catch (error) {
    const why = error instanceof Deno.errors.AddrInUse
      ? "the port is in use; pick another with --metrics-port"
      : listenReason({ hostname, port: options.port }, error, METRICS_FLAGS);
    throw new MetricsServerError(`Cannot serve metrics on ${hostname}:${options.port}: ${why}.`);
  }
  let stopping: Promise<void> | null = null;
  return {
    addr: server.addr,
    finished: server.finished,
    shutdown: () =>
      stopping ??= (async () => {
        await server.shutdown();
        await server.finished;
      })(),
  };
}
