/**
 * Registered nicks: which nick belongs to which identity (a key's fingerprint or a password
 * account), held in memory under the folded nick and written through to the store. Checking a
 * password goes through the {@linkcode PasswordHasher} port, which does the crypto off the event
 * loop; wrong passwords are counted per address by a {@linkcode Lockout}, over any number of
 * connections.
 *
 * @module
 */

import { MAX_AUTH_TRACKED } from "../config/limits.ts";
import {
  MAX_ACCOUNTS,
  MAX_ACCOUNTS_PER_KEY,
  MAX_REGISTER_HASHES_PER_ADDRESS,
  MAX_REGISTRATIONS_PER_ADDRESS,
  REGISTRATION_WINDOW_MS,
  SHORT_FINGERPRINT_LENGTH,
} from "../config/security_limits.ts";
import { addressKey } from "../security/conn_limiter.ts";
import type { IdentityKind } from "../protocol/frames.ts";
import type { AccountView, KeyProof } from "./identity.ts";
import { Lockout, SECRET_LOCKOUT, sharedCounter } from "./lockout.ts";
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

/** Why a registration may not be made now; see {@linkcode Accounts.registrationLimit}. */
export type RegistrationLimit =
  /** The key owns `max` nicks already. */
  | { kind: "per_key"; max: number }
  /** The address made `max` registrations this window; `wait` seconds until the next. */
  | { kind: "per_address"; max: number; wait: number }
  /** The server holds `max` accounts in all. */
  | { kind: "full"; max: number };

/** What asking for a new password's hash came to. */
export type HashStart =
  /** Hashing; the encoded hash once done. */
  | { kind: "hashing"; hash: Promise<string> }
  /** The server-wide cap on hashes in progress is reached. */
  | { kind: "busy" }
  /** This address has its share of hashes in progress already. */
  | { kind: "address_busy" };

/** The caps on registering; tests lower them. */
export interface AccountLimits {
  /** Nicks one key may own. @default {@linkcode MAX_ACCOUNTS_PER_KEY} */
  perKey: number;
  /** Registrations one address may make per window. @default {@linkcode MAX_REGISTRATIONS_PER_ADDRESS} */
  perAddress: number;
  /** The window `perAddress` counts in, in ms. @default {@linkcode REGISTRATION_WINDOW_MS} */
  windowMs: number;
  /** Accounts the server keeps in all. @default {@linkcode MAX_ACCOUNTS} */
  total: number;
  /** `/register PASSWORD` hashes one address may run at once. @default {@linkcode MAX_REGISTER_HASHES_PER_ADDRESS} */
  hashesPerAddress: number;
}

/** Settings for {@linkcode Accounts}. */
export interface AccountsOptions {
  /** The caps on registering. @default the constants each field names */
  limits?: Partial<AccountLimits>;
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
  readonly #failures = new Lockout({ ...SECRET_LOCKOUT, kind: "account" });
  readonly #limits: AccountLimits;
  /** How many nicks each key fingerprint owns. */
  readonly #perKey = new Map<string, number>();
  /** Registrations per address key in its current window (oldest window first). */
  readonly #recent = new Map<string, { count: number; since: number }>();
  /** The same window counted on every node too, in cluster mode (see `shareLockouts`). */
  readonly #shared: Lockout;
  /** /register PASSWORD hashes in progress per address key. */
  readonly #hashing = new Map<string, number>();

