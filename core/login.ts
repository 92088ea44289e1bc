/**
 * Who may be here, and under which nick: the checks a hello passes (protocol version, room on
 * the server, the server password and its lockout, bans, registered nicks, the nick), the
 * welcome with its resume replay, and `/nick`, which passes the same nick, account and ban
 * checks. An owner who proves a registered nick takes it over from a session still holding it.
 * In a cluster, a nick that passes every check here is claimed cluster-wide before it is given.
 *
 * @module
 */

import { type Awaitable, then } from "./awaitable.ts";
import {
  MAX_ROOMS,
  MAX_ROOMS_PER_USER,
  TAKEOVER_COOLDOWN_MS,
  TAKEOVER_PROBE_MS,
} from "../config/limits.ts";
import { type ErrorFrame, errorFrame, LOBBY, PROTOCOL_VERSION } from "../protocol/frames.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import { reply, send } from "./deliver.ts";
import { type KeyProof, provedBefore, rememberProof } from "./identity.ts";
import type { Accounts, PasswordCheck } from "./accounts.ts";
import {
  type AccountCheck,
  accountCheck,
  type AccountProof,
  redeemAccountProof,
} from "./account_proof.ts";
import { accountRefusal, guestNotice, registeredError } from "./account_rules.ts";
import type { AccountRecord } from "./ports.ts";
import type { ClusterBus } from "./cluster.ts";
import { Lockout, SECRET_LOCKOUT } from "./lockout.ts";
import { describeUntil } from "./moderation.ts";
import type { Moderator } from "./moderator.ts";
import { displayNick, nickKey } from "./nick.ts";
import type { PeerSink, Verifier } from "./ports.ts";
import type { Registry } from "./registry.ts";
import type { HistoryReader } from "./replay.ts";
import type { ResumeGrant } from "./resume_keys.ts";
import { type Room, roomKey, roomProblem } from "./room.ts";
import { memberPage, type Rooms } from "./rooms.ts";
import type { RoomRefusal } from "./room_desk.ts";
import { counted, shown } from "./text.ts";
import { User } from "./user.ts";

/** The outcome of a login attempt. `fatal` errors end the connection; others allow a retry. */
export type LoginResult = { ok: true; user: User } | { ok: false; error: ErrorFrame };

/** A login request, as carried by a hello. */
export interface LoginRequest {
  /** The protocol version the client speaks. */
  version: number;
  /** The nick wanted. */
  nick: string;
  /** Rooms to rejoin, each with the id of the last message the client saw there. */
  resume?: Record<string, number>;
  /** The server password, if the client has one. */
  password?: string;
  /** The client's address, for bans and the password lockout. */
  address?: string;
  /** The password of the account that owns `nick`, when the client gives one. */
  accountPassword?: string;
  /**
   * Instead of `accountPassword`: the proof a check of it made just before (IRC SASL PLAIN), so
   * the login does not hash it again (see core/account_proof.ts).
   */
  accountProof?: AccountProof;
  /** A key the transport has proven this client holds (never set from a client's claim). */
  key?: KeyProof;
  /**
   * An IRC login: not put in the lobby (IRC clients join their own list), and no MOTD frame
   * (the IRC session sends the MOTD as numerics in its welcome burst).
   */
  irc?: { lobby: false; motd: false };
}

/**
 * A login's nick claim, made before it entered the hub's queue ({@linkcode Logins.preclaim}):
 * the folded nick, and null when this node holds it now, else why not.
 */
export interface NickClaim {
  /** The folded nick claimed. */
  key: string;
  /** Null: claimed; else the refusal the login gets (taken elsewhere, or no Redis). */
  refusal: ErrorFrame | null;
  /**
   * The node that held the nick and that this claim found dead (see `ClusterBus.claimNick`),
   * else null: only then may a mirror of that node holding the nick be dropped.
   */
  freed: string | null;
}

