/**
 * `serve --redis URL` and `--node-id TOKEN`: the flags that put a server in cluster mode. The
 * URL may carry a password, so it is never printed: errors and logs show it redacted
 * ({@linkcode redactRedisUrl}).
 *
 * @module
 */

import { NODE_ID_MAX_LENGTH, NODE_ID_PATTERN, REDIS_URL_ENV } from "../config/server_config.ts";
import { UsageError } from "./usage.ts";

const HINT = "sockchat serve --help";

export { REDIS_URL_ENV };

/** Where the cluster's Redis is, as `serve` checked it. */
export interface RedisTarget {
  /** The URL as given (password included): only for the client library. */
  url: string;
  /** The same without user or password, for logs: `redis://HOST:PORT/DB`. */
  shown: string;
}

/**
 * A Redis URL with any user and password left out, the port and database written out: safe to
 * log. Text that is not a URL comes back with anything before an `@` masked.
 *
 * @example
 * ```ts
 * redactRedisUrl("redis://:hunter2@cache.internal:6380/2"); // "redis://cache.internal:6380/2"
 * redactRedisUrl("rediss://cache.internal"); // "rediss://cache.internal:6379/0"
 * ```
 */
export function redactRedisUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.replace(/\/\/[^/]*@/, "//***@").replace(/^[^/]*@/, "***@");
  }
  const host = url.hostname === "" ? "localhost" : url.hostname;
  const db = /^\/(\d+)$/.exec(url.pathname)?.[1] ?? "0";
  return `${url.protocol}//${host}:${url.port === "" ? "6379" : url.port}/${db}`;
}

/**
 * Checks `--redis` (else `$SOCKCHAT_REDIS_URL`): `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`
 * or `rediss://` for TLS. Undefined when neither is given; throws {@linkcode UsageError}
 * (never quoting a password) for anything else.
 */
export function parseRedisFlag(
  flag: string | undefined,
  env: (name: string) => string | undefined,
): RedisTarget | undefined {
  const fromEnv = flag === undefined;
  const text = flag ?? env(REDIS_URL_ENV);
  if (text === undefined || (fromEnv && text === "")) return undefined;
  const source = fromEnv ? `$${REDIS_URL_ENV}` : "--redis";
  const wrong = (why: string) =>
    new UsageError(
      `${source} wants redis://HOST:PORT[/DB] or rediss://... (a password may go in it, as ` +
        `redis://:PASSWORD@HOST:PORT), but ${why}: ${JSON.stringify(redactRedisUrl(text))}.`,
      HINT,
    );
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw wrong("that is not a URL");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw wrong(`the scheme is ${url.protocol.replace(/:$/, "")}`);
  }
  if (url.hostname === "") throw wrong("it names no host");
  if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d{1,5}$/.test(url.pathname)) {
    throw wrong("the path must be a database number, such as /0");
  }
  if (url.search !== "" || url.hash !== "") throw wrong("it has a query or fragment");
  return { url: text, shown: redactRedisUrl(text) };
}

/**
 * Checks `--node-id`: a short token of letters, digits, `.`, `_` and `-` (numbers such as `1`
 * included), at most {@linkcode NODE_ID_MAX_LENGTH} characters. Throws {@linkcode UsageError}.
 */
export function parseNodeId(text: string): string {
  if (text.length > NODE_ID_MAX_LENGTH) {
    throw new UsageError(
      `--node-id is at most ${NODE_ID_MAX_LENGTH} characters, not ${text.length}.`,
      HINT,
    );
  }
  if (!NODE_ID_PATTERN.test(text)) {
    throw new UsageError(
      `--node-id wants a short token of letters, digits, '.', '_' and '-', such as a, 2 or ` +
        `chat-eu-1, not ${JSON.stringify(text)}.`,
      HINT,
    );
  }
  return text;
}

/**
 * A node id for a server started without `--node-id`: random, so that two nodes started the
 * same way never collide, and short enough to read in logs.
 */
export function randomNodeId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return `n${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
