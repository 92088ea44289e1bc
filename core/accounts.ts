/**
 * Registered nicks: which nick belongs to which identity (a key's fingerprint or a password
 * account), held in memory under the folded nick and written through to the store. Checking a
 * password goes through the {@linkcode PasswordHasher} port, which does the crypto off the event
 * loop; wrong passwords are counted per address by a {@linkcode Lockout}, over any number of
 * connections.
 *
 * @module
 */

import { SHORT_FINGERPRINT_LENGTH } from "../config/security_limits.ts";
import type { IdentityKind } from "../protocol/frames.ts";
import type { AccountView, KeyProof } from "./identity.ts";
import { Lockout, SECRET_LOCKOUT } from "./lockout.ts";
import { displayNick, nickKey } from "./nick.ts";
import type { AccountRecord, AccountTable, PasswordHasher } from "./ports.ts";

/** What checking an account password came to. */
export type PasswordCheck =
  /** It matches this hash (the account as it was when checked). */
  | { kind: "ok"; hash: string }
  /** It does not; the address has `failures` wrong ones in a row now. */
  | { kind: "wrong"; failures: number }
  /** Too many hashes in progress: try again. */
  | { kind: "busy" }
  /** The address is locked out for `wait` more seconds; nothing was hashed. */
  | { kind: "locked"; wait: number }
  /** The nick is not a password account (any more). */
  | { kind: "none" };

/** Settings for {@linkcode Accounts}. */
export interface AccountsOptions {
  /** Where accounts are kept across restarts (read once here); null: in memory only. */
  table: AccountTable | null;
  /** Hashes and checks passwords; null: password accounts cannot be made or proven. */
  hasher: PasswordHasher | null;
  /** Told of wrong passwords, for the log. */
  audit: (event: string, fields: Record<string, string | number>) => void;
}

/**
 * The registered nicks. Reads are synchronous and from memory; a change is saved first and
 * applied only once saved (a StoreError leaves it unmade).
 *
 * @example
 * ```ts
 * import { MemoryAccounts } from "../store/memory/accounts.ts";
 * const accounts = new Accounts({ table: new MemoryAccounts(), hasher: null, audit: () => {} });
 * accounts.registerKey("alice", { source: "ssh", fingerprint: "SHA256:abc" }, Date.now());
 * accounts.view("ALICE")?.kind; // "key"
 * ```
 */
export class Accounts {
  readonly #table: AccountTable | null;
  readonly #hasher: PasswordHasher | null;
  readonly #audit: AccountsOptions["audit"];
  readonly #byKey = new Map<string, AccountRecord>();
  readonly #failures = new Lockout(SECRET_LOCKOUT);

  /** Loads every saved account. Throws a StoreError if the table cannot be read. */
  constructor(options: AccountsOptions) {
    this.#table = options.table;
    this.#hasher = options.hasher;
    this.#audit = options.audit;
    for (const record of options.table?.load() ?? []) this.#byKey.set(record.key, record);
  }

  /** True when password accounts can be made and proven. */
  get passwords(): boolean {
    return this.#hasher !== null;
  }

  /** The account that owns `nick` (folded as nicks are), if any. */
  get(nick: string): AccountRecord | undefined {
    return this.#byKey.get(nickKey(nick));
  }

  /** What may be shown of the account that owns `nick`: no hash. */
  view(nick: string): AccountView | undefined {
    const record = this.get(nick);
    if (record === undefined) return undefined;
    const { nick: shown, kind, created } = record;
    return record.kind === "key"
      ? { nick: shown, kind, created, fingerprint: record.fingerprint, source: record.source }
      : { nick: shown, kind, created };
  }

  /** True if `key` is the key that owns `account`. */
  keyProves(account: AccountRecord, key: KeyProof | undefined): boolean {
    return account.kind === "key" && key !== undefined && key.fingerprint === account.fingerprint;
  }

  /** Whole seconds `address` must wait before its next account password, or 0. */
  lockedFor(address: string, now: number): number {
    return this.#failures.lockedFor(address, now);
  }

  /**
   * Checks `password` against the password account that owns `nick`. Locked-out addresses are
   * refused before anything is hashed; a wrong password counts against the address.
   */
  checkPassword(
    nick: string,
    password: string,
    address: string,
    now: () => number,
  ): PasswordCheck | Promise<PasswordCheck> {
    const account = this.get(nick);
    if (account?.kind !== "password" || this.#hasher === null) return { kind: "none" };
    const wait = this.#failures.lockedFor(address, now());
    if (wait > 0) return { kind: "locked", wait };
    const verified = this.#hasher.verify(password, account.hash);
    if (verified === null) return { kind: "busy" };
    const hash = account.hash;
    return verified.then((ok): PasswordCheck => {
      if (ok) return { kind: "ok", hash };
      const failures = this.#failures.failed(address, now());
      this.#audit("bad_account_password", { nick: account.nick, address, failures });
      return { kind: "wrong", failures };
    });
  }

  /** True if `check` still proves `nick` (its account was not changed while it was hashed). */
  passwordProves(nick: string, check: PasswordCheck): boolean {
    const account = this.get(nick);
    return check.kind === "ok" && account?.kind === "password" && account.hash === check.hash;
  }

  /** The encoded hash of a new password, null when the hasher is busy (or there is none). */
  hash(password: string): Promise<string> | null {
    return this.#hasher?.hash(password) ?? null;
  }

  /** Registers `nick` to a key. Throws a StoreError if it cannot be saved. */
  registerKey(nick: string, key: KeyProof, now: number): AccountRecord {
    return this.#save({
      key: nickKey(nick),
      nick: displayNick(nick),
      created: now,
      kind: "key",
      fingerprint: key.fingerprint,
      source: key.source,
    });
  }

  /** Registers `nick` to a password, given its hash. Throws a StoreError if not saved. */
  registerPassword(nick: string, hash: string, now: number): AccountRecord {
    return this.#save({
      key: nickKey(nick),
      nick: displayNick(nick),
      created: now,
      kind: "password",
      hash,
    });
  }

  /** Releases `nick`; false if it was not registered. Throws a StoreError if not saved. */
  remove(nick: string): boolean {
    const key = nickKey(nick);
    if (!this.#byKey.has(key)) return false;
    this.#table?.delete(key);
    this.#byKey.delete(key);
    return true;
  }

  #save(record: AccountRecord): AccountRecord {
    this.#table?.save(record);
    this.#byKey.set(record.key, record);
    return record;
  }
}

/** `SHA256:` and the first {@linkcode SHORT_FINGERPRINT_LENGTH} characters after it. */
export function shortFingerprint(fingerprint: string): string {
  const body = fingerprint.startsWith("SHA256:") ? fingerprint.slice(7) : fingerprint;
  return `SHA256:${body.slice(0, SHORT_FINGERPRINT_LENGTH)}`;
}

/** How an account proves itself, in words ("an SSH key", "a password"). */
export function describeAccount(account: AccountView | AccountRecord): string {
  if (account.kind === "password") return "a password";
  return account.source === "ssh" ? "an SSH key" : "a sockchat key";
}

/** What would prove an account: for `need` in a `nick_registered` error. */
export function needOf(account: AccountRecord): IdentityKind {
  return account.kind;
}
