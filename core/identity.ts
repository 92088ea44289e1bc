/**
 * Identities: what makes a nick someone's. A nick may be registered to a public key (an SSH key,
 * or the key `sockchat join` makes for itself) or to a password account. The transports prove a
 * key before the core hears of it (SSH public-key authentication; a signed nonce on the native
 * port); the core compares fingerprints only.
 *
 * @module
 */

import { MAX_PROVEN_ACCOUNTS } from "../config/limits.ts";
import { type Awaitable, then } from "./awaitable.ts";
import type { AccountRecord } from "./ports.ts";
import { tellSharers } from "./presence.ts";
import type { User } from "./user.ts";

/** Where a proven key came from. */
export type KeySource = "ssh" | "sockchat";

/**
 * A public key the transport has seen proven (signature checked). Never built from what a
 * client merely claims.
 */
export interface KeyProof {
  /** An SSH key from SSH authentication, or the native client's own key. */
  source: KeySource;
  /**
   * OpenSSH's SHA256 fingerprint of the key's wire blob, `SHA256:<base64 without padding>`, as
   * `ssh-keygen -lf` prints it.
   */
  fingerprint: string;
}

/** A registered nick, as the core and the front ends may look at it (no secret in it). */
export interface AccountView {
  /** The nick as registered (display form). */
  nick: string;
  /** A key account, or a password account. */
  kind: "key" | "password";
  /** For a key account: the key's fingerprint. */
  fingerprint?: string;
  /** For a key account: where the key was proven when it was registered. */
  source?: KeySource;
  /** When it was registered, in milliseconds since the epoch. */
  created: number;
}

/**
 * The account `user` is proven as: their nick while it is registered and proven this session
 * (`verified`), else null.
 */
export function provenAccount(user: User): string | null {
  return user.verified ? user.nick : null;
}

/**
 * The accounts each connection has proven (SASL, a password at login, /identify, NickServ, a
 * key), by folded nick, with the credential that stood then ({@linkcode credentialOf}). Weak:
 * a user who leaves takes theirs along. A proof is per connection: a new login proves again.
 */
const provenBy = new WeakMap<User, Map<string, string>>();

/**
 * What an account is proven against: when it was registered and its password hash or key
 * fingerprint. A new password or key, or the account unregistered (and maybe registered again,
 * by anyone), changes it, and so voids what was proven before.
 */
function credentialOf(account: AccountRecord): string {
  return `${account.created}:${account.kind === "key" ? account.fingerprint : account.hash}`;
}

/**
 * Remembers that `user`'s connection proved `account` (they hold its nick, verified, and are
 * about to give it up), so that changing back to it regains it at once. At most
 * {@linkcode MAX_PROVEN_ACCOUNTS}, the oldest forgotten first.
 */
export function rememberProof(user: User, account: AccountRecord): void {
  let proven = provenBy.get(user);
  if (proven === undefined) provenBy.set(user, proven = new Map());
  proven.delete(account.key);
  for (const oldest of proven.keys()) {
    if (proven.size < MAX_PROVEN_ACCOUNTS) break;
    proven.delete(oldest);
  }
  proven.set(account.key, credentialOf(account));
}

/**
 * True if `user`'s connection proved `account` earlier (see {@linkcode rememberProof}) and its
 * password or key has not changed since, nor was it unregistered.
 */
export function provedBefore(user: User, account: AccountRecord): boolean {
  return provenBy.get(user)?.get(account.key) === credentialOf(account);
}

/**
 * Runs `change` (a /register, /identify, /unregister or rename), then tells everyone sharing a
 * room with each of `users` whose proven account it changed, and that user too, with an
 * `account` frame (IRC `account-notify`): logging in, out, or into another nick's account.
 */
export function watchAccounts<T>(
  users: readonly (User | undefined)[],
  now: () => number,
  change: () => Awaitable<T>,
): Awaitable<T> {
  const before = users.flatMap((user) =>
    user === undefined ? [] : [{ user, was: provenAccount(user) }]
  );
  return then(change(), (result) => {
    for (const { user, was } of before) {
      const account = provenAccount(user);
      if (!user.online || account === was) continue;
      tellSharers(user, { type: "account", nick: user.nick, account, ts: now() }, true);
    }
    return result;
  });
}
