/**
 * Counts live connections per client address for `--max-conns-per-ip`, in O(1) per connection.
 * IPv4-mapped IPv6 addresses count as their IPv4 address, and IPv6 addresses are grouped by
 * their /64 prefix.
 *
 * @module
 */

import { DEFAULT_MAX_CONNS_PER_IP, IPV6_PREFIX_BITS } from "../config/security_limits.ts";
import { parseAddress } from "../core/address_prefix.ts";

/** A held connection slot. Releasing it twice is harmless. */
export interface ConnLease {
  /** The address key the slot is counted under (see {@linkcode addressKey}). */
  readonly key: string;
  /** Gives the slot back. Idempotent. */
  release(): void;
}

/**
 * Live connection counts per address.
 *
 * @example
 * ```ts
 * declare const conn: Deno.TcpConn;
 * declare function serve(conn: Deno.TcpConn): Promise<void>;
 *
 * const limiter = new ConnLimiter(8);
 * const lease = limiter.acquire(conn.remoteAddr.hostname);
 * if (lease === null) conn.close(); // too many connections from that address
 * else {
 *   try {
 *     await serve(conn);
 *   } finally {
 *     lease.release();
 *   }
 * }
 * ```
 */
export class ConnLimiter {
  readonly #max: number;
  // Only addresses with a live connection have an entry, so this is bounded by the connections.
  readonly #counts: Map<string, number> = new Map();

  /**
   * Counts leases per address (IPv6: per /64).
   * @param maxPerIp Connections one address may hold; `Infinity` disables the limit. @default 8
   */
  constructor(maxPerIp: number = DEFAULT_MAX_CONNS_PER_IP) {
    if (!(maxPerIp >= 1)) {
      throw new RangeError(`maxPerIp must be at least 1, not ${maxPerIp}.`);
    }
    this.#max = maxPerIp;
  }

  /** Connections one address may hold. */
  get maxPerIp(): number {
    return this.#max;
  }

  /** Distinct addresses with at least one live connection. */
  get addresses(): number {
    return this.#counts.size;
  }

  /** Live connections counted under the address of `hostname`. */
  count(hostname: string): number {
    return this.#counts.get(addressKey(hostname)) ?? 0;
  }

  /** Takes a slot for a connection from `hostname`, or returns null if the address is full. */
  acquire(hostname: string): ConnLease | null {
    const key = addressKey(hostname);
    const held = this.#counts.get(key) ?? 0;
    if (held >= this.#max) return null;
    this.#counts.set(key, held + 1);
    let released = false;
    return {
      key,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#counts.get(key) ?? 1) - 1;
        if (left <= 0) this.#counts.delete(key);
        else this.#counts.set(key, left);
      },
    };
  }
}

/**
 * The key a client address is counted under: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6
 * as its first {@linkcode IPV6_PREFIX_BITS} bits in full lower-case hex followed by `::/64`.
 * Anything that does not parse (a Unix socket path) is its own key.
 */
export function addressKey(hostname: string): string {
  const bare = hostname.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!bare.includes(":")) return bare;
  const parsed = parseAddress(bare);
  if (parsed === null || parsed.length !== null) return hostname;
  if (parsed.family === 4) return parsed.bytes.join(".");
  const bytes = parsed.bytes;
  const groups = Array.from(
    { length: Math.floor(IPV6_PREFIX_BITS / 16) },
    (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16),
  );
  return `${groups.join(":")}::/${IPV6_PREFIX_BITS}`;
}