/** Settings for {@linkcode Logins}. */
export interface LoginsOptions {
  /** Where users are registered. */
  registry: Registry;
  /** Where a new user enters their rooms (and is removed again if the welcome fails). */
  rooms: Rooms;
  /** Where the welcome's replay is read. */
  reader: HistoryReader;
  /** Bans, and who may not change nick. */
  moderation: Moderator;
  /** The server password every hello must carry; null for an open server. */
  password: Verifier | null;
  /** Told of wrong passwords, for the log. */
  audit: (event: string, fields: Record<string, string | number>) => void;
  /** The clock, in milliseconds since the epoch. */
  now: () => number;
  /** Users that may be logged in at once. */
  maxUsers: number;
  /** Largest frame, reported in the welcome. */
  maxFrame: number;
  /** Name and version announced in the welcome. */
  serverName: string;
  /**
   * The message of the day, as one info frame shown after every welcome (encoded once for
   * every login), or null when there is none.
   */
  motd: Outgoing | null;
  /** Messages replayed per room when a login does not resume. */
  historyReplay: number;
  /** Bytes of replay one login may queue, for all its rooms together. */
  replayBudgetBytes: number;
  /** The registered nicks. */
  accounts: Accounts;
  /** Ends `holder`'s session: the owner of the nick it holds logged in elsewhere. */
  replace: (holder: User) => void;
  /** Fingerprints of the keys that are operators as soon as they log in (`--oper-keys`). */
  operKeys: ReadonlySet<string>;
  /** `--require-account`: only registered, proven nicks may talk. */
  requireAccount: boolean;
  /** True: a guest (no proven registered nick) enters no room until registered. */
  guestsShut: boolean;
  /**
   * Told of each room a login resumes, with the last id its client saw there, once it is a
   * member and before its replay is read (in a cluster, the relay's resume floor: see
   * `Relay.resumed`). @default nothing
   */
  resumed?: (user: User, room: Room, lastSeen: number) => void;
}

/**
 * The login desk. An address that sends the wrong server password too often is locked out by
 * {@linkcode SECRET_LOCKOUT}, whatever it sends, over any number of connections.
 */
export class Logins {
  readonly #options: LoginsOptions;
  readonly #passwordFailures = new Lockout({ ...SECRET_LOCKOUT, kind: "password" });

  /** A desk with these settings, remembering no wrong password yet. */
  constructor(options: LoginsOptions) {
    this.#options = options;
  }

  /**
   * Checks an account password given in a hello, before the login proper: scrypt takes a while
   * and must not hold the hub's queue. Nothing is hashed for a hello the server password
   * refuses, or when the nick is no password account; a proof (IRC SASL PLAIN checked the
   * password just before) is redeemed instead of hashing it again.
   */
  precheck(request: LoginRequest): Awaitable<PasswordCheck> {
    const { password, accounts, now } = this.#options;
    const { accountProof } = request;
    if (request.accountPassword === undefined && accountProof === undefined) {
      return { kind: "none" };
    }
    if (password !== null && !password.matches(request.password)) return { kind: "none" };
    if (accountProof !== undefined) {
      return redeemAccountProof(accountProof, request.nick, request.address ?? "", now());
    }
    if (request.accountPassword === undefined) return { kind: "none" };
    return accounts.checkPassword(
      request.nick,
      request.accountPassword,
      request.address ?? "",
      now,
    );
  }

  /**
   * Checks an account password before any login (IRC SASL PLAIN), with the address's lockout;
   * when right, the proof a login takes instead of hashing it again.
   */
  checkAccountPassword(nick: string, password: string, address: string): Awaitable<AccountCheck> {
    const { accounts, now } = this.#options;
    return then(
      accounts.checkPassword(nick, password, address, now),
      (check) => accountCheck(nick, address, check, now()),
    );
  }

