/**
 * The door every front end shares: the checks a new connection passes before it costs the
 * server anything, whatever listener accepted it. A banned address, too many logins in progress
 * server-wide, too many connections from one address in the last minute (`--max-logins-per-minute`)
 * or at once (`--max-conns-per-ip`) are refused with one error frame. Refusals are counted, and
 * logged at most once per address per window. The door only reads: no store write happens here.
 *
 * @module
 */

import type { Hub } from "../core/hub.ts";
import { type ErrorFrame, errorFrame } from "../protocol/frames.ts";
import type { Logger } from "../log/logger.ts";
import { LogThrottle } from "../log/throttle.ts";
import type { RejectReason } from "../metrics/sockchat_metrics.ts";
import { AddressBudget } from "../security/address_budget.ts";
import { addressKey, type ConnLease, ConnLimiter } from "../security/conn_limiter.ts";

/** Settings for a {@linkcode Door}. */
export interface DoorOptions {
  /** For the ban list and the clock. */
  hub: Hub;
  /** Where refusals are logged, once per address per window. */
  logger: Logger;
  /** Connections one address may hold open. */
  maxConnsPerIp: number;
  /** Connections one address may open per minute; 0: no limit. */
  maxLoginsPerMinute: number;
  /** Connections open without a login, server-wide (TLS handshakes included). */
  maxPendingLogins: number;
  /** Open connections that have not logged in yet, across every listener, now. */
  pendingLogins: () => number;
  /** Counts a refusal. */
  rejected: (reason: RejectReason) => void;
  /**
   * Cluster mode: counts a login from an address on every node (the bus's `loginRate`) and
   * resolves to the logins counted from it in the current minute, so that
   * `--max-logins-per-minute` holds across the cluster, not per node. @default none
   */
  sharedLogins?: (address: string) => Promise<number>;
}

/** A refusal the door decided after admitting (the cluster-wide login rate). */
export interface DoorRefusal {
  /** For the counts and the log. */
  reason: RejectReason;
  /** The error frame to send. */
  error: ErrorFrame;
}

/**
 * What a {@linkcode Door.check} charges. A socket front end charges `"both"` at once. The web port
 * charges `"connection"` for each socket it accepts (a slot of `--max-conns-per-ip` and a place
 * among the logins in progress, pages included) and `"login"` (`--max-logins-per-minute`) when
 * that socket asks for `/ws`, since one connection may carry pages and no login.
 */
export type DoorCharge = "both" | "connection" | "login";

/** The door's answer: come in (holding a per-address slot), or a refusal to send. */
export type DoorVerdict =
  | { ok: true; lease: ConnLease }
  | { ok: false; reason: RejectReason; error: ErrorFrame };

/**
 * Admission checks shared by every listener.
 *
 * @example
 * ```ts
 * import type { ErrorFrame } from "../protocol/frames.ts";
 *
 * declare const door: Door;
 * declare const conn: Deno.TcpConn;
 * declare function refuse(conn: Deno.TcpConn, error: ErrorFrame): void;
 * declare function serve(conn: Deno.TcpConn): Promise<void>;
 *
 * const verdict = door.check(conn.remoteAddr.hostname);
 * if (!verdict.ok) refuse(conn, verdict.error);
 * else {
 *   try {
 *     await serve(conn);
 *   } finally {
 *     verdict.lease.release();
 *   }
 * }
 * ```
 */
export class Door {
  readonly #options: DoorOptions;
  readonly #limiter: ConnLimiter;
  readonly #logins: AddressBudget | null;
  readonly #refusals = new LogThrottle();

  /** Builds the per-address limits from `options`. */
  constructor(options: DoorOptions) {
    this.#options = options;
    this.#limiter = new ConnLimiter(options.maxConnsPerIp);
    const perMinute = options.maxLoginsPerMinute;
    this.#logins = perMinute === 0
      ? null
      : new AddressBudget({ capacity: perMinute, refillPerSecond: perMinute / 60 });
  }

  /**
   * True if `address` is banned now. The web port asks it of every request, pages included,
   * since `Deno.serve` hands it requests, not connections.
   */
  banned(address: string): boolean {
    const { hub } = this.#options;
    return hub.moderation.bans.find(null, address, hub.now()) !== undefined;
  }

  /**
   * Decides about a connection from `address`; an admitted one holds a slot until released
   * (with `charge` `"login"`, the connection already holds one: the lease is empty).
   */
  check(address: string, charge: DoorCharge = "both"): DoorVerdict {
    if (this.banned(address)) return refusal("banned", "Your address is banned.");
    // Connections that have not logged in yet cost memory and belong to nobody: cap them
    // server-wide, so that many addresses together cannot hold the door open either.
    if (charge !== "login" && this.#options.pendingLogins() >= this.#options.maxPendingLogins) {
      return refusal(
        "too_many_connections",
        "The server has too many logins in progress; try again in a moment.",
      );
    }
    if (charge !== "connection" && this.#logins !== null && !this.#logins.take(address)) {
      return refusal(
        "too_many_connections",
        `Too many connections from your address in the last minute; try again in ${
          this.#logins.waitSeconds(address)
        } s.`,
      );
    }
    if (charge === "login") return { ok: true, lease: { key: addressKey(address), release() {} } };
    const lease = this.#limiter.acquire(address);
    if (lease === null) {
      return refusal(
        "too_many_connections",
        "Too many connections from your address; close one and try again.",
      );
    }
    return { ok: true, lease };
  }

  /**
   * Cluster mode: charges a login from `address` to the cluster-wide count; resolves to a
   * refusal when the address has logged in more than `--max-logins-per-minute` times this
   * minute across every node, else null. Null at once (no promise) when there is no such
   * count. A Redis that cannot be reached lets the login through: the node's own rate still
   * holds, and every login then fails on its own clearer error.
   */
  sharedCheck(address: string): Promise<DoorRefusal | null> | null {
    const shared = this.#options.sharedLogins;
    const perMinute = this.#options.maxLoginsPerMinute;
    if (shared === undefined || perMinute === 0) return null;
    return shared(addressKey(address)).then(
      (count): DoorRefusal | null =>
        count <= perMinute ? null : {
          reason: "too_many_connections",
          error: errorFrame(
            "too_many_connections",
            "Too many connections from your address in the last minute (on every server of " +
              "this chat); try again in a minute.",
            { fatal: true },
          ),
        },
      () => null,
    );
  }

  /**
   * Counts a refusal and logs it, once per address per window (with how many were left out):
   * a client refused thousands of times a second must not fill the operator's disk.
   */
  refused(remote: Deno.NetAddr, reason: RejectReason, detail?: string): void {
    this.#options.rejected(reason);
    const suppressed = this.#refusals.take(addressKey(remote.hostname), performance.now());
    if (suppressed === null) return;
    this.#options.logger.info("refused", {
      remote: `${remote.hostname}:${remote.port}`,
      reason,
      ...(detail === undefined ? {} : { detail }),
      ...(suppressed > 0 ? { suppressed } : {}),
    });
  }
}

function refusal(reason: "banned" | "too_many_connections", message: string): DoorVerdict {
  return { ok: false, reason, error: errorFrame(reason, message, { fatal: true }) };
}
