/**
 * Bans, with durations (and, beside them, the mutes of mute_list.ts). Both lists live in
 * memory, so that the checks (a ban at the door, a mute on every message) are lookups that
 * never touch the store and never write: an expired entry is simply ignored, and the store's
 * upkeep purges it later. Changes are written
 * through to a {@linkcode BanStore} / {@linkcode MuteStore} so that they outlive a restart; when
 * that write fails, the change still holds for this run and the caller is told why it was not
 * saved.
 *
 * @module
 */

import { IPV6_PREFIX_BITS } from "../config/security_limits.ts";
import {
  type AddressPrefix,
  formatPrefix,
  parseAddress,
  prefixKey,
  prefixOf,
} from "./address_prefix.ts";
import { displayNick, nickKey } from "./nick.ts";
import { MuteList } from "./mute_list.ts";
import type { Ban, BanStore, MuteStore, RecordTable } from "./ports.ts";

// The store interfaces live in ports.ts; these re-exports keep older imports working.
export type { Ban, BanStore, Mute, MuteStore, RecordTable } from "./ports.ts";
export { MuteList };

/** What a ban is aimed at, said explicitly. */
export type BanTarget =
  | { kind: "nick"; nick: string }
  | { kind: "address"; prefix: AddressPrefix };

/** A change that holds in memory; `saveError` names why it was not saved, if it was not. */
export interface Change<T> {
  /** What was changed (the ban made, whether one was lifted, ...). */
  value: T;
  /** Null when saved; else the cause, such as "the disk is full". */
  saveError: string | null;
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

/**
 * The block a bare address stands for in a ban: the host for IPv4, its /64 for IPv6 (what one
 * user holds, as `--max-conns-per-ip` counts it). Null if `text` is not an address.
 */
export function addressBlock(text: string): AddressPrefix | null {
  const parsed = parseAddress(text);
  if (parsed === null) return null;
  const bare = parsed.family === 4 ? 32 : IPV6_PREFIX_BITS;
  return prefixOf(parsed.family, parsed.bytes, parsed.length ?? bare);
}

function inForce(until: number, now: number): boolean {
  return until === 0 || until > now;
}

function failure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Settings for a {@linkcode BanList}. */
export interface BanListOptions {
  /** Where mutes are kept. @default nowhere: mutes last until the process ends */
  mutes?: MuteStore;
}

/**
 * The ban list, and the mute list beside it. Address bans are indexed by block, so the check at
 * the door is one lookup per prefix length in use.
 */
export class BanList {
  readonly #table: RecordTable<Ban>;
  readonly #nicks = new Map<string, Ban>();
  /** Address bans by {@linkcode prefixKey}, or `raw:` plus the text for one that never parsed. */
  readonly #blocks = new Map<string, Ban>();
  /** Prefix lengths in use per family, longest first, with how many bans use each. */
  readonly #lengths = { 4: new Map<number, number>(), 6: new Map<number, number>() };
  /** The mutes. */
  readonly mutes: MuteList;

