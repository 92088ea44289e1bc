/**
 * Mutes, with durations, by nick and by address. Held in memory, so the check on every message
 * is a lookup that never writes (an ended mute is ignored; the store's upkeep purges it), and
 * written through to a {@linkcode MuteStore} so that mutes outlive a restart.
 *
 * @module
 */

import { addressKey } from "../security/conn_limiter.ts";
import type { Change } from "./moderation.ts";
import { nickKey } from "./nick.ts";
import type { Mute, MuteStore, RecordTable } from "./ports.ts";

function inForce(until: number, now: number): boolean {
  return until === 0 || until > now;
}

function failure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Mutes by nick and by address, so that reconnecting does not lift them. */
export class MuteList {
  readonly #table: RecordTable<Mute> | null;
  /** By `nick:KEY` or `address:KEY`; `until` 0 means until lifted. */
  readonly #mutes = new Map<string, Mute>();

  /** Loads every mute saved in `store`; null keeps mutes in memory only. */
  constructor(store: MuteStore | null) {
    this.#table = store?.mutes ?? null;
    for (const mute of this.#table?.load() ?? []) {
      this.#mutes.set(`${mute.kind}:${mute.target}`, mute);
    }
  }

  /** Mutes this nick and address until `until` (0: until lifted); it holds at once. */
  mute(nick: string, address: string, until: number, by: string): Change<null> {
    let saveError: string | null = null;
    for (const mute of this.#keys(nick, address)) {
      const entry = { ...mute, until, by };
      this.#mutes.set(`${entry.kind}:${entry.target}`, entry);
      try {
        this.#table?.save(entry);
      } catch (error) {
        saveError ??= failure(error);
      }
    }
    return { value: null, saveError };
  }

  /** Lifts the mute on this nick and address. */
  unmute(nick: string, address: string): Change<null> {
    let saveError: string | null = null;
    for (const { kind, target } of this.#keys(nick, address)) {
      if (!this.#mutes.delete(`${kind}:${target}`)) continue;
      try {
        this.#table?.delete(kind, target);
      } catch (error) {
        saveError ??= failure(error);
      }
    }
    return { value: null, saveError };
  }

  /**
   * Takes in a mute another node saved (`mute`) or lifted (`lifted`: its kind and target), in
   * memory only: the shared table holds it already, and writing it again would publish it again.
   */
  applyRemote(change: { mute: Mute } | { lifted: Pick<Mute, "kind" | "target"> }): void {
    if ("mute" in change) {
      const { mute } = change;
      this.#mutes.set(`${mute.kind}:${mute.target}`, { ...mute });
    } else this.#mutes.delete(`${change.lifted.kind}:${change.lifted.target}`);
  }

  /**
   * When the mute on this nick or address ends (Infinity: when lifted), or 0 if there is none
   * now. A pure lookup: it writes nothing, and ignores mutes that have ended.
   */
  mutedUntil(nick: string, address: string, now: number): number {
    if (this.#mutes.size === 0) return 0;
    let until = 0;
    for (const { kind, target } of this.#keys(nick, address)) {
      const mute = this.#mutes.get(`${kind}:${target}`);
      if (mute === undefined || !inForce(mute.until, now)) continue;
      until = Math.max(until, mute.until === 0 ? Infinity : mute.until);
    }
    return until;
  }

  #keys(nick: string, address: string): { kind: Mute["kind"]; target: string }[] {
    const keys: { kind: Mute["kind"]; target: string }[] = [{
      kind: "nick",
      target: nickKey(nick),
    }];
    if (address !== "") keys.push({ kind: "address", target: addressKey(address) });
    return keys;
  }
}
