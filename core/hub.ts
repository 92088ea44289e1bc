/**
 * The chat core's front desk: the one object the transports call. It does no I/O of its own:
 * transports hand it decoded frames and a {@linkcode PeerSink} per connection, history goes
 * through the {@linkcode HistoryStore} port, and it answers by delivering {@linkcode Outgoing}
 * frames to sinks, which never block.
 *
 * The work is done by one module per idea, which the hub wires together and none of which
 * imports it back: the registry of users and rooms (registry.ts), logins and nicks (login.ts),
 * the batch commit and fan-out of room messages (relay.ts), membership, topics and presence
 * (rooms.ts), history replay (replay.ts), direct messages (direct.ts) and moderation
 * (moderator.ts). Every event but `say` first flushes the batch, so what was said before it is
 * committed and relayed before it.
 *
 * @module
 */

import { type Awaitable, Serial, then } from "./awaitable.ts";
import { DEFAULT_HISTORY_REPLAY } from "../config/limits.ts";
import { type ErrorCode, type LeaveReason, LOBBY, type ServerFrame } from "../protocol/frames.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import { broadcast, reply, send } from "./deliver.ts";
import { direct, type DirectHow, type DirectOptions, received } from "./direct.ts";
import type { ClusterBus, ClusterEnvelope, CommittedBatch } from "./cluster.ts";
import { applyModeration, isModerationEvent } from "./cluster_moderation.ts";
import { type LoginRequest, type LoginResult, Logins, type NickClaim } from "./login.ts";
import { applyPresence, localCards, type PresenceSync, rejoin } from "./mirror.ts";
import { AccountDesk } from "./account_desk.ts";
import { type AccountLimits, Accounts, type PasswordCheck } from "./accounts.ts";
import type { AccountCheck } from "./account_proof.ts";
import { type AccountView, watchAccounts } from "./identity.ts";
import type { Departure } from "./departures.ts";
import { hearers } from "./presence.ts";
import type { BanList } from "./moderation.ts";
import { Moderator, type ModeratorHost } from "./moderator.ts";
import type {
  AccountStore,
  HistoryStore,
  PasswordHasher,
  PeerSink,
  ReadBudget,
  Verifier,
} from "./ports.ts";
import { Registry } from "./registry.ts";
import { type MessageKind, Relay } from "./relay.ts";
import { type FrameBytes, HistoryReader, type HistoryRequest, type Replayed } from "./replay.ts";
import type { HistoryAnswer, HistoryQuery, TargetsAnswer, WireBytes } from "./history_slice.ts";
import { Room } from "./room.ts";
import { Rooms } from "./rooms.ts";
import { type ClaimRecord, type ClaimStore, RoomClaims } from "./room_claims.ts";
import { RoomDesk } from "./room_desk.ts";
import type { ModeChange } from "./room_modes.ts";
import { nickKey } from "./nick.ts";
import { shown } from "./text.ts";
import { User } from "./user.ts";
import { MemoryClaims } from "../store/memory/claims.ts";

// What the transports and the server import from here, wherever it is defined.
export { Room, User };
export type { LoginRequest, LoginResult, PeerSink, ReadBudget, Replayed, Verifier };