  /** Loads every ban (and, from `options.mutes`, every mute) saved. Throws if they cannot be read. */
  constructor(store: BanStore, options: BanListOptions = {}) {
    this.#table = store.bans;
    for (const ban of this.#table.load()) this.#index(ban);
    this.mutes = new MuteList(options.mutes ?? null);
  }

  /** Bans `target` for `durationMs` (0: forever); it holds at once, saved or not. */
  add(target: BanTarget, durationMs: number, reason: string, by: string, now: number): Change<Ban> {
    const ban: Ban = {
      kind: target.kind,
      // A nick is kept as written (and folded wherever it is compared), so /bans shows what was
      // banned and a later change of folding applies to it.
      target: target.kind === "nick" ? displayNick(target.nick) : formatPrefix(target.prefix),
      until: durationMs === 0 ? 0 : now + durationMs,
      reason,
      by,
    };
    const old = this.#lookup(target);
    if (old !== undefined) this.#unindex(old);
    this.#index(ban);
    try {
      this.#table.save(ban);
      // A ban saved by an older version may spell the same block another way.
      if (old !== undefined && old.target !== ban.target) {
        this.#table.delete(old.kind, old.target);
      }
      return { value: ban, saveError: null };
    } catch (error) {
      return { value: ban, saveError: failure(error) };
    }
  }

  /**
   * Takes in a ban another node saved (`ban`) or lifted (`lifted`: its kind and target), in
   * memory only: the shared table holds it already, and writing it again would publish it again.
   */
  applyRemote(change: { ban: Ban } | { lifted: Pick<Ban, "kind" | "target"> }): void {
    if ("ban" in change) {
      const old = this.#stored(change.ban);
      if (old !== undefined) this.#unindex(old);
      this.#index({ ...change.ban });
      return;
    }
    // Only that very row: `add` deletes an old spelling of a block after saving the new one,
    // which is held under the same index key and must stay.
    const old = this.#stored(change.lifted);
    if (old !== undefined && old.target === change.lifted.target) this.#unindex(old);
  }

  /** Lifts the ban on `target`; `value` is false if none was in force. */
  remove(target: BanTarget, now: number): Change<boolean> {
    const ban = this.#lookup(target);
    if (ban === undefined) return { value: false, saveError: null };
    this.#unindex(ban);
    try {
      this.#table.delete(ban.kind, ban.target);
    } catch (error) {
      return { value: inForce(ban.until, now), saveError: failure(error) };
    }
    return { value: inForce(ban.until, now), saveError: null };
  }

  /** True if a ban is in force on exactly this nick (not an address). */
  bansNick(nick: string, now: number): boolean {
    const ban = this.#nicks.get(nickKey(nick));
    return ban !== undefined && inForce(ban.until, now);
  }

  /**
   * The ban that applies to this nick or address now, if any. A pure lookup: it writes nothing,
   * and ignores bans that have ended.
   */
  find(nick: string | null, address: string, now: number): Ban | undefined {
    const byAddress = this.#blocks.size === 0 ? undefined : this.#findAddress(address, now);
    if (byAddress !== undefined || nick === null) return byAddress;
    const byNick = this.#nicks.get(nickKey(nick));
    return byNick !== undefined && inForce(byNick.until, now) ? byNick : undefined;
  }

  /** True if `ban` covers this nick or address. */
  covers(ban: Ban, nick: string, address: string): boolean {
    if (ban.kind === "nick") return nickKey(ban.target) === nickKey(nick);
    const parsed = parseAddress(address);
    if (parsed === null) return ban.target === address;
    const block = addressBlock(ban.target);
    return block !== null && block.family === parsed.family &&
      prefixKey(prefixOf(parsed.family, parsed.bytes, block.length)) === prefixKey(block);
  }

  /** Bans in force now. */
  active(now: number): Ban[] {
    return [...this.#nicks.values(), ...this.#blocks.values()].filter((b) => inForce(b.until, now));
  }

  #findAddress(address: string, now: number): Ban | undefined {
    const parsed = parseAddress(address);
    if (parsed === null) {
      const ban = this.#blocks.get(`raw:${address}`);
      return ban !== undefined && inForce(ban.until, now) ? ban : undefined;
    }
    for (const length of this.#lengths[parsed.family].keys()) {
      const ban = this.#blocks.get(prefixKey(prefixOf(parsed.family, parsed.bytes, length)));
      if (ban !== undefined && inForce(ban.until, now)) return ban;
    }
    return undefined;
  }

  /** The ban held under the same index key as `ban` (a nick, or a block however written). */
  #stored(ban: Pick<Ban, "kind" | "target">): Ban | undefined {
    if (ban.kind === "nick") return this.#nicks.get(nickKey(ban.target));
    return this.#blocks.get(this.#blockKey(ban).key);
  }

  #lookup(target: BanTarget): Ban | undefined {
    return target.kind === "nick"
      ? this.#nicks.get(nickKey(target.nick))
      : this.#blocks.get(prefixKey(target.prefix));
  }

  /** The index key of an address ban (as stored: older rows may be in another notation). */
  #blockKey(ban: Pick<Ban, "target">): { key: string; block: AddressPrefix | null } {
    const block = addressBlock(ban.target);
    return { key: block === null ? `raw:${ban.target}` : prefixKey(block), block };
  }

  #index(ban: Ban): void {
    if (ban.kind === "nick") {
      // Folded again: a ban saved under an older folding of nicks must hold as nicks fold now.
      this.#nicks.set(nickKey(ban.target), ban);
      return;
    }
    const { key, block } = this.#blockKey(ban);
    this.#blocks.set(key, ban);
    if (block === null) return;
    const lengths = this.#lengths[block.family];
    lengths.set(block.length, (lengths.get(block.length) ?? 0) + 1);
    // Longest first, so that the most specific ban is the one reported.
    const sorted = [...lengths].sort((a, b) => b[0] - a[0]);
    lengths.clear();
    for (const [length, count] of sorted) lengths.set(length, count);
  }

  #unindex(ban: Ban): void {
    if (ban.kind === "nick") {
      this.#nicks.delete(nickKey(ban.target));
      return;
    }
    const { key, block } = this.#blockKey(ban);
    this.#blocks.delete(key);
    if (block === null) return;
    const lengths = this.#lengths[block.family];
    const left = (lengths.get(block.length) ?? 1) - 1;
    if (left > 0) lengths.set(block.length, left);
    else lengths.delete(block.length);
  }
}
