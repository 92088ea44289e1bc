/**
 * Identities: what makes a nick someone's. A nick may be registered to a public key (an SSH key,
 * or the key `sockchat join` makes for itself) or to a password account. The transports prove a
 * key before the core hears of it (SSH public-key authentication; a signed nonce on the native
 * port); the core compares fingerprints only.
 *
 * @module
 */

import { type Awaitable, then } from "./awaitable.ts";
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