/** Settings for a {@linkcode Hub}. */
export interface HubOptions {
  /** Users that may be logged in at once. */
  maxUsers: number;
  /** Largest frame, reported to clients in the welcome. */
  maxFrame: number;
  /** Name and version announced in the welcome. */
  serverName: string;
  /** Where room messages are committed before anyone hears of them. */
  store: HistoryStore;
  /** Messages replayed on joining a room. @default 50 */
  historyReplay?: number;
  /** Bytes of replay one join may queue (keep well under the outbound queue cap). */
  replayBudgetBytes: number;
  /** Clock, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** The ban list (its store makes bans outlive a restart). */
  bans: BanList;
  /** The server password every hello must carry; null for an open server. @default null */
  password?: Verifier | null;
  /** The secret /oper takes; null disables operators. @default null */
  operSecret?: Verifier | null;
  /** Told of moderation and other notable events, for the log. @default nothing */
  audit?: (event: string, fields: Record<string, string | number>) => void;
  /** Told how long each history commit took, in seconds, for metrics. @default nothing */
  onCommit?: (seconds: number) => void;
  /**
   * Bytes of history each address may still read (for /history, joins and resume), charged
   * with what each read cost. @default unlimited
   */
  historyReads?: ReadBudget;
  /**
   * The message of the day (`--motd-file`), shown to each user after the welcome and with
   * /motd; "" for none. @default ""
   */
  motd?: string;
  /**
   * Bytes a frame takes on the wire, for replay budgets. The server passes its NDJSON size
   * (which also caches the encoding); the core knows no wire format.
   * @default the length of the frame as JSON
   */
  frameBytes?: FrameBytes;
  /**
   * Where registered nicks are kept (the SQLite store's `accounts`). @default in memory (lost
   * at exit)
   */
  accounts?: AccountStore;
  /** Hashes account passwords; null: no password accounts. @default null */
  hasher?: PasswordHasher | null;
  /** The caps on registering nicks (tests lower them). @default the constants in security_limits */
  accountLimits?: Partial<AccountLimits>;
  /** Fingerprints of keys that are operators on login (`--oper-keys`). @default none */
  operKeys?: ReadonlySet<string>;
  /** `--require-account`: only registered, proven nicks may talk. @default false */
  requireAccount?: boolean;
  /** `--guests-read`: with requireAccount, guests are in rooms and read them. @default false */
  guestsRead?: boolean;
  /**
   * Where claimed rooms (`/register #room`) are kept (the SQLite store's `claims`).
   * @default in memory (lost at exit)
   */
  claims?: ClaimStore;
  /**
   * The cluster this server is a node of (`serve --redis`), with `store` its shared-id store:
   * room messages then reach the rooms through `Hub.committed`, other nodes' changes through
   * `Hub.applyRemote`. @default none (a server on its own)
   */
  cluster?: ClusterBus;
}

const UNLIMITED_READS: ReadBudget = { available: () => Infinity, charge: () => {} };

/**
 * Holds users and rooms and routes every event. One instance per server.
 *
 * @example
 * ```ts
 * import { BanList } from "./moderation.ts";
 * import { MemoryHistory } from "../store/memory/history.ts";
 * const store = new MemoryHistory();
 * const hub = new Hub({
 *   maxUsers: 10,
 *   maxFrame: 65536,
 *   serverName: "sockchat",
 *   store,
 *   replayBudgetBytes: 1 << 18,
 *   bans: new BanList(store.moderation),
 * });
 * const sink = { deliver() {}, close() {} };
 * const result = await hub.login(sink, { version: 1, nick: "alice" });
 * if (result.ok) hub.say(result.user, "#lobby", "hello");
 * ```
 */
export class Hub implements ModeratorHost {
  readonly #now: () => number;
  readonly #audit: (event: string, fields: Record<string, string | number>) => void;
  readonly #needsPassword: boolean;
  readonly #replayBudgetBytes: number;
  readonly #registry: Registry;
  readonly #relay: Relay;
  readonly #rooms: Rooms;
  readonly #logins: Logins;
  readonly #direct: DirectOptions;
  readonly #accounts: Accounts;
  readonly #accountDesk: AccountDesk;
  readonly #requireAccount: boolean;
  readonly #guestsRead: boolean;
  readonly #desk: RoomDesk;
  readonly #reader: HistoryReader;
  /** When the hub started, for /uptime. */
  readonly startedAt: number;
  /** Name and version announced in the welcome, for /version. */
  readonly serverName: string;
  /** The message of the day; "" for none. */
  readonly motd: string;
  /** Operators, bans and mutes. */
  readonly moderation: Moderator;
  /**
   * Every event that flushes or touches the store runs here, one at a time, in the order it
   * came: with a store across the network a join that waits for its history read is never
   * overtaken by a commit (which would relay live what the replay is about to repeat). With an
   * in-process store nothing ever waits, and this is plain calls.
   */
  readonly #serial = new Serial();
  /** Other nodes' snapshots under way (core/mirror.ts). */
  readonly #syncs = new Map<string, PresenceSync>();

