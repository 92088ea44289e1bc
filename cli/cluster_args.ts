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
 * log. Text that is not a URL, or whose `@` the URL parser did not take as the end of the
 * credentials (a password holding `/`, `?` or `#` is cut short there, and part of it would show
 * as a port or path), comes back with everything from the scheme's `//` to the LAST `@` masked.
 *
 * @example
 * ```ts
 * redactRedisUrl("redis://:hunter2@cache.internal:6380/2"); // "redis://cache.internal:6380/2"
 * redactRedisUrl("rediss://cache.internal"); // "rediss://cache.internal:6379/0"
 * redactRedisUrl("redis://:ab/cd@cache"); // "redis://***@cache"
 * ```
 */
export function redactRedisUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return maskCredentials(text);
  }
  // Credentials the parser did not see as such: an `@` left in the host, path, query or fragment.
  if (url.username === "" && url.password === "" && text.includes("@")) {
    return maskCredentials(text);
  }
  const host = url.hostname === "" ? "localhost" : url.hostname;
  const db = /^\/(\d+)$/.exec(url.pathname)?.[1] ?? "0";
  return `${url.protocol}//${host}:${url.port === "" ? "6379" : url.port}/${db}`;
}

/**
 * `text` with what may be a user or password masked: everything after the scheme's `//` (or from
 * the start) up to the last `@`; with no `@`, anything after a colon that is not a port number
 * (`redis://:hunter2` typed without its host).
 */
function maskCredentials(text: string): string {
  if (text.includes("@")) {
    return text.replace(
      /^([a-z][a-z0-9+.-]*:\/\/)?[\s\S]*@/i,
      (_, scheme) => `${scheme ?? ""}***@`,
    );
  }
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/]*:)(?!\d*(?:\/|$))[\s\S]*/i, "$1***");
}

/** True if `part` (a URL's user or password) decodes as percent-encoding, as the client needs. */
function decodes(part: string): boolean {
  try {
    decodeURIComponent(part);
    return true;
  } catch {
    return false;
  }
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
    throw wrong(
      "that is not a URL (a password holding /, ?, #, @ or % must be percent-encoded: / as %2F)",
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw wrong(`the scheme is ${url.protocol.replace(/:$/, "")}`);
  }
  if (url.hostname === "") throw wrong("it names no host");
  if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d{1,5}$/.test(url.pathname)) {
    throw wrong("the path must be a database number, such as /0");
  }
  if (url.search !== "" || url.hash !== "") throw wrong("it has a query or fragment");
  // The client library decodes both and would crash on a stray `%` (a URIError, not a message).
  if (!decodes(url.username) || !decodes(url.password)) {
    throw wrong(
      "its user or password has a % that is not percent-encoding (write % as %25, / as %2F, " +
        "@ as %40)",
    );
  }
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
