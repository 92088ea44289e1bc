/**
 * The accept loop's retry rule. Only running out of file descriptors is worth waiting for:
 * another accept would fail the same way until some are freed, so the loop backs off. Anything
 * else (a peer that connected and reset before it was accepted: ECONNABORTED, or NotConnected
 * as Deno reports it) concerns that one peer, and costs exactly one turn of the loop; backing off
 * there would let one address that connects and resets in a loop keep the backlog full.
 *
 * @module
 */

import { ACCEPT_BACKOFF_MAX_MS, ACCEPT_BACKOFF_MIN_MS } from "../../config/limits.ts";

/** Something that accepts connections, as `Deno.Listener` does. */
export interface Acceptor<T> {
  /** Waits for the next connection; throws when the listener fails or is closed. */
  accept(): Promise<T>;
}

/** Hooks for {@linkcode acceptConnections}. */
export interface AcceptLoopOptions {
  /** True once the server is stopping: the loop ends at the next failure. */
  stopping(): boolean;
  /**
   * Told of each failed accept. `retryMs` is the back-off about to be waited (descriptors ran
   * out), or 0 when the loop goes straight on.
   */
  failed(error: unknown, retryMs: number): void;
  /** Waits; replaceable in tests. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/** True if `error` means the process (EMFILE) or the system (ENFILE) has no descriptor left. */
export function isOutOfDescriptors(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /\(os error 2[34]\)|too many open files/i.test(message);
}

/**
 * Yields accepted connections until the listener is closed. Never throws: a closed listener
 * ends the iteration, descriptor exhaustion backs off 10 ms doubling to 1 s, and any other
 * failure is reported and skipped.
 *
 * @example
 * ```ts
 * declare function serve(conn: Deno.Conn): Promise<void>;
 *
 * const listener = Deno.listen({ port: 0 });
 * const options = {
 *   stopping: () => false,
 *   failed: (error: unknown, backoffMs: number) => console.error(error, backoffMs),
 * };
 * for await (const conn of acceptConnections(listener, options)) {
 *   void serve(conn);
 * }
 * ```
 */
export async function* acceptConnections<T>(
  listener: Acceptor<T>,
  options: AcceptLoopOptions,
): AsyncGenerator<T> {
  const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  let backoff = ACCEPT_BACKOFF_MIN_MS;
  while (!options.stopping()) {
    let conn: T;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (options.stopping() || error instanceof Deno.errors.BadResource) return;
      if (!isOutOfDescriptors(error)) {
        options.failed(error, 0);
        continue;
      }
      options.failed(error, backoff);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, ACCEPT_BACKOFF_MAX_MS);
      continue;
    }
    backoff = ACCEPT_BACKOFF_MIN_MS;
    yield conn;
  }
}
