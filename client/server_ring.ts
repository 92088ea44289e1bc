/**
 * The addresses `sockchat join` was given (`join a:7342,b:7342`): the nodes of one chat. The
 * client tries them in turn: on a connection that fails, and on a reconnection after a drop,
 * it starts from the address after the last one it used, so a client whose node died goes to
 * another one first instead of knocking on the dead one. Resuming is the same on any node.
 *
 * @module
 */

import type { ServerAddress } from "../cli/join_args.ts";
import type { ErrorCode } from "../protocol/frames.ts";

/**
 * The round-robin order of the addresses.
 *
 * @example
 * ```ts
 * const ring = new ServerRing([{ host: "a", port: 1 }, { host: "b", port: 2 }]);
 * ring.take().host; // "a"
 * ring.take().host; // "b"
 * ring.take().host; // "a"
 * ```
 */
export class ServerRing {
  readonly #servers: readonly ServerAddress[];
  #next = 0;

  /** Holds `servers` (at least one), first to be tried first. */
  constructor(servers: readonly ServerAddress[]) {
    if (servers.length === 0) throw new RangeError("a ServerRing needs an address");
    this.#servers = servers;
  }

  /** How many addresses there are: one round tries each once. */
  get size(): number {
    return this.#servers.length;
  }

  /** The address to try now; the next call gives the one after it. */
  take(): ServerAddress {
    const server = this.#servers[this.#next];
    this.#next = (this.#next + 1) % this.#servers.length;
    return server;
  }
}

/**
 * Refusals that are about the node that gave them, not about the chat: another node may
 * well let the client in (it is not shutting down, full, or handling this many connections
 * from our address). A ban, a wrong password or a nick taken would be the same on every node.
 */
const NODE_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "shutting_down",
  "server_full",
  "too_many_connections",
  "handshake_timeout",
]);

/**
 * True when a connection attempt that failed this way should go on to the next address:
 * no server answered (`code` undefined: refused, timed out, lost during login), or the node
 * refused for a reason of its own.
 */
export function triesNextServer(code: ErrorCode | undefined): boolean {
  return code === undefined || NODE_REFUSALS.has(code);
}

/** `host:port` as the user wrote it (an IPv6 host in brackets). */
export function serverLabel(server: ServerAddress): string {
  return server.host.includes(":")
    ? `[${server.host}]:${server.port}`
    : `${server.host}:${server.port}`;
}