  /** Loads every saved account. Throws a StoreError if the table cannot be read. */
  constructor(options: AccountsOptions) {
    this.#table = options.table;
    this.#hasher = options.hasher;
    this.#audit = options.audit;
    this.#limits = {
      perKey: MAX_ACCOUNTS_PER_KEY,
      perAddress: MAX_REGISTRATIONS_PER_ADDRESS,
      windowMs: REGISTRATION_WINDOW_MS,
      total: MAX_ACCOUNTS,
      hashesPerAddress: MAX_REGISTER_HASHES_PER_ADDRESS,
      ...options.limits,
    };
    this.#shared = new Lockout({
      maxFailures: this.#limits.perAddress,
      lockoutMs: this.#limits.windowMs,
      maxTracked: MAX_AUTH_TRACKED,
      kind: "register",
      window: "first",
    });
    for (const record of options.table?.load() ?? []) this.#index(record);
  }

  /**
   * Why `address` may not register a nick now (to `key`, or to a password when undefined), or
   * null. Asked before hashing and again before saving; {@linkcode registered} counts one made.
   */
  registrationLimit(
    key: KeyProof | undefined,
    address: string,
    now: number,
  ): RegistrationLimit | null {
    const { perKey, perAddress, windowMs, total } = this.#limits;
    if (key !== undefined && (this.#perKey.get(key.fingerprint) ?? 0) >= perKey) {
      return { kind: "per_key", max: perKey };
    }
    const recent = this.#window(address, now);
    if (recent !== undefined && recent.count >= perAddress) {
      return {
        kind: "per_address",
        max: perAddress,
        wait: Math.ceil((recent.since + windowMs - now) / 1000),
      };
    }
    // Cluster mode: what the address registered on the other nodes (learnt, or being looked up).
    const elsewhere = sharedCounter() === null ? 0 : this.#shared.lockedFor(address, now);
    if (elsewhere > 0) return { kind: "per_address", max: perAddress, wait: elsewhere };
    if (this.#byKey.size >= total) return { kind: "full", max: total };
    return null;
  }

  /** Counts a registration made from `address` against its window. */
  registered(address: string, now: number): void {
    if (sharedCounter() !== null) this.#shared.failed(address, now);
    const key = addressKey(address);
    const recent = this.#window(address, now);
    if (recent !== undefined) {
      recent.count++;
      return;
    }
    // Capped like the lockouts: under a spray from very many addresses, forget the oldest.
    if (this.#recent.size >= MAX_AUTH_TRACKED) {
      const oldest = this.#recent.keys().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
    this.#recent.set(key, { count: 1, since: now });
  }

  /** The address's current window, if it has one that has not ended. */
  #window(address: string, now: number): { count: number; since: number } | undefined {
    const key = addressKey(address);
    const recent = this.#recent.get(key);
    if (recent === undefined) return undefined;
    if (now - recent.since < this.#limits.windowMs) return recent;
    this.#recent.delete(key);
    return undefined;
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
    // Cluster mode: the address's count on every node decides before a hash is spent on it.
    if (sharedCounter() !== null) {
      return this.#failures.lockedForShared(address, now()).then((shared) =>
        shared > 0
          ? { kind: "locked", wait: shared }
          : this.#verify(account, password, address, now)
      );
    }
    return this.#verify(account, password, address, now);
  }

  /** Hashes `password` against the password account `account`, counting a wrong one. */
  #verify(
    account: AccountRecord & { kind: "password" },
    password: string,
    address: string,
    now: () => number,
  ): PasswordCheck | Promise<PasswordCheck> {
    if (this.#hasher === null) return { kind: "none" };
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

  /**
   * Starts hashing a new password for `address`: `busy` when the server-wide cap is reached (or
   * there is no hasher), `address_busy` when the address has its share in progress already.
   */
  hash(password: string, address: string): HashStart {
    const key = addressKey(address);
    const mine = this.#hashing.get(key) ?? 0;
    if (mine >= this.#limits.hashesPerAddress) return { kind: "address_busy" };
    const hashing = this.#hasher?.hash(password) ?? null;
    if (hashing === null) return { kind: "busy" };
    this.#hashing.set(key, mine + 1);
    const done = () => {
      const left = (this.#hashing.get(key) ?? 1) - 1;
      if (left > 0) this.#hashing.set(key, left);
      else this.#hashing.delete(key);
    };
    return { kind: "hashing", hash: hashing.finally(done) };
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
    const record = this.#byKey.get(key);
    if (record === undefined) return false;
    this.#table?.delete(key);
    this.#unindex(record);
    return true;
  }

  /**
   * Takes in an account another node saved (`record`) or released (`released`: its folded
   * nick), in memory only: the shared table holds it already, and writing it again would
   * publish it again. Returns the account as it was before, if there was one.
   */
  applyRemote(change: { record: AccountRecord } | { released: string }): AccountRecord | undefined {
    const key = "record" in change ? change.record.key : change.released;
    const old = this.#byKey.get(key);
    if (old !== undefined) this.#unindex(old);
    if ("record" in change) this.#index({ ...change.record });
    return old;
  }

  #save(record: AccountRecord): AccountRecord {
    this.#table?.save(record);
    const old = this.#byKey.get(record.key);
    if (old !== undefined) this.#unindex(old);
    this.#index(record);
    return record;
  }

  #index(record: AccountRecord): void {
    this.#byKey.set(record.key, record);
    if (record.kind === "key") {
      this.#perKey.set(record.fingerprint, (this.#perKey.get(record.fingerprint) ?? 0) + 1);
    }
  }

  #unindex(record: AccountRecord): void {
    this.#byKey.delete(record.key);
    if (record.kind !== "key") return;
    const left = (this.#perKey.get(record.fingerprint) ?? 1) - 1;
    if (left > 0) this.#perKey.set(record.fingerprint, left);
    else this.#perKey.delete(record.fingerprint);
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