  /**
   * In a cluster, claims the hello's nick before the login enters the hub's queue, so that the
   * round trip does not hold every other event there (a node taking a dead node's users in a
   * reconnect storm would deliver nothing for as long as their claims take one by one). The
   * login checks everything again in the queue, then takes this answer instead of claiming.
   * Undefined (claimed in the queue, as before, or not at all) for a hello refused anyway, or
   * whose nick a session of this node holds. Never rejects.
   */
  preclaim(request: LoginRequest): Awaitable<NickClaim | undefined> {
    const { registry, password, accounts } = this.#options;
    const { cluster } = registry;
    if (cluster === null || registry.closing || request.version !== PROTOCOL_VERSION) return;
    if (password !== null && !password.matches(request.password)) return;
    const rules = { registered: accounts.get(request.nick) !== undefined };
    // Held here by another node's user (a mirror), the nick is claimed all the same: if that
    // node is dead, the claim finds it so and frees the nick (cluster/node_gone.ts).
    const mirrored = registry.user(request.nick)?.node !== undefined;
    const nickError = registry.nickError(request.nick, undefined, rules);
    if (nickError !== null && !(mirrored && nickError.code === "nick_taken")) return;
    const key = nickKey(request.nick);
    // Not given up by anyone until this login has used the answer (see Registry.claiming).
    registry.claiming.set(key, (registry.claiming.get(key) ?? 0) + 1);
    let freed: string | null = null;
    return then(
      claimNick(cluster, request.nick, true, (node) => freed = node),
      (refusal) => ({ key, refusal, freed }),
    );
  }

  /**
   * Checks a hello and, if it passes, logs the user in, welcomes them and replays history.
   * `check` is what {@linkcode Logins.precheck} found of its account password; `claim`, what
   * {@linkcode Logins.preclaim} found of its nick (the claim is made here when absent).
   */
  login(
    sink: PeerSink,
    request: LoginRequest,
    check: PasswordCheck = { kind: "none" },
    claim?: NickClaim,
  ): Awaitable<LoginResult> {
    if (claim === undefined) return this.#login(sink, request, check, undefined);
    const done = () => this.#claimUsed(claim);
    let result: Awaitable<LoginResult>;
    try {
      result = this.#login(sink, request, check, claim);
    } catch (error) {
      done();
      throw error;
    }
    if (!(result instanceof Promise)) {
      done();
      return result;
    }
    return result.finally(done);
  }

  /**
   * Gives back a claim from {@linkcode Logins.preclaim} whose login will never run (the hub's
   * queue failed before it): as {@linkcode Logins.login} does with the claims it takes.
   */
  giveBack(claim: NickClaim): void {
    this.#claimUsed(claim);
  }

