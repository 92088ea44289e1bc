/**
 * Bans, with durations: who may not log in (by nick or by address) and until when. The list is
 * held in memory for O(1) checks and written through to a {@linkcode BanStore} so that bans
 * outlive a restart.
 *
 * @module
 */

import { addressKey } from "../security/conn_limiter.ts";
import { nickKey } from "./nick.ts";

/** One ban. `until` 0 means forever. */
export interface Ban {
  /** `nick` bans match the nick case-insensitively; `address` bans match the client address. */
  kind: "nick" | "address";
  /** The folded nick, or the address key. */
  target: string;
  /** Milliseconds since the epoch when the ban ends; 0 for never. */
  until: number;
  reason: string;
  by: string;
}

/** Durable storage for bans. */
export interface BanStore {
  /** Every ban saved, expired ones included. */
  loadBans(): Ban[];
  /** Saves or replaces a ban. */
  saveBan(ban: Ban): void;
  /** Removes a ban. */
  deleteBan(kind: Ban["kind"], target: string): void;
}

/** Units accepted in durations such as `30s`, `10m`, `2h`, `7d`. */
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `30s`, `10m`, `2h` or `7d` into milliseconds; null if it is not a duration. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,6})([smhd])$/.exec(text);
  return match ? Number(match[1]) * UNITS[match[2]] : null;
}

/** Describes how long is left, as `for 9m` or `permanently`. */
export function describeUntil(until: number, now: number): string {
  if (until === 0) return "permanently";
  const left = Math.max(0, until - now);
  // A second of slack, so that a ban set "for 1h" a moment ago still reads "for 1h".
  for (const [unit, ms] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000]] as const) {
    if (left + 1000 >= ms) return `for ${Math.max(1, Math.ceil((left - 1000) / ms))}${unit}`;
  }
  return `for ${Math.ceil(left / 1000)}s`;
}

/** True if `text` looks like an IP address rather than a nick. */
export function isAddress(text: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) ||
    (text.includes(":") && /^[0-9a-fA-F:.[\]]+$/.test(text));
}

/** The ban list. */
export class BanList {
  readonly #store: BanStore;
  readonly #bans = new Map<string, Ban>();

  constructor(store: BanStore) {
    this.#store = store;
    for (const ban of store.loadBans()) this.#bans.set(`${ban.kind}:${ban.target}`, ban);
  }

  /** Bans a nick or an address (told apart by its shape) for `durationMs` (0: forever). */
  add(target: string, durationMs: number, reason: string, by: string, now: number): Ban {
    const kind = isAddress(target) ? "address" : "nick";
    const ban: Ban = {
      kind,
      target: kind === "address" ? addressKey(target) : nickKey(target),
      until: durationMs === 0 ? 0 : now + durationMs,
      reason,
      by,
    };
    this.#bans.set(`${ban.kind}:${ban.target}`, ban);
    this.#store.saveBan(ban);
    return ban;
  }

  /** Lifts a ban; false if there was none. */
  remove(target: string): boolean {
    const kind = isAddress(target) ? "address" : "nick";
    const key = kind === "address" ? addressKey(target) : nickKey(target);
    const existed = this.#bans.delete(`${kind}:${key}`);
    if (existed) this.#store.deleteBan(kind, key);
    return existed;
  }

  /** The ban that applies to this nick or address now, if any. Expired bans are dropped. */
  find(nick: string | null, address: string, now: number): Ban | undefined {
    const byAddress = this.#live(`address:${addressKey(address)}`, now);
    if (byAddress !== undefined || nick === null) return byAddress;
    return this.#live(`nick:${nickKey(nick)}`, now);
  }

  /** Bans in force now. */
  active(now: number): Ban[] {
    return [...this.#bans.keys()].map((k) => this.#live(k, now)).filter((b): b is Ban =>
      b !== undefined
    );
  }

  #live(key: string, now: number): Ban | undefined {
    const ban = this.#bans.get(key);
    if (ban === undefined) return undefined;
    if (ban.until !== 0 && ban.until <= now) {
      this.#bans.delete(key);
      this.#store.deleteBan(ban.kind, ban.target);
      return undefined;
    }
    return ban;
  }
}
