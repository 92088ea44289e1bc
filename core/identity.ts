/**
 * Identities: what makes a nick someone's. A nick may be registered to a public key (an SSH key,
 * or the key `sockchat join` makes for itself) or to a password account. The transports prove a
 * key before the core hears of it (SSH public-key authentication; a signed nonce on the native
 * port); the core compares fingerprints only.
 *
 * @module
 */

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