  /**
   * A login is done with its claim: a nick claimed for nobody (the login was refused, or ended
   * half-way) is given back, unless a session here holds it or another login still claims it.
   */
  #claimUsed(claim: NickClaim): void {
    const { registry } = this.#options;
    const left = (registry.claiming.get(claim.key) ?? 1) - 1;
    if (left > 0) registry.claiming.set(claim.key, left);
    else registry.claiming.delete(claim.key);
    if (claim.refusal === null) registry.releaseNick(claim.key);
  }

  #login(
    sink: PeerSink,
    request: LoginRequest,
    check: PasswordCheck,
    claim: NickClaim | undefined,
  ): Awaitable<LoginResult> {
    const { registry, maxUsers, now } = this.#options;
    if (registry.closing) return fail("shutting_down", "The server is shutting down.");
    if (request.version !== PROTOCOL_VERSION) {
      return fail(
        "unsupported_version",
        `This server speaks protocol version ${PROTOCOL_VERSION}, not ${request.version}.`,
      );
    }
    const address = request.address ?? "";
    this.#dropStaleMirror(request.nick, claim);
    const account = this.#options.accounts.get(request.nick);
    const accountError = account === undefined ? null : accountRefusal(
      this.#options.accounts,
      account,
      request,
      check,
      address,
      now(),
    );
    // The owner, proven, takes the nick over from a session still holding it (a stale one, most
    // likely): that session is replaced, but only once this login is sure to go through. Only
    // a session of this server: another node's keeps it (the nick is taken, a documented limit).
    const found = account !== undefined && accountError === null
      ? registry.user(request.nick)
      : undefined;
    const holder = found?.node === undefined ? found : undefined;
    // A takeover frees the slot it fills, so it goes through on a full server. Other nodes'
    // users (mirrors) fill their own nodes' slots, not this one's.
    if (registry.localCount - (holder === undefined ? 0 : 1) >= maxUsers) {
      return fail(
        "server_full",
        `The server is full (${counted(maxUsers, "user")}). Try again later.`,
      );
    }
    const refused = this.#passwordRefusal(request.password, address);
    if (refused !== null) return refused;
    const ban = this.#options.moderation.bans.find(request.nick, address, now());
    if (ban !== undefined) {
      const why = ban.reason ? `: ${ban.reason}` : ".";
      return fail("banned", `You are banned ${describeUntil(ban.until, now())}${why}`);
    }
    if (accountError !== null) return { ok: false, error: accountError };
    if (found !== undefined && holder === undefined) {
      // Its owner, proven, but the session holding it is another node's: that node would have
      // to end it, and the claim is its until then (a documented limit of clusters).
      return fail(
        "nick_taken",
        `The nickname "${found.nick}" is in use on another server of this chat. Its owner can ` +
          "take it over only on that server, or once that session has ended.",
      );
    }
    // A proven account keeps a nick registered before the IRC rules (see ircNickProblem).
    const nickError = registry.nickError(request.nick, holder, {
      registered: account !== undefined,
    });
    if (nickError !== null) return { ok: false, error: nickError };
    const recent = this.#takeoverRefusal(holder);
    if (recent !== null) return { ok: false, error: recent };
    const { cluster } = registry;
    if (cluster === null) return this.#admit(sink, request, holder, account);
    // Claimed before the queue: every check above ran after the round trip.
    if (claim !== undefined && claim.key === nickKey(request.nick)) {
      if (claim.refusal !== null) return { ok: false, error: claim.refusal };
      return this.#admit(sink, request, holder, account);
    }
    return then(claimNick(cluster, request.nick, true), (refusal): Awaitable<LoginResult> => {
      if (refusal !== null) return { ok: false, error: refusal };
      // Checked again after the round trip (nothing in the hub's queue ran meanwhile, but a
      // shutdown or a local logout may have).
      if (registry.closing) return fail("shutting_down", "The server is shutting down.");
      const again = registry.nickError(request.nick, holder, { registered: account !== undefined });
      if (again !== null) return { ok: false, error: again };
      return this.#admit(sink, request, holder, account);
    });
  }

  /**
   * This node holds `nick` in the cluster now (`claim`), and the claim found the node holding
   * it dead, yet that node's user still holds it here: the log has not brought its loss here
   * yet. The mirror leaves as `node_lost` (as when a node's `hello` finds one,
   * core/mirror.ts), so its owner, reconnected here, gets the nick back. A nick its holder
   * gave up (a rename, a logout) is not enough: the live user's `nick` or `bye` is still on its
   * way, and dropping the mirror would lose that user here; the login is refused (nick_taken)
   * until the log catches up.
   */
  #dropStaleMirror(nick: string, claim: NickClaim | undefined): void {
    const mirror = this.#options.registry.user(nick);
    if (mirror?.node === undefined || !mirror.online) return;
    if (claim === undefined || claim.refusal !== null || claim.key !== mirror.key) return;
    if (claim.freed !== mirror.node) return;
    this.#options.rooms.depart(mirror, "node_lost", "");
    this.#options.rooms.leaveAll(mirror, "node_lost", "");
  }

  /**
   * Logs in a hello that passed every check (its nick claimed, in a cluster): replaces
   * `holder`, registers the user, welcomes them, and, once that is done, tells the cluster.
   */
  #admit(
    sink: PeerSink,
    request: LoginRequest,
    holder: User | undefined,
    account: AccountRecord | undefined,
  ): Awaitable<LoginResult> {
    const { registry, now } = this.#options;
    const address = request.address ?? "";
    if (holder !== undefined) this.#options.replace(holder);
    const user = new User(displayNick(request.nick), sink, address);
    user.since = user.lastActive = now();
    if (holder !== undefined) user.tookOverAt = now();
    user.proof = request.key ?? null;
    user.verified = account !== undefined;
    this.#operByKey(user);
    registry.add(user);
    const failed = (error: unknown): LoginResult => {
      // Something failed half-way: leave no ghost behind.
      this.#options.rooms.logout(user, "dropped");
      return fail("store_failed", `Logging in failed: ${(error as Error).message}`);
    };
    const done = (): LoginResult => {
      registry.announce(user);
      return { ok: true, user };
    };
    try {
      const welcomed = this.#welcome(user, request.resume, account, request.irc !== undefined);
      if (welcomed instanceof Promise) return welcomed.then(done, failed);
    } catch (error) {
      return failed(error);
    }
    return done();
  }

  /**
   * Changes a user's nick and tells everyone who shares a room with them. Asking for the nick
   * one already has, exactly, changes nothing and tells only them; a change of case or accent
   * (alice to Alice) is a rename like any other.
   */
  rename(user: User, wanted: string, ref?: string): Awaitable<boolean> {
    const { moderation } = this.#options;
    const next = displayNick(wanted);
    if (next === user.nick) {
      send(user, { type: "info", text: `* You are already ${user.nick}.`, ref });
      return false;
    }
    if (moderation.muted(user, ref)) return false;
    const account = this.#options.accounts.get(next);
    // An account this connection proved before (and changed nick away from) is still theirs:
    // changing back regains it, unless its password or key changed or it was unregistered.
    const owned = account !== undefined &&
      (account.key === user.key
        ? user.verified
        : this.#options.accounts.keyProves(account, user.proof ?? undefined) ||
          provedBefore(user, account));
    if (account !== undefined && !owned) {
      const error = registeredError(account, user.proof !== null);
      error.ref = ref;
      send(user, error);
      return false;
    }
    return this.#renameTo(user, next, owned, ref);
  }

  /**
   * Gives `user` the nick `next`, which they own when `owned` (a session holding it is replaced)
   * or which must be free; bans and validity are checked, and in a cluster the nick claimed.
   * False if refused (they were told).
   */
  #renameTo(user: User, next: string, owned: boolean, ref?: string): Awaitable<boolean> {
    const { registry, moderation, now } = this.#options;
    // The session holding a nick its owner proves is replaced, but only once the rename is sure
    // to go through (the nick is valid and not banned). Only a session of this server.
    const found = owned ? registry.user(next) : undefined;
    const holder = found === user || found?.node !== undefined ? undefined : found;
    const error = registry.nickError(next, holder ?? user, { registered: owned });
    if (error !== null) {
      error.ref = ref;
      send(user, error);
      return false;
    }
    if (moderation.bans.find(next, user.address, now()) !== undefined) {
      reply(user, "banned", "That nickname is banned.", ref);
      return false;
    }
    const recent = this.#takeoverRefusal(holder);
    if (recent !== null) {
      recent.ref = ref;
      send(user, recent);
      return false;
    }
    // A change of case or accent keeps the nick's key, which this node holds already.
    const { cluster } = registry;
    if (cluster === null || nickKey(next) === user.key) {
      return this.#renamed(user, next, owned, holder, ref);
    }
    return then(claimNick(cluster, next, false), (refusal) => {
      if (refusal !== null) {
        if (user.online) send(user, { ...refusal, ref });
        return false;
      }
      // Checked again after the round trip, as a login is.
      const again = user.online
        ? registry.nickError(next, holder ?? user, { registered: owned })
        : null;
      if (user.online && again === null) return this.#renamed(user, next, owned, holder, ref);
      // Claimed for nobody: given back (unless someone here holds it).
      registry.releaseNick(nickKey(next));
      if (again !== null) send(user, { ...again, ref });
      return false;
    });
  }

  /** The rename itself, every check passed: `holder` replaced, the neighbours told. */
  #renamed(
    user: User,
    next: string,
    owned: boolean,
    holder: User | undefined,
    ref: string | undefined,
  ): true {
    const { registry, now } = this.#options;
    if (holder !== undefined) this.#options.replace(holder);
    const old = user.nick;
    const leaving = user.verified ? this.#options.accounts.get(old) : undefined;
    if (leaving !== undefined) rememberProof(user, leaving);
    registry.rename(user, next);
    user.verified = owned;
    user.tookOverAt = holder === undefined ? 0 : now();
    const out = new Outgoing({ type: "nick", old, new: next, ts: now() });
    for (const peer of neighbours(user)) peer.sink.deliver(out);
    send(user, { type: "nick", old, new: next, ts: now(), ref });
    return true;
  }

  /**
   * Why `holder`, holding a nick its owner just proved elsewhere, is not replaced, or null when
   * it is. A verified session that itself took the nick over from another session less than
   * {@linkcode TAKEOVER_COOLDOWN_MS} ago may be another live client of the same account
   * reconnecting by itself (replacing it in turn made the two take the nick from each other
   * forever), or the owner's own new connection that died too. So it is asked whether it is
   * alive (a ping, through its sink), and the newcomer told to try again in
   * {@linkcode TAKEOVER_PROBE_MS}: a holder that has answered since is kept; one that has not is
   * replaced as a ghost. A holder whose transport cannot be asked is kept for the cooldown. Any
   * other holder (one that logged in with the nick, took it over long ago, or never proved it) is
   * replaced at once.
   */
  #takeoverRefusal(holder: User | undefined): ErrorFrame | null {
    if (holder === undefined || !holder.online || !holder.verified) return null;
    if (holder.tookOverAt === 0) return null;
    const now = this.#options.now();
    const held = now - holder.tookOverAt;
    if (held >= TAKEOVER_COOLDOWN_MS) return null;
    const { sink } = holder;
    const asked = now - holder.probedAt;
    if (holder.probedAt !== 0 && asked >= TAKEOVER_PROBE_MS && asked < TAKEOVER_COOLDOWN_MS) {
      // Asked a while ago: silent since, it is a ghost; heard from, it is alive.
      const quiet = sink.quietMs?.();
      if (quiet !== undefined && quiet >= asked) return null;
      return taken(holder, Math.ceil((TAKEOVER_COOLDOWN_MS - held) / 1000));
    }
    if (holder.probedAt === 0 || asked >= TAKEOVER_COOLDOWN_MS) {
      if (sink.probe?.() === true) holder.probedAt = now;
      else return taken(holder, Math.ceil((TAKEOVER_COOLDOWN_MS - held) / 1000));
    }
    return taken(
      holder,
      Math.max(1, Math.ceil((holder.probedAt + TAKEOVER_PROBE_MS - now) / 1000)),
    );
  }

  /** Why the password check refuses this hello, or null when it passes (or none is needed). */
  #passwordRefusal(password: string | undefined, address: string): LoginResult | null {
    const { password: secret, now } = this.#options;
    if (secret === null) return null;
    const wait = this.#passwordFailures.lockedFor(address, now());
    if (wait > 0) {
      return fail(
        "bad_password",
        `Too many wrong passwords from your address; try again in ${wait} s.`,
      );
    }
    if (secret.matches(password)) return null;
    if (password === undefined) {
      return fail(
        "bad_password",
        "This server needs a password (sockchat join --password-file FILE).",
      );
    }
    const failures = this.#passwordFailures.failed(address, now());
    this.#options.audit("bad_password", { address, failures });
    return fail("bad_password", "Wrong password.");
  }

  /**
   * Gives `user` a nick they have just proven (/identify): a session holding it is replaced.
   * False if refused (muted, banned); they were told.
   */
  takeNick(user: User, nick: string, ref?: string): Awaitable<boolean> {
    if (displayNick(nick) === user.nick) {
      user.verified = true;
      return true;
    }
    if (this.#options.moderation.muted(user, ref)) return false;
    return this.#renameTo(user, displayNick(nick), true, ref);
  }

  /** Makes `user` an operator if their proven key is listed in `--oper-keys`. */
  #operByKey(user: User): void {
    if (user.proof === null || !this.#options.operKeys.has(user.proof.fingerprint)) return;
    user.operator = true;
    this.#options.audit("oper_key", {
      nick: user.nick,
      address: user.address,
      fingerprint: user.proof.fingerprint,
    });
  }

  /**
   * Sends the welcome, enters the rooms (resumed or the lobby) and replays their history, one
   * room after another (each read may be a round trip to the store).
   */
  #welcome(
    user: User,
    resume: Record<string, number> | undefined,
    account: AccountRecord | undefined,
    irc: boolean,
  ): Awaitable<void> {
    // A guest of a server that requires accounts (without --guests-read) enters no room.
    const shut = this.#options.guestsShut && !user.verified && !user.operator;
    // Resume names the rooms to rejoin (each once, whatever its case); without it, the lobby.
    const wanted = new Map<string, { name: string; lastSeen?: number }>();
    for (const [name, lastSeen] of Object.entries(resume ?? {})) {
      if (roomProblem(name) !== null || wanted.has(roomKey(name))) continue;
      if (wanted.size >= MAX_ROOMS_PER_USER) break;
      wanted.set(roomKey(name), { name, lastSeen });
    }
    if (shut) wanted.clear();
    else if (wanted.size === 0 && !irc) wanted.set(roomKey(LOBBY), { name: LOBBY });
    const entries: RoomEntry[] = [];
    const refused: string[] = [];
    for (const { name, lastSeen } of wanted.values()) {
      const room = this.#options.registry.roomFor(name);
      if (room === null) refused.push(name);
      else entries.push({ room, lastSeen });
    }
    return then(
      this.#options.registry.loaded(entries.map((e) => e.room)),
      () => this.#greet(user, entries, refused, account, irc),
    );
  }

  /** Sends the welcome, then rejoins the rooms one by one, each with its replay. */
  #greet(
    user: User,
    entries: RoomEntry[],
    refused: string[],
    account: AccountRecord | undefined,
    irc: boolean,
  ): Awaitable<void> {
    const { maxFrame, maxUsers, rooms } = this.#options;
    // Every room's modes apply as to a join (+i, +k, +l, +b), the lobby's too, and a resumed
    // room is entered past what its member had passed when they left (core/resume_keys.ts). A room
    // that turns them away is left out of the welcome; they are told why after it.
    const turnedAway: RoomRefusal[] = [];
    const admitted: RoomEntry[] = [];
    for (const entry of entries) {
      if (entry.lastSeen !== undefined) entry.grant = rooms.resumePass(user, entry.room);
      const refusal = rooms.refusal(user, entry.room, entry.grant?.key, entry.grant);
      if (refusal === null) admitted.push(entry);
      else turnedAway.push(refusal);
    }
    send(user, {
      type: "welcome",
      v: PROTOCOL_VERSION,
      nick: user.nick,
      server: this.#options.serverName,
      rooms: admitted.map(({ room }) => ({
        room: room.name,
        topic: room.topic,
        ...memberPage(room, user),
      })),
      // The flood limits of this user's own connection: what its client may pace itself by.
      limits: { maxFrame, maxUsers, ...user.sink.flood },
      ...(account === undefined ? {} : {
        account: account.kind === "key"
          ? { kind: "key", fingerprint: account.fingerprint }
          : { kind: "password" },
      }),
    });
    if (this.#options.motd !== null && !irc) user.sink.deliver(this.#options.motd);
    if (this.#options.requireAccount && !user.verified && !user.operator) {
      send(user, { type: "info", text: guestNotice(admitted.length > 0) });
    }
    if (user.operator && user.proof !== null) {
      send(user, { type: "info", text: "* Your key is an operator's key: you are an operator." });
    }
    for (const name of refused) {
      const why = `The server already has ${MAX_ROOMS} rooms; ${shown(name)} was not rejoined.`;
      reply(user, "too_many_rooms", why);
    }
    for (const { code, why } of turnedAway) reply(user, code, why);
    // One replay budget for the whole login, however many rooms it resumes, and no more than
    // the address may still read: a resume loop costs the store what it may send, then nothing.
    let budget = this.#options.replayBudgetBytes;
    const replayFrom = (i: number): Awaitable<void> => {
      if (i >= admitted.length) return;
      const { room, lastSeen, grant } = admitted[i];
      // Asked again: a store read before it may have let the modes change (and an invitation
      // is used up only here).
      if (!rooms.admits(user, room, grant?.key, undefined, grant)) return replayFrom(i + 1);
      this.#options.rooms.enter(user, room);
      // What the client saw elsewhere is not sent again live (a node whose log lags).
      if (lastSeen !== undefined) this.#options.resumed?.(user, room, lastSeen);
      // A reader that asks for history itself gets none (see PeerSink.replaysOnJoin).
      if (user.sink.replaysOnJoin === false) return replayFrom(i + 1);
      const { historyReplay, reader } = this.#options;
      return then(reader.resume(user, room, historyReplay, lastSeen, budget), (used) => {
        budget -= used;
        return replayFrom(i + 1);
      });
    };
    return replayFrom(0);
  }
}