  /** A hub over `options.store`, with the lobby and nobody in it. */
  constructor(options: HubOptions) {
    // An optional setting given as undefined takes its default (hence `??`, not a spread).
    const now = options.now ?? Date.now;
    const audit = this.#audit = options.audit ?? (() => {});
    const historyReplay = options.historyReplay ?? DEFAULT_HISTORY_REPLAY;
    const password = options.password ?? null;
    const store = options.store;
    this.#now = now;
    this.#needsPassword = password !== null;
    this.#replayBudgetBytes = options.replayBudgetBytes;
    this.startedAt = now();
    this.serverName = options.serverName;
    // Trailing blank lines of the file are not part of the message.
    this.motd = (options.motd ?? "").trimEnd();
    const registry = this.#registry = new Registry(store, options.cluster ?? null);
    const moderation = this.moderation = new Moderator(this, {
      bans: options.bans,
      operSecret: options.operSecret ?? null,
      audit,
      cluster: options.cluster ?? null,
    });
    const reader = this.#reader = new HistoryReader({
      store,
      reads: options.historyReads ?? UNLIMITED_READS,
      frameBytes: options.frameBytes ?? ((out: Outgoing) => JSON.stringify(out.frame).length + 1),
      replayBudgetBytes: options.replayBudgetBytes,
    });
    const relay = this.#relay = new Relay({
      registry,
      moderation,
      store,
      now,
      onCommit: options.onCommit ?? (() => {}),
      node: options.cluster?.node,
      // The batch is committed in order with the hub's other events (see #serial).
      schedule: () => queueMicrotask(() => this.#flushInBackground()),
      audit,
    });
    const desk = this.#desk = new RoomDesk({
      registry,
      claims: new RoomClaims((options.claims ?? new MemoryClaims()).claims),
      now,
      audit,
    });
    const rooms = this.#rooms = new Rooms({
      registry,
      moderation,
      reader,
      store,
      now,
      historyReplay,
      desk,
      // Read at each leave and resume, after the constructor has made the accounts.
      registeredAt: (nick) => this.#accounts.get(nick)?.created ?? null,
    });
    this.#requireAccount = options.requireAccount ?? false;
    this.#guestsRead = options.guestsRead ?? false;
    const accounts = this.#accounts = new Accounts({
      table: options.accounts?.accounts ?? null,
      hasher: options.hasher ?? null,
      audit,
      limits: options.accountLimits,
    });
    const logins = this.#logins = new Logins({
      registry,
      rooms,
      reader,
      moderation,
      password,
      audit,
      now,
      maxUsers: options.maxUsers,
      maxFrame: options.maxFrame,
      serverName: options.serverName,
      motd: this.motd === "" ? null : new Outgoing({ type: "info", text: this.motd }),
      historyReplay,
      replayBudgetBytes: options.replayBudgetBytes,
      accounts,
      replace: (holder) => this.#replace(holder),
      operKeys: options.operKeys ?? new Set(),
      requireAccount: this.#requireAccount,
      guestsShut: this.#requireAccount && !this.#guestsRead,
      // A cluster node whose log lags must not send a resumed client what it saw elsewhere.
      resumed: options.cluster === undefined
        ? undefined
        : (user, room, lastSeen) => relay.resumed(user, room, lastSeen),
    });
    this.#accountDesk = new AccountDesk({
      accounts,
      logins,
      registry,
      after: (user, gone, event) => this.#after(user, gone, event),
      admitted: (user) => {
        // A guest kept out of every room enters the lobby once registered.
        if (this.#requireAccount && !this.#guestsRead && user.rooms.size === 0) {
          const joined = this.#rooms.join(user, LOBBY);
          if (joined instanceof Promise) joined.catch(() => {});
        }
      },
      audit,
      now,
    });
    this.#direct = { registry, moderation, relay, now, cluster: options.cluster ?? null };
    // Other nodes tell this one of their users (it reads the log only from its start).
    options.cluster?.setRoster(() => localCards(registry));
    options.cluster?.publish({ t: "node_up", node: options.cluster.node });
  }

  /** Number of logged-in users (in a cluster, other nodes' users too). */
  get userCount(): number {
    return this.#registry.userCount;
  }

  /** Number of this server's own logged-in users: in a cluster, not other nodes'. */
  get localUserCount(): number {
    return this.#registry.localCount;
  }

  /** Every room that exists now. */
  get rooms(): Iterable<Room> {
    return this.#registry.rooms;
  }

  /** Every logged-in user. */
  get users(): Iterable<User> {
    return this.#registry.users;
  }

  /** Bytes of history one replay may queue. */
  get replayBudgetBytes(): number {
    return this.#replayBudgetBytes;
  }

  /** True when every login must carry the server password. */
  get needsPassword(): boolean {
    return this.#needsPassword;
  }

  /** The clock. */
  now(): number {
    return this.#now();
  }

  /** Every room, busiest first, at most `limit` of them (see `Registry.busiestRooms`). */
  busiestRooms(limit: number): { rooms: Room[]; total: number } {
    return this.#registry.busiestRooms(limit, this.#now());
  }

  /** The room with that name (case-insensitively), if it exists. */
  room(name: string): Room | undefined {
    return this.#registry.room(name);
  }

  /** The claim on the room with that name, kept while the room is empty or gone. */
  claimed(name: string): ClaimRecord | undefined {
    return this.#desk.claims.get(name);
  }

  /** The logged-in user with that nick (case-insensitively), if any. */
  user(nick: string): User | undefined {
    return this.#registry.user(nick);
  }

  /** True if the server has an operator secret: /oper (IRC OPER) can succeed. */
  get hasOperSecret(): boolean {
    return this.moderation.hasOperSecret;
  }

  /** Who left the server lately under `nick` (folded as nicks are), newest first (`WHOWAS`). */
  whowas(nick: string, limit?: number): Departure[] {
    return this.#rooms.departures.find(nick, limit);
  }

  /**
   * `user` changed their real name (IRC `SETNAME`; the IRC front end keeps it): they and
   * everyone sharing a room with them hear it. False, and nobody told, while they are muted: a
   * real name is free text, and no way around a mute.
   */
  announceRealname(user: User, realname: string): boolean {
    if (this.moderation.isMuted(user)) return false;
    // Their words too: heard only where they may speak, and not by who ignores them.
    const out = new Outgoing({ type: "setname", nick: user.nick, realname, ts: this.#now() });
    user.sink.deliver(out);
    for (const member of hearers(user, (room) => this.#desk.speaks(user, room))) {
      member.sink.deliver(out);
    }
    return true;
  }

  /**
   * True if `user`'s words are heard in `room` now: not muted, and +m and +b let them speak
   * (`RoomDesk.speaks`); nobody is told.
   */
  speaksIn(user: User, room: Room): boolean {
    return !this.moderation.isMuted(user) && this.#desk.speaks(user, room);
  }

  /**
   * Checks a hello and, if it passes, logs the user in, welcomes them and replays history. With
   * a store across the network the result may come later; events from the same peer must wait
   * for it (the peer does).
   */
  login(sink: PeerSink, request: LoginRequest): Awaitable<LoginResult> {
    // An account password is hashed first, outside the queue: scrypt must not hold it. So is
    // a cluster's nick claim (a round trip): checked again in the queue.
    return then(
      this.#logins.precheck(request),
      (check) =>
        then(
          this.#logins.preclaim(request),
          (claim) => this.#queueLogin(sink, request, check, claim),
        ),
    );
  }

  /**
   * Runs a login in the hub's queue, after the messages said before it. The login gives its
   * claim back itself; a claim whose login never runs (the flush before it failed) is given
   * back here, else its nick would stay reserved on this node for good (Registry.claiming).
   */
  #queueLogin(
    sink: PeerSink,
    request: LoginRequest,
    check: PasswordCheck,
    claim: NickClaim | undefined,
  ): Awaitable<LoginResult> {
    let ran = false;
    const login = () => {
      ran = true;
      return this.#logins.login(sink, request, check, claim);
    };
    const unused = () => {
      if (!ran && claim !== undefined) this.#logins.giveBack(claim);
    };
    let result: Awaitable<LoginResult>;
    try {
      result = this.#serial.run(() => then(this.#relay.flush(), login));
    } catch (error) {
      unused();
      throw error;
    }
    return claim !== undefined && result instanceof Promise ? result.finally(unused) : result;
  }

  /**
   * Checks an account password outside a login (IRC SASL PLAIN, which answers before the login),
   * with the same per-address lockout as logins and /identify. Hashing runs off the queue.
   * When right, the answer carries a proof the login takes instead of hashing it again.
   */
  checkAccountPassword(nick: string, password: string, address: string): Awaitable<AccountCheck> {
    return this.#logins.checkAccountPassword(nick, password, address);
  }

  /** The account that owns `nick` (folded as nicks are), if it is registered. */
  account(nick: string): AccountView | undefined {
    return this.#accounts.view(nick);
  }

  /**
   * True if `user` may not talk here yet: the server requires an account (`--require-account`)
   * and their nick is not registered and proven.
   */
  needsAccount(user: User): boolean {
    // An operator (by a listed key, or the /oper secret) is trusted without an account.
    return this.#requireAccount && !user.verified && !user.operator;
  }

  /** /register (to the session's key) or /register PASSWORD. */
  register(user: User, password: string | undefined, ref?: string): Awaitable<void> {
    return watchAccounts([user], this.#now, () => this.#accountDesk.register(user, password, ref));
  }

  /** /identify NICK PASSWORD: proves a password account and takes its nick. */
  identify(user: User, nick: string, password: string, ref?: string): Awaitable<void> {
    const change = () => this.#accountDesk.identify(user, nick, password, ref);
    return watchAccounts([user], this.#now, change);
  }

  /**
   * /unregister ("" for your own nick) or an operator's /unregister NICK. The rooms the account
   * claimed are released, and it leaves the other claims' lists of operators and voiced.
   */
  unregister(user: User, nick: string, ref?: string): Awaitable<void> {
    const account = nickKey(nick === "" ? user.nick : nick);
    return this.#after(
      user,
      undefined,
      () =>
        then(this.#unregisterWatched(user, nick, ref), () => {
          if (this.#accounts.view(account) !== undefined) return;
          try {
            this.#desk.claims.dropAccount(account, (key) => this.#registry.room(key));
          } catch (error) {
            const why = `The account's room claims could not be removed (${
              (error as Error).message
            }).`;
            reply(user, "store_failed", why, ref);
          }
        }),
    );
  }

  /** /unregister, telling the rooms of its holder (maybe another user) that it lost the account. */
  #unregisterWatched(user: User, nick: string, ref?: string): Awaitable<void> {
    const holder = this.#registry.user(nick === "" ? user.nick : nick);
    const change = () => this.#accountDesk.unregister(user, nick, ref);
    return watchAccounts([user, holder], this.#now, change);
  }

  /**
   * Ends `holder`'s session because the owner of its registered nick proved it elsewhere: it is
   * told why, and its rooms see it leave as `replaced`.
   */
  #replace(holder: User): void {
    const audit = this.#audit;
    audit("replaced", { nick: holder.nick, address: holder.address });
    holder.sink.deliver(
      new Outgoing({
        type: "bye",
        reason: "replaced",
        message: `The owner of the nickname ${holder.nick} logged in elsewhere and took it over.`,
      }),
    );
    this.logout(holder, "replaced");
    holder.sink.close("replaced");
  }

  /** Refuses (and tells) a guest on a server that requires accounts; true if refused. */
  #refusedGuest(user: User, ref?: string, what = "talk"): boolean {
    if (!this.needsAccount(user)) return false;
    const why = `Only registered users can ${what} here: /register (your key) or /register ` +
      "PASSWORD makes this nick yours; /identify NICK PASSWORD proves an account you have.";
    reply(user, "account_required", why, ref);
    return true;
  }

  /**
   * Queues a room message from `user`. It is committed, acknowledged to its author and relayed
   * to everyone else in the room at the next {@linkcode Hub.flush}. `breaks`: where the author
   * joined its lines without a newline (`MessageFrame.breaks`; relayed live, not stored).
   */
  say(
    user: User,
    roomName: string,
    text: string,
    ref?: string,
    kind?: MessageKind,
    breaks?: readonly number[],
  ): void {
    user.lastActive = this.#now();
    if (this.#refusedGuest(user, ref)) return;
    // +m and +b: a member who may not speak there is told so (a non-member, by the relay).
    const room = this.#registry.room(roomName);
    if (room !== undefined && user.rooms.has(room) && !this.#desk.maySpeak(user, room, ref)) return;
    this.#relay.say(user, roomName, text, ref, kind, breaks);
  }

  /** Commits queued messages in one store call, then acknowledges and relays them. */
  flush(): Awaitable<void> {
    return this.#serial.run(() => this.#relay.flush());
  }

  /**
   * Puts `user` in a room, creating it if needed, and replays its recent history; `key` opens
   * a room with a key (+k).
   */
  join(user: User, name: string, ref?: string, key?: string): Awaitable<Room | null> {
    if (!this.#guestsRead && this.#refusedGuest(user, ref, "enter rooms")) return null;
    return this.#after(user, null, () => this.#rooms.join(user, name, ref, key));
  }

  /**
   * Applies mode changes (`/mode`, `/op`, `/voice`, IRC MODE) from `user`, a room operator;
   * with no changes, shows the room's modes. False if refused (the user was told why).
   */
  setModes(
    user: User,
    roomName: string,
    changes: readonly ModeChange[],
    ref?: string,
  ): Awaitable<boolean> {
    return this.#after(user, false, () => {
      const room = this.#roomOf(user, roomName, ref, true);
      if (room === null) return false;
      if (changes.length === 0) {
        this.#desk.showModes(user, room, ref);
        return true;
      }
      return this.#desk.setModes(user, room, changes, ref);
    });
  }

  /** `/kick #room NICK [reason]`, IRC KICK: a room operator puts `nick` out of the room. */
  kickFromRoom(
    by: User,
    roomName: string,
    nick: string,
    reason: string,
    ref?: string,
  ): Awaitable<boolean> {
    return this.#after(by, false, () => {
      const room = this.#roomOf(by, roomName, ref, true);
      return room !== null && this.#rooms.kick(by, room, nick, reason, ref);
    });
  }

  /** `/invite NICK [#room]`, IRC INVITE: lets `nick` into the room once. */
  invite(by: User, roomName: string, nick: string, ref?: string): Awaitable<boolean> {
    return this.#after(by, false, () => {
      const room = this.#roomOf(by, roomName, ref, true);
      return room !== null && this.#desk.invite(by, room, nick, ref);
    });
  }

  /** `/register #room`, ChanServ REGISTER: a verified room operator claims the room. */
  claimRoom(user: User, roomName: string, ref?: string): Awaitable<boolean> {
    return this.#after(user, false, () => {
      const room = this.#roomOf(user, roomName, ref, true);
      return room !== null && this.#desk.claimRoom(user, room, ref);
    });
  }

  /** `/unregister #room`, ChanServ DROP: the owner (or a server operator) releases a claim. */
  releaseRoom(user: User, roomName: string, ref?: string): Awaitable<boolean> {
    return this.#after(
      user,
      false,
      () => this.#desk.releaseRoom(user, roomName, this.#registry.room(roomName), ref),
    );
  }

  /**
   * The room called `name`, if `user` is in it (or, with `anyOperator`, is a server operator);
   * else they are told `not_in_room` and get null.
   */
  #roomOf(user: User, name: string, ref: string | undefined, anyOperator: boolean): Room | null {
    const room = this.#registry.room(name);
    if (room !== undefined && (user.rooms.has(room) || (anyOperator && user.operator))) {
      return room;
    }
    reply(user, "not_in_room", `You are not in ${shown(name)}.`, ref);
    return null;
  }

  /** Takes `user` out of a room, telling its members (and `message`, their words, if any). */
  part(user: User, name: string, ref?: string, message = ""): Awaitable<boolean> {
    return this.#after(user, false, () => this.#rooms.part(user, name, ref, message));
  }

  /**
   * Replays the last `request.count` messages of a room (older than `request.before`, if given)
   * to `user`, as many as fit the replay budget and the address's history allowance, less those
   * from people they ignore; returns what was shown, hidden and left, or null if the allowance
   * is spent (or the user has left).
   */
  history(
    user: User,
    room: Room,
    request: HistoryRequest,
    ref?: string,
  ): Awaitable<Replayed | null> {
    return this.#after(user, null, () => this.#rooms.history(user, room, request, ref));
  }

  /**
   * Answers a history query for a front end that shows the messages itself (IRC `CHATHISTORY`):
   * in order with the commits before it, for a member of `name` only, within the address's
   * allowance and the replay budget, counted in `wireBytes` when given (see `history_slice.ts`).
   */
  historySlice(
    user: User,
    name: string,
    query: HistoryQuery,
    wireBytes?: WireBytes,
  ): Awaitable<HistoryAnswer> {
    const gone: HistoryAnswer = { ok: false, reason: "not_in_room" };
    return this.#after(user, gone, () => {
      const room = this.#registry.room(name);
      if (room === undefined || !user.rooms.has(room)) return gone;
      return this.#reader.slice(user, room, query, wireBytes);
    });
  }

  /**
   * The rooms `user` is in whose newest message was said strictly between `from` and `to` (ms),
   * earliest first, at most `limit` (IRC `CHATHISTORY TARGETS`).
   */
  historyTargets(user: User, from: number, to: number, limit: number): Awaitable<TargetsAnswer> {
    const gone: TargetsAnswer = { ok: false, reason: "not_in_room" };
    return this.#after(
      user,
      gone,
      () => this.#reader.targets(user, [...user.rooms], from, to, limit),
    );
  }

  /** Changes a user's nick and tells everyone who shares a room with them. */
  rename(user: User, wanted: string, ref?: string): Awaitable<boolean> {
    const old = user.nick;
    const change = () =>
      then(this.#logins.rename(user, wanted, ref), (renamed) => {
        // WHOWAS knows a nick given up, as one whose holder left.
        if (renamed) this.#rooms.departures.record(user, this.#now(), old);
        return renamed;
      });
    return this.#after(user, false, () => watchAccounts([user], this.#now, change));
  }

  /**
   * Sends a direct message that only `to` sees; the author gets an ack. Not stored. `how`: its
   * kind, and whether a message to oneself is delivered (IRC) rather than refused.
   */
  direct(
    user: User,
    toNick: string,
    text: string,
    ref?: string,
    how?: DirectHow,
  ): Awaitable<void> {
    if (this.#refusedGuest(user, ref)) return;
    return this.#after(user, undefined, () => direct(this.#direct, user, toNick, text, ref, how));
  }

  /** Sets a room's topic, saves it, and tells the room. */
  setTopic(user: User, room: Room, topic: string, ref?: string): Awaitable<void> {
    return this.#after(user, undefined, () => this.#rooms.setTopic(user, room, topic, ref));
  }

  /**
   * Removes a user from every room and from the server, telling the rooms why (and `message`,
   * their own words for it, when they gave some: `/quit REASON`). Idempotent.
   */
  logout(user: User, reason: LeaveReason, message = ""): Awaitable<void> {
    if (!user.online) return;
    // What they said before goes first.
    this.#flushInBackground();
    // Offline at once: their nick is free and nothing reaches them from now on. Their rooms
    // hear of it in order, after what was said before (at once with an in-process store).
    this.#rooms.depart(user, reason, message);
    const left = this.#serial.run(() => this.#rooms.leaveAll(user, reason, message));
    if (left instanceof Promise) left.catch(() => {});
  }

  /**
   * Flushes with nobody waiting for the result. The relay reports its own failures to the
   * authors and never rejects; should that ever break, the error must not become an unhandled
   * rejection, which would stop the whole server.
   */
  #flushInBackground(): void {
    const flushed = this.flush();
    if (flushed instanceof Promise) flushed.catch(() => {});
  }

  /**
   * Runs `user`'s `event` in order, after the messages queued before it are committed and
   * relayed. A user who has left by then (their event waited for the store) gets `gone`
   * instead: nothing they asked for may bring them back (a rename would register them again).
   */
  #after<T>(user: User, gone: T, event: () => Awaitable<T>): Awaitable<T> {
    return this.#serial.run(() => then(this.#relay.flush(), () => (user.online ? event() : gone)));
  }

  /**
   * A batch the cluster log brought (any node's, this one's too; called by the log reader for
   * every `m` entry, in log order): delivered to the local members of its rooms and acknowledged
   * to this node's authors, in order with the hub's other events. The store's read watermark
   * moves past it in the same step (`HistoryStore.delivered`).
   */
  committed(batch: CommittedBatch): Awaitable<void> {
    return this.#serial.run(() => this.#relay.committed(batch));
  }

  /**
   * The cluster log lost entries before the next one this node takes (it fell behind the log's
   * cap, or Redis came back without them; the engine's `logGap`): the rooms' live messages in
   * them never reached this node's users. Each local member of each room is told, in order with
   * the batches around the hole, by a live `gap` frame: `/history` shows what the room kept.
   */
  logGap(): Awaitable<void> {
    return this.#serial.run(() => {
      for (const room of this.#registry.rooms) {
        if (room.members.size === 0) continue;
        // Other nodes' users are told by their own nodes (a mirror's sink drops it anyway).
        broadcast(room, { type: "gap", room: room.name, missed: 0, live: true });
      }
    });
  }

  /**
   * A direct message another node routed here for the local user whose folded nick is `key`:
   * delivered unless they ignore its sender. False if no such local user is here.
   */
  applyDirect(key: string, frame: ServerFrame): boolean {
    return received(this.#registry, key, frame);
  }

  /**
   * Another node's change (called by the log reader for every `e` entry from other nodes, in
   * log order), applied in order with the hub's other events. This node's own are ignored: it
   * applied them when it made them.
   */
  applyRemote(envelope: ClusterEnvelope): Awaitable<void> {
    if (envelope.node === this.#direct.cluster?.node) return;
    const event = envelope.event;
    switch (event.t) {
      case "hello":
      case "bye":
      case "join":
      case "nick":
      case "user":
      case "topic":
      case "node_lost":
      case "node_up":
      case "sync_begin":
      case "sync_end":
        return this.#serial.run(() => this.#applyPresence(envelope));
      case "part":
        // A room kick is moderation's (published with `by`); a plain part is presence's.
        return this.#serial.run(() =>
          event.by === undefined ? this.#applyPresence(envelope) : this.#applyModeration(envelope)
        );
      case "room":
      case "invite":
      case "kill":
      case "record":
        return this.#serial.run(() => this.#applyModeration(envelope));
      default: {
        const unknown: never = event;
        this.#audit("cluster_unknown_event", { event: JSON.stringify(unknown) });
      }
    }
  }

  /**
   * Applies hello/bye/join/part/nick/user/topic/node_lost/node_up to the mirrors
   * (core/mirror.ts).
   */
  #applyPresence(envelope: ClusterEnvelope): Awaitable<void> {
    applyPresence({
      registry: this.#registry,
      rooms: this.#rooms,
      now: this.#now,
      speaks: (user, room) => this.#desk.speaks(user, room),
      isMuted: (user) => this.moderation.isMuted(user),
      evict: (user, message) => this.#evict(user, message),
      syncs: this.#syncs,
    }, envelope);
    // A node that started knows no room's modes, bans or operators: every node tells its own.
    if (envelope.event.t === "node_up") this.#desk.announceRooms();
  }

  /** Ends a local user's session: another node holds their nick now (see core/mirror.ts). */
  #evict(user: User, message: string): void {
    user.sink.deliver(new Outgoing({ type: "bye", reason: "replaced", message }));
    this.logout(user, "replaced");
    user.sink.close("replaced");
  }

  /**
   * The cluster told this node its lease was lost (it was declared lost, or Redis restarted
   * empty; the engine's `onRejoin`): every local user's nick is claimed again, those whose nick
   * another node gave away meanwhile (or that are in `taken`, folded nicks the engine found
   * held by other nodes) are closed with a bye saying so, the others told again.
   */
  rejoinCluster(taken: readonly string[] = []): Promise<void> {
    const cluster = this.#registry.cluster;
    if (cluster === null) return Promise.resolve();
    const close = (user: User, message: string) => this.#evict(user, message);
    return Promise.resolve(
      this.#serial.run(() =>
        then(rejoin({ registry: this.#registry, cluster, close }, taken), () => {
          // The others forgot the rooms only this node's users were in: tell them their state.
          this.#desk.announceRooms();
        })
      ),
    );
  }

  /** Applies room/invite/kill/record (core/cluster_moderation.ts); a kick's part as any part. */
  #applyModeration(envelope: ClusterEnvelope): Awaitable<void> {
    const event = envelope.event;
    // A room kick (`part` with `by`) is applied as every part is, with the kick's frame.
    if (!isModerationEvent(event)) return this.#applyPresence(envelope);
    const parts = {
      registry: this.#registry,
      moderation: this.moderation,
      accounts: this.#accounts,
      desk: this.#desk,
      now: this.#now,
    };
    applyModeration(parts, event, envelope.node);
  }

  /** Says goodbye to everyone and closes their connections; refuses new logins from now on. */
  shutdown(): void {
    this.#relay.flush();
    this.#registry.closing = true;
    const bye = new Outgoing({
      type: "bye",
      reason: "shutdown",
      message: "The server is shutting down. Goodbye!",
    });
    for (const user of [...this.#registry.users]) {
      user.sink.deliver(bye);
      user.sink.close("shutdown");
    }
  }

  /**
   * Called about once a second: tells the presence changes held back since the last told one
   * (see core/presence.ts).
   */
  tick(): void {
    this.#rooms.tick();
    // Commits the cluster log has not confirmed in time are told to their authors.
    this.#relay.tick();
  }

  /** Sends one frame to one user. */
  send(user: User, frame: ServerFrame): void {
    send(user, frame);
  }

  /** Sends an error frame to one user. */
  reply(user: User, code: ErrorCode, message: string, ref?: string): void {
    reply(user, code, message, ref);
  }

  /**
   * Encodes once and hands the same bytes to every member but `except` (and, for a message from
   * `from`, but those ignoring them). Never awaits.
   */
  broadcast(room: Room, frame: ServerFrame, except?: User, from?: User): void {
    broadcast(room, frame, except, from);
  }
}
