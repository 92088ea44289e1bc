/**
 * Moderation: operators, kicks, bans and mutes. It acts on the server only through the narrow
 * {@linkcode ModeratorHost} (the hub implements it), and writes bans through the
 * {@linkcode BanList}'s store.
 *
 * @module
 */

import type { LeaveReason } from "../protocol/frames.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import {
  type Ban,
  type BanList,
  type BanTarget,
  type Change,
  describeUntil,
} from "./moderation.ts";
import type { User } from "./user.ts";
import { formatPrefix } from "./address_prefix.ts";
import { Lockout, SECRET_LOCKOUT } from "./lockout.ts";
import type { Mute, Verifier } from "./ports.ts";
import { reply, send } from "./deliver.ts";
import type { ClusterBus } from "./cluster.ts";
import { isMirror } from "./cluster_moderation.ts";

// Verifier is a port (ports.ts); config/server_config.ts still imports it from here.
export type { Verifier } from "./ports.ts";

/**
 * What moderation needs of the server: the clock, who is here, and a way to remove someone.
 * The hub implements it; nothing here calls anything else of the hub.
 */
export interface ModeratorHost {
  /** The clock, in milliseconds since the epoch. */
  now(): number;
  /** Every logged-in user. */
  readonly users: Iterable<User>;
  /** Commits and relays queued messages (so a kick comes after what was said before it). */
  flush(): void;
  /** Removes `user` from every room and from the server, telling the rooms why. */
  logout(user: User, reason: LeaveReason): void;
}

/** Settings for a {@linkcode Moderator}. */
export interface ModeratorOptions {
  /** The ban list (and, beside it, the mutes). */
  bans: BanList;
  /** The secret /oper takes; null disables operators. */
  operSecret: Verifier | null;
  /** Told of every moderation act, for the log. */
  audit: (event: string, fields: Record<string, string | number>) => void;
  /**
   * The cluster (`serve --redis`): a kick or ban of a user another node holds is published to
   * that node as a `kill`. @default none: one server
   */
  cluster?: ClusterBus | null;
}

/**
 * The moderation desk: /oper, kicks, bans and mutes, and the mute check every message passes.
 *
 * @example
 * ```ts
 * import { BanList } from "./moderation.ts";
 * import { MemoryHistory } from "../store/memory/history.ts";
 * import type { User } from "./user.ts";
 * const host = { now: Date.now, users: [] as User[], flush() {}, logout() {} };
 * const store = new MemoryHistory();
 * const moderator = new Moderator(host, {
 *   bans: new BanList(store.moderation),
 *   operSecret: null,
 *   audit: () => {},
 * });
 * moderator.activeBans(); // []
 * ```
 */
export class Moderator {
  readonly #host: ModeratorHost;
  readonly #operSecret: Verifier | null;
  readonly #audit: ModeratorOptions["audit"];
  readonly #operFailures = new Lockout({ ...SECRET_LOCKOUT, kind: "oper" });
  readonly #cluster: ClusterBus | null;
  /** The ban list (and, beside it, the mutes). */
  readonly bans: BanList;

  /** A desk acting on `host` with these settings. */
  constructor(host: ModeratorHost, options: ModeratorOptions) {
    this.#host = host;
    this.bans = options.bans;
    this.#operSecret = options.operSecret;
    this.#audit = options.audit;
    this.#cluster = options.cluster ?? null;
  }

  /** True if the server has an operator secret (`--oper-file`): /oper and IRC OPER can work. */
  get hasOperSecret(): boolean {
    return this.#operSecret !== null;
  }