/** A room a login enters, and the last message id the client saw there (for a resume). */
interface RoomEntry {
  room: Room;
  lastSeen?: number;
  /** What a resume enters past (see core/resume_keys.ts). */
  grant?: ResumeGrant;
}

/**
 * Claims `nick` cluster-wide for this node on `cluster`: null when it is ours now, else why
 * not, as an error frame (`fatal` for a login). A cluster that cannot be reached is an error
 * too: a nick nobody could check is not given.
 */
function claimNick(
  cluster: ClusterBus,
  nick: string,
  fatal: boolean,
  freed?: (node: string) => void,
): Awaitable<ErrorFrame | null> {
  const shown = displayNick(nick);
  const answer = (ours: boolean): ErrorFrame | null =>
    ours ? null : errorFrame(
      "nick_taken",
      `The nickname "${shown}" is in use on another server of this chat. Pick another.`,
      { fatal },
    );
  const failed = (error: unknown): ErrorFrame =>
    errorFrame(
      "store_failed",
      `The nickname "${shown}" could not be checked: the servers of this chat cannot reach ` +
        `their shared store (${(error as Error).message}). Try again in a moment.`,
      { fatal },
    );
  try {
    const claimed = cluster.claimNick(nickKey(nick), freed);
    return claimed instanceof Promise ? claimed.then(answer, failed) : answer(claimed);
  } catch (error) {
    return failed(error);
  }
}

/** A refused login; every refusal at login ends the connection. */
function fail(code: ErrorFrame["code"], message: string): LoginResult {
  return { ok: false, error: errorFrame(code, message, { fatal: true }) };
}

/** Everyone who shares at least one room with `user`, once each, not `user`. */
function neighbours(user: User): Set<User> {
  const out = new Set<User>();
  for (const room of user.rooms) for (const m of room.members) if (m !== user) out.add(m);
  return out;
}

/** The refusal of a takeover of `holder`'s nick, to try again in `seconds`. */
function taken(holder: User, seconds: number): ErrorFrame {
  return errorFrame(
    "nick_taken",
    `The nickname "${holder.nick}" is in use by another session of this account; try again ` +
      `in ${seconds} s (a session that does not answer is replaced then) or use another nick.`,
  );
}
