/**
 * The one kind of failure `sockchat join` shows its user: a sentence, printed as one line
 * (never a stack trace), after which the client reconnects or exits 1.
 *
 * @module
 */

import type { ErrorCode } from "../protocol/frames.ts";

/** A failure the user should read as one line; the client exits 1 (or reconnects). */
export class ClientError extends Error {
  /** The server's error code when the server refused the login; undefined for network trouble. */
  readonly code?: ErrorCode;

  /** `message` is one sentence without a final full stop; `code`, the server's refusal. */
  constructor(message: string, code?: ErrorCode) {
    super(message);
    this.name = "ClientError";
    this.code = code;
  }
}

/** Network errors, in the words the user reads after "lost the connection to HOST:PORT: ". */
const NETWORK_ERRORS: readonly [new (...args: never[]) => Error, string][] = [
  [Deno.errors.ConnectionReset, "the connection was reset"],
  [Deno.errors.ConnectionAborted, "the connection was aborted"],
  [Deno.errors.BrokenPipe, "the connection broke"],
  [Deno.errors.NotConnected, "the socket is no longer connected"],
  [Deno.errors.TimedOut, "the connection timed out"],
  [Deno.errors.Interrupted, "a read was interrupted"],
  [Deno.errors.BadResource, "the socket was closed"],
  // A TLS peer that goes away without its close_notify: truncation is possible, so rustls says so.
  [Deno.errors.UnexpectedEof, "it ended without a TLS goodbye"],
  // Anything rustls cannot decrypt or parse.
  [Deno.errors.InvalidData, "the server sent data that is not valid TLS"],
];

/**
 * Turns whatever a read, write or close threw into a one-line {@linkcode ClientError}:
 * `lost the connection to HOST:PORT: the connection was reset`.
 *
 * @example
 * ```ts
 * lostConnection("localhost:7342", new Deno.errors.ConnectionReset("os error 104")).message;
 * // "lost the connection to localhost:7342: the connection was reset"
 * ```
 */
export function lostConnection(target: string, error: unknown): ClientError {
  if (error instanceof ClientError) return error;
  const known = NETWORK_ERRORS.find(([kind]) => error instanceof kind)?.[1];
  const raw = error instanceof Error ? error.message : String(error);
  const why = known ??
    (raw.replace(/\s*\(os error \d+\)/, "").replace(/\s+/g, " ").trim() || "unknown error");
  return new ClientError(`lost the connection to ${target}: ${why}`);
}
