/**
 * Moderation: operators, kicks, bans and mutes. It acts on the hub only through the hub's public
 * methods, and writes bans through the {@linkcode BanList}'s store.
 *
 * @module
 */

import type { LeaveReason } from "../protocol/frames.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import type { Hub } from "./hub.ts";
import {
  type Ban,
  type BanList,
  type BanTarget,
  type Change,
  describeUntil,
} from "./moderation.ts";
import type { User } from "./user.ts";
import { formatPrefix } from "./address_prefix.ts";
import { AUTH_LOCKOUT_MS, MAX_AUTH_FAILURES, MAX_AUTH_TRACKED } from "../config/limits.ts";
import { Lockout } from "./lockout.ts";

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

/** The same lockout for the server password and for /oper, each counted on its own. */
const LOCKOUT = {
  maxFailures: MAX_AUTH_FAILURES,
  lockoutMs: AUTH_LOCKOUT_MS,
  maxTracked: MAX_AUTH_TRACKED,
};

/** The hub's moderation desk. */
export class Moderator {
  readonly #hub: Hub;
  readonly #operSecret: Verifier | null;
  readonly #audit: ModeratorOptions["audit"];
  readonly #authFailures = new Lockout(LOCKOUT);
  readonly #operFailures = new Lockout(LOCKOUT);
  /** The ban list (and, beside it, the mutes). */
  readonly bans: BanList;

  constructor(hub: Hub, options: ModeratorOptions) {
    this.#hub = hub;
    this.bans = options.bans;
    this.#operSecret = options.operSecret;
    this.#audit = options.audit;
  }

  /**
   * Unlocks operator commands for `user` if `secret` is right. An address that got it wrong
   * {@linkcode MAX_AUTH_FAILURES} times, over any number of connections, is refused for
   * {@linkcode AUTH_LOCKOUT_MS} whatever it sends.
   */
  oper(user: User, secret: string, ref?: string): boolean {
    if (this.#operSecret === null) {
      this.#hub.reply(user, "not_operator", "This server has no operators.", ref);
      return false;
    }
    const now = this.#hub.now();
    const wait = this.#operFailures.lockedFor(user.address, now);
    if (wait > 0) {
      user.operFailures++;
      this.#audit("oper_locked_out", { nick: user.nick, address: user.address });
      this.#hub.reply(
        user,
        "not_operator",
        `Too many wrong operator secrets from your address; try again in ${wait} s.`,
        ref,
      );
      return false;
    }
    if (!this.#operSecret.matches(secret)) {
      user.operFailures++;
      const failures = this.#operFailures.failed(user.address, now);
      this.#audit("oper_failed", { nick: user.nick, address: user.address, failures });
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

  /**
   * Bans a nick or an address block and removes anyone it matches now. The ban holds for this
   * run even if it could not be saved (`saveError` then says why): the people it names are
   * removed either way, and the operator is told it will not survive a restart.
   */
  ban(by: User, target: BanTarget, durationMs: number, reason: string): Change<Ban> {
    const now = this.#hub.now();
    const change = this.bans.add(target, durationMs, reason, by.nick, now);
    const ban = change.value;
    this.#audit("ban", {
      by: by.nick,
      kind: ban.kind,
      target: ban.target,
      until: ban.until,
      ...(change.saveError === null ? {} : { not_saved: change.saveError }),
    });
    const why = `You were banned ${describeUntil(ban.until, now)} by ${by.nick}${
      reason ? `: ${reason}` : "."
    }`;
    for (const user of [...this.#hub.users]) {
      if (user !== by && this.bans.covers(ban, user.nick, user.address)) {
        this.kick(by, user, "banned", why);
      }
    }
    return change;
  }

  /** Lifts a ban; `value` is false if there was none in force. */
  unban(by: User, target: BanTarget): Change<boolean> {
    const change = this.bans.remove(target, this.#hub.now());
    if (change.value) {
      this.#audit("unban", {
        by: by.nick,
        target: describeTarget(target),
        ...(change.saveError === null ? {} : { not_saved: change.saveError }),
      });
    }
    return change;
  }

  /** Bans in force now. */
  activeBans(): Ban[] {
    return this.bans.active(this.#hub.now());
  }

  /** Mutes `target` (by nick and by address) for `durationMs` (0: until unmuted). */
  mute(by: User, target: User, durationMs: number): Change<null> {
    const until = durationMs === 0 ? 0 : this.#hub.now() + durationMs;
    const change = this.bans.mutes.mute(target.nick, target.address, until, by.nick);
    this.#audit("mute", {
      by: by.nick,
      nick: target.nick,
      ms: durationMs,
      ...(change.saveError === null ? {} : { not_saved: change.saveError }),
    });
    return change;
  }

  /** Lifts a mute on `target` (by nick and by address). */
  unmute(by: User, target: User): Change<null> {
    const change = this.bans.mutes.unmute(target.nick, target.address);
    this.#audit("unmute", { by: by.nick, nick: target.nick });
    return change;
  }

  /** True (and tells the user) if they are muted now. Writes nothing. */
  muted(user: User, ref?: string): boolean {
    const now = this.#hub.now();
    const until = this.bans.mutes.mutedUntil(user.nick, user.address, now);
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
    return this.#authFailures.lockedFor(address, this.#hub.now());
  }

  /** Notes a wrong password from `address`. */
  authFailed(address: string): void {
    const failures = this.#authFailures.failed(address, this.#hub.now());
    this.#audit("bad_password", { address, failures });
  }
}

function describeTarget(target: BanTarget): string {
  return target.kind === "nick" ? target.nick : formatPrefix(target.prefix);
}