  /**
   * Unlocks operator commands for `user` if `secret` is right. An address that got it wrong
   * `MAX_AUTH_FAILURES` times, over any number of connections, is refused for
   * `AUTH_LOCKOUT_MS` whatever it sends (see {@linkcode SECRET_LOCKOUT}).
   */
  oper(user: User, secret: string, ref?: string): boolean {
    if (this.#operSecret === null) {
      reply(user, "not_operator", "This server has no operators.", ref);
      return false;
    }
    const now = this.#host.now();
    const wait = this.#operFailures.lockedFor(user.address, now);
    if (wait > 0) {
      user.operFailures++;
      this.#audit("oper_locked_out", { nick: user.nick, address: user.address });
      reply(
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
      reply(user, "not_operator", "Wrong operator secret.", ref);
      return false;
    }
    user.operator = true;
    this.#audit("oper", { nick: user.nick, address: user.address });
    send(user, { type: "info", text: "* You are now an operator.", ref });
    return true;
  }

  /**
   * Removes `target` from the server with `reason`, saying `message` to them first; the rooms
   * hear why.
   */
  kick(by: User, target: User, reason: LeaveReason, message: string): void {
    // A user another node holds: that node ends their session (and tells its rooms); here the
    // mirror leaves at once, so this node's rooms hear it now, not a log round trip later.
    if (isMirror(target)) {
      this.#cluster?.publish({ t: "kill", nick: target.nick, reason, message, by: by.nick });
    }
    this.end(by.nick, target, reason, message);
  }

  /**
   * Ends `target`'s session for `by` (an operator's nick, maybe on another node), saying
   * `message` to them first; the rooms hear why. What a kick, a kill or a ban does to one user.
   */
  end(by: string, target: User, reason: LeaveReason, message: string): void {
    if (!target.online) return;
    this.#host.flush();
    this.#audit(reason === "banned" ? "ban_kick" : "kick", {
      by,
      nick: target.nick,
      address: target.address,
    });
    target.sink.deliver(new Outgoing({ type: "bye", reason, message }));
    this.#host.logout(target, reason);
    target.sink.close(reason);
  }

  /**
   * Bans a nick or an address block and removes anyone it matches now. The ban holds for this
   * run even if it could not be saved (`saveError` then says why): the people it names are
   * removed either way, and the operator is told it will not survive a restart.
   */
  ban(by: User, target: BanTarget, durationMs: number, reason: string): Change<Ban> {
    const now = this.#host.now();
    const change = this.bans.add(target, durationMs, reason, by.nick, now);
    const ban = change.value;
    this.#audit("ban", {
      by: by.nick,
      kind: ban.kind,
      target: ban.target,
      until: ban.until,
      ...(change.saveError === null ? {} : { not_saved: change.saveError }),
    });
    const why = banMessage(ban, now);
    for (const user of [...this.#host.users]) {
      if (user !== by && this.bans.covers(ban, user.nick, user.address)) {
        this.kick(by, user, "banned", why);
      }
    }
    return change;
  }

  /**
   * Takes in a ban another node made or lifted (see `BanList.applyRemote`); a ban made removes
   * the users it matches that this node holds, told as a ban made here tells them.
   */
  applyBan(change: { ban: Ban } | { lifted: Pick<Ban, "kind" | "target"> }): void {
    this.bans.applyRemote(change);
    if (!("ban" in change)) return;
    const ban = change.ban;
    const now = this.#host.now();
    if (ban.until !== 0 && ban.until <= now) return;
    const why = banMessage(ban, now);
    for (const user of [...this.#host.users]) {
      if (!isMirror(user) && this.bans.covers(ban, user.nick, user.address)) {
        this.end(ban.by, user, "banned", why);
      }
    }
  }

  /**
   * Takes in a mute another node made or lifted (see `MuteList.applyRemote`), and tells the
   * users this node holds whom it silences, or lets speak again, as a mute made here does.
   */
  applyMute(change: { mute: Mute } | { lifted: Pick<Mute, "kind" | "target"> }): void {
    const local = [...this.#host.users].filter((u) => !isMirror(u));
    const wasMuted = new Set(local.filter((u) => this.isMuted(u)));
    this.bans.mutes.applyRemote(change);
    const now = this.#host.now();
    for (const user of local) {
      const muted = this.isMuted(user);
      if (muted === wasMuted.has(user)) continue;
      if (muted && "mute" in change) {
        const { until, by } = change.mute;
        const how = until === 0 ? "until an operator unmutes you" : describeUntil(until, now);
        send(user, {
          type: "info",
          text: `* ${by} muted you ${how}: you can read, but not speak.`,
        });
      } else if (!muted) {
        send(user, { type: "info", text: "* You were unmuted: you may speak again." });
      }
    }
  }

  /** Lifts a ban; `value` is false if there was none in force. */
  unban(by: User, target: BanTarget): Change<boolean> {
    const change = this.bans.remove(target, this.#host.now());
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
    return this.bans.active(this.#host.now());
  }

  /**
   * Mutes `target` (by nick and by address) for `durationMs` (0: until unmuted), and tells them
   * at once, not when they next try to speak; so is anyone else the address mute silences now.
   */
  mute(by: User, target: User, durationMs: number): Change<null> {
    const now = this.#host.now();
    const until = durationMs === 0 ? 0 : now + durationMs;
    const speaking = this.#speaking(target);
    const change = this.bans.mutes.mute(target.nick, target.address, until, by.nick);
    const how = until === 0 ? "until an operator unmutes you" : describeUntil(until, now);
    const notice = `* ${by.nick} muted you ${how}: you can read, but not speak.`;
    for (const user of [target, ...speaking]) {
      if (user === target || this.isMuted(user)) send(user, { type: "info", text: notice });
    }
    this.#audit("mute", {
      by: by.nick,
      nick: target.nick,
      ms: durationMs,
      ...(change.saveError === null ? {} : { not_saved: change.saveError }),
    });
    return change;
  }

  /**
   * Lifts a mute on `target` (by nick and by address), and tells whoever may speak again
   * because of it.
   */
  unmute(by: User, target: User): Change<null> {
    const silenced = [...this.#host.users].filter((u) => this.isMuted(u));
    const change = this.bans.mutes.unmute(target.nick, target.address);
    for (const user of silenced) {
      if (this.isMuted(user)) continue;
      send(user, { type: "info", text: `* ${by.nick} unmuted you: you may speak again.` });
    }
    this.#audit("unmute", { by: by.nick, nick: target.nick });
    return change;
  }

  /** True (and tells the user) if they are muted now. Writes nothing. */
  muted(user: User, ref?: string): boolean {
    const now = this.#host.now();
    const until = this.bans.mutes.mutedUntil(user.nick, user.address, now);
    if (until === 0) return false;
    const left = until === Infinity ? "until an operator unmutes you" : describeUntil(until, now);
    reply(user, "muted", `You are muted ${left}.`, ref);
    return true;
  }

  /** Everyone but `target` who may speak now (to tell those a mute of `target` silences). */
  #speaking(target: User): User[] {
    return [...this.#host.users].filter((u) => u !== target && !this.isMuted(u));
  }

  /** True if `user` is muted now, without telling them (for their silent comings and goings). */
  isMuted(user: User): boolean {
    return this.bans.mutes.mutedUntil(user.nick, user.address, this.#host.now()) !== 0;
  }
}

/** What a banned user is told: the same words on every node. */
function banMessage(ban: Ban, now: number): string {
  return `You were banned ${describeUntil(ban.until, now)} by ${ban.by}${
    ban.reason ? `: ${ban.reason}` : "."
  }`;
}

function describeTarget(target: BanTarget): string {
  return target.kind === "nick" ? target.nick : formatPrefix(target.prefix);
}
