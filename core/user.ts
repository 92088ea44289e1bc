/**
 * A logged-in user, and the sink their frames go to.
 *
 * @module
 */

import { nickKey } from "./nick.ts";
import type { Room } from "./room.ts";
import { IgnoreList } from "./ignore_list.ts";
import type { PeerSink } from "./ports.ts";
import type { KeyProof } from "./identity.ts";

/**
 * The ignoredBy of a user nobody ignores: shared, and never added to (only {@linkcode
 * User.addIgnorer} adds, and it gives the user a set of their own), so clearing it is harmless.
 */
const NOBODY: ReadonlySet<User> & { clear(): void } = new Set<User>();

/**
 * A logged-in user: one of this server's own (local), or, in a cluster, a mirror of a user
 * another node holds (`node` is that node's id, and its sink drops everything: that node
 * delivers to them).
 */
export class User {
  /** Nick as displayed. */
  nick: string;
  /** Nick folded for uniqueness. */
  key: string;
  /** Where this user's frames go. */
  readonly sink: PeerSink;
  /** Rooms this user is in. */
  readonly rooms: Set<Room> = new Set();
  /** False once the user has left the server. */
  online = true;
  /** The client's address, for address bans. */
  readonly address: string;
  /** The cluster node holding this user; undefined for this server's own (local) users. */
  readonly node: string | undefined;
  /**
   * True once the other nodes of a cluster were told of this local user (`hello`, when the
   * login completed): their changes are published from then on, not before.
   */
  announced = false;
  /** Told when `ident`, `away`, `verified` or `operator` changes (the cluster publishes the card). */
  #onChange: ((user: User) => void) | null = null;
  #operator = false;
  #verified = false;
  #away: string | null = null;
  #ident = "sc";
  /** The key the transport proved this session holds (for /register), or null. */
  proof: KeyProof | null = null;
  /** Wrong /oper attempts so far. */
  operFailures = 0;
  /** Whose messages this user does not want to see. */
  readonly ignores: IgnoreList = new IgnoreList(this);
  /** Created on first use: most users are ignored by nobody, and every idle one would pay. */
  #ignoredBy: Set<User> | null = null;
  /** When they logged in, in milliseconds since the epoch (for /whois). */
  since = 0;
  /**
   * When this session took the nick it holds over from another session of the same account (ms
   * since the epoch; 0: it never did): a nick taken over less than `TAKEOVER_COOLDOWN_MS` ago is
   * not taken over again, so two clients of one account cannot take it from each other forever.
   */
  tookOverAt = 0;
  /**
   * When another session of the account last asked whether this one is alive (a probe sent
   * through the sink; ms since the epoch; 0: never), before taking its nick over.
   */
  probedAt = 0;
  /** When they last said something or ran a command (for /whois's idle time). */
  lastActive = 0;
  /**
   * Who has been told this user is away, in this away spell (each sender once). Weak, so a
   * sender who leaves is not kept alive by it; a new /away starts a new spell.
   */
  awayNotified: WeakSet<User> | null = null;
  /**
   * The last user whose direct message reached this one, for /reply: a weak reference, so a
   * sender who left is not kept in memory, and never someone who took their nick later.
   */
  lastDirectFrom: { nick: string; user: WeakRef<User> } | null = null;

  /**
   * A user called `nick` (already checked), whose frames go to `sink`; `node`: the cluster node
   * holding them, for a mirror (undefined: a local user).
   */
  constructor(nick: string, sink: PeerSink, address = "", node?: string) {
    this.nick = nick;
    this.key = nickKey(nick);
    this.sink = sink;
    this.address = address;
    this.node = node;
  }

  /**
   * The ident shown (as `~ident`) in the user's IRC mask and matched by room bans: the USER name
   * an IRC client gave (folded by the IRC front end), `sc` for users of the other front ends.
   */
  get ident(): string {
    return this.#ident;
  }

  set ident(value: string) {
    if (value === this.#ident) return;
    this.#ident = value;
    this.#onChange?.(this);
  }

  /** Unlocked with /oper, or by logging in with a key listed in `--oper-keys`. */
  get operator(): boolean {
    return this.#operator;
  }

  set operator(value: boolean) {
    if (value === this.#operator) return;
    this.#operator = value;
    this.#onChange?.(this);
  }

  /**
   * True while the nick they hold is registered and this session proved it (its key, or the
   * account's password): what the verified marks show.
   */
  get verified(): boolean {
    return this.#verified;
  }

  set verified(value: boolean) {
    if (value === this.#verified) return;
    this.#verified = value;
    this.#onChange?.(this);
  }

  /**
   * Their away message (`/away`, cleaned; "" when they gave none), or null while they are here.
   */
  get away(): string | null {
    return this.#away;
  }

  set away(value: string | null) {
    if (value === this.#away) return;
    this.#away = value;
    this.#onChange?.(this);
  }

  /**
   * Has `onChange` told whenever `ident`, `operator`, `verified` or `away` changes (the registry
   * publishes a local user's card to the cluster); one watcher, replacing any before.
   */
  watch(onChange: (user: User) => void): void {
    this.#onChange = onChange;
  }

  /**
   * Users whose ignore lists follow this one (told when this user leaves). Read-only here: an
   * ignore list records itself with {@linkcode addIgnorer}. Clearing it is how a leaving user
   * lets go of them all.
   */
  get ignoredBy(): ReadonlySet<User> & { clear(): void } {
    return this.#ignoredBy ?? NOBODY;
  }

  /** `ignorer`'s ignore list now follows this user. */
  addIgnorer(ignorer: User): void {
    (this.#ignoredBy ??= new Set()).add(ignorer);
  }

  /** `ignorer`'s ignore list no longer follows this user. */
  removeIgnorer(ignorer: User): void {
    this.#ignoredBy?.delete(ignorer);
  }

  /** Changes the nick (the hub checks it first). */
  rename(nick: string): void {
    this.nick = nick;
    this.key = nickKey(nick);
  }
}
