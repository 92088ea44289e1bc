/**
 * Moderation: operators, kicks, bans and mutes. It acts on the hub only through the hub's public
 * methods, and writes bans through the {@linkcode BanList}'s store.
 *
 * @module
 */

import type { LeaveReason } from "../protocol/frames.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import type { Hub } from "./hub.ts";
import { type Ban, type BanList, describeUntil } from "./moderation.ts";
import type { User } from "./user.ts";
import { addressKey } from "../security/conn_limiter.ts";
import { AUTH_LOCKOUT_MS, MAX_AUTH_FAILURES, MAX_AUTH_TRACKED } from "../config/limits.ts";

/** Something that can check a secret without revealing it. */
export interface Verifier {
  matches(candidate: string | undefined): boolean;
}

/** Settings for a {@linkcode Moderator}. */
export interface ModeratorOptions {
  bans: BanList;
  /** The secret /oper takes; null disables operators. */
  operSecret: Verifier | null;
  /** Told of every moderation act, for the log. */
  audit: (event: string, fields: Record<string, string | number>) => void;
}

/** The hub's moderation desk. */
export class Moderator {
  readonly #hub: Hub;
  readonly #operSecret: Verifier | null;
  readonly #audit: ModeratorOptions["audit"];
  /** The ban list. */
  readonly bans: BanList;

  constructor(hub: Hub, options: ModeratorOptions) {
    this.#hub = hub;
    this.bans = options.bans;
    this.#operSecret = options.operSecret;
    this.#audit = options.audit;
  }

  /** Unlocks operator commands for `user` if `secret` is right. */
  oper(user: User, secret: string, ref?: string): boolean {
    if (this.#operSecret === null) {
      this.#hub.reply(user, "not_operator", "This server has no operators.", ref);
      return false;
    }
    if (!this.#operSecret.matches(secret)) {
      user.operFailures++;
      this.#audit("oper_failed", { nick: user.nick, address: user.address });
      this.#hub.reply(user, "not_operator", "Wrong operator secret.", ref);
      return false;
    }
    user.operator = true;
    this.#audit("oper", { nick: user.nick, address: user.address });
    this.#hub.send(user, { type: "info", text: "* You are now an operator.", ref });
    return true;
  }

  /** Removes `target` from the server with `reason`; the rooms hear it. */
  kick(by: User, target: User, reason: LeaveReason, message: string): void {
    this.#hub.flush();
    this.#audit(reason === "banned" ? "ban_kick" : "kick", {
      by: by.nick,
      nick: target.nick,
      address: target.address,
    });
    target.sink.deliver(new Outgoing({ type: "bye", reason, message }));
    this.#hub.logout(target, reason);
    target.sink.close(reason);
  }

  /** Bans a nick or address (and removes anyone it matches now). */
  ban(by: User, target: string, durationMs: number, reason: string): Ban {
    const now = this.#hub.now();
    const ban = this.bans.add(target, durationMs, reason, by.nick, now);
    this.#audit("ban", {
      by: by.nick,
      kind: ban.kind,
      target: ban.target,
      until: ban.until,
    });
    const why = `You were banned ${describeUntil(ban.until, now)} by ${by.nick}${
      reason ? `: ${reason}` : "."
    }`;
    for (const user of [...this.#hub.users]) {
      if (user !== by && this.bans.find(user.nick, user.address, now) === ban) {
        this.kick(by, user, "banned", why);
      }
    }
    return ban;
  }

  /** Lifts a ban. */
  unban(by: User, target: string): boolean {
    const removed = this.bans.remove(target);
    if (removed) this.#audit("unban", { by: by.nick, target });
    return removed;
  }

  /** Bans in force now. */
  activeBans(): Ban[] {
    return this.bans.active(this.#hub.now());
  }

  /** Mutes `target` for `durationMs` (0: until unmuted). */
  mute(by: User, target: User, durationMs: number): void {
    const until = durationMs === 0 ? Infinity : this.#hub.now() + durationMs;
    // By nick and by address, so that reconnecting does not lift it.
    this.#mutes.set(`nick:${target.key}`, until);
    if (target.address !== "") this.#mutes.set(`addr:${addressKey(target.address)}`, until);
    this.#audit("mute", { by: by.nick, nick: target.nick, ms: durationMs });
  }

  /** Lifts a mute on `target` (by nick and by address). */
  unmute(by: User, target: User): void {
    this.#mutes.delete(`nick:${target.key}`);
    if (target.address !== "") this.#mutes.delete(`addr:${addressKey(target.address)}`);
    this.#audit("unmute", { by: by.nick, nick: target.nick });
  }

  /** True (and tells the user) if they are muted now. */
  muted(user: User, ref?: string): boolean {
    if (this.#mutes.size === 0) return false;
    const now = this.#hub.now();
    let until = 0;
    for (const key of [`nick:${user.key}`, `addr:${addressKey(user.address)}`]) {
      const end = this.#mutes.get(key);
      if (end === undefined) continue;
      if (end <= now) this.#mutes.delete(key);
      else until = Math.max(until, end);
    }
    if (until === 0) return false;
    const left = until === Infinity ? "until an operator unmutes you" : describeUntil(until, now);
    this.#hub.reply(user, "muted", `You are muted ${left}.`, ref);
    return true;
  }

  /**
   * Seconds an address must wait before trying the password again, or 0. Addresses that got
   * it wrong {@linkcode MAX_AUTH_FAILURES} times are locked out for {@linkcode AUTH_LOCKOUT_MS}.
   */
  authLockedFor(address: string): number {
    const entry = this.#authFailures.get(addressKey(address));
    if (entry === undefined || entry.count < MAX_AUTH_FAILURES) return 0;
    const left = entry.until - this.#hub.now();
    if (left > 0) return Math.ceil(left / 1000);
    this.#authFailures.delete(addressKey(address));
    return 0;
  }

  /** Notes a wrong password from `address`. */
  authFailed(address: string): void {
    const key = addressKey(address);
    const entry = this.#authFailures.get(key) ?? { count: 0, until: 0 };
    entry.count++;
    entry.until = this.#hub.now() + AUTH_LOCKOUT_MS;
    // The table is capped: under a spray from very many addresses, forget the oldest.
    if (!this.#authFailures.has(key) && this.#authFailures.size >= MAX_AUTH_TRACKED) {
      const oldest = this.#authFailures.keys().next().value;
      if (oldest !== undefined) this.#authFailures.delete(oldest);
    }
    this.#authFailures.set(key, entry);
    this.#audit("bad_password", { address, failures: entry.count });
  }

  readonly #authFailures = new Map<string, { count: number; until: number }>();

  /** Mutes in force, by `nick:KEY` or `addr:KEY`, with their end (Infinity: until lifted). */
  readonly #mutes = new Map<string, number>();
}
