/**
 * The account commands: /register (to the session's key, or a password), /identify (prove a
 * password account mid-session and take its nick) and /unregister (your own nick, or anyone's
 * for an operator). Hashing runs before the event enters the hub's queue, so scrypt never holds
 * it; what it found is checked again once in the queue (the account may have changed).
 *
 * @module
 */

import { assertNever } from "../protocol/frames.ts";
import { type Awaitable, then } from "./awaitable.ts";
import type { KeyProof } from "./identity.ts";
import {
  ACCOUNT_PASSWORD_MAX_LENGTH,
  ACCOUNT_PASSWORD_MIN_LENGTH,
} from "../config/security_limits.ts";
import { type Accounts, describeAccount, shortFingerprint } from "./accounts.ts";
import { reply, send } from "./deliver.ts";
import type { Logins } from "./login.ts";
import { registeredError } from "./account_rules.ts";
import { nickKey } from "./nick.ts";
import type { Registry } from "./registry.ts";
import { shown } from "./text.ts";
import type { User } from "./user.ts";

/** Told when every password check is taken (/register and /identify alike). */
const PASSWORDS_BUSY = "The server is busy checking passwords; try again.";

/** Settings for an {@linkcode AccountDesk}. */
export interface AccountDeskOptions {
  /** The registered nicks. */
  accounts: Accounts;
  /** Nick changes as an owner (/identify NICK). */
  logins: Logins;
  /** Who is online (an /unregister NICK unmarks them). */
  registry: Registry;
  /** Runs `event` for `user` in the hub's order, or gives `gone` if they left meanwhile. */
  after: <T>(user: User, gone: T, event: () => Awaitable<T>) => Awaitable<T>;
  /** Called once a user has just become verified (a shut-out guest enters the lobby). */
  admitted: (user: User) => void;
  /** Told of registrations and releases, for the log. */
  audit: (event: string, fields: Record<string, string | number>) => void;
  /** The clock, in milliseconds since the epoch. */
  now: () => number;
}

/** Why a new account password is refused, or null. */
export function accountPasswordProblem(password: string): string | null {
  // One word, so that /identify NICK PASSWORD can tell the two apart.
  if (/\s/.test(password)) return "An account password is one word: no spaces.";
  const length = [...password].length;
  if (length < ACCOUNT_PASSWORD_MIN_LENGTH) {
    return `An account password needs at least ${ACCOUNT_PASSWORD_MIN_LENGTH} characters.`;
  }
  if (length > ACCOUNT_PASSWORD_MAX_LENGTH) {
    return `An account password may have at most ${ACCOUNT_PASSWORD_MAX_LENGTH} characters.`;
  }
  return null;
}

/** /register, /identify and /unregister. */
export class AccountDesk {
  readonly #options: AccountDeskOptions;

  /** A desk with these settings. */
  constructor(options: AccountDeskOptions) {
    this.#options = options;
  }

  /** /register (no password: to the session's key) or /register PASSWORD. */
  register(user: User, password: string | undefined, ref?: string): Awaitable<void> {
    const { accounts, after } = this.#options;
    if (!this.#mayRegister(user, ref)) return;
    if (password === undefined) {
      const proof = user.proof;
      if (proof === null) {
        const why = "This session has no proven key to register (SSH key or sockchat join's " +
          "own key): /register PASSWORD makes a password account instead.";
        reply(user, "bad_command", why, ref);
        return;
      }
      if (!this.#withinLimits(user, proof, ref)) return;
      return after(user, undefined, () => {
        if (!this.#mayRegister(user, ref) || !this.#withinLimits(user, proof, ref)) return;
        this.#save(user, ref, () => accounts.registerKey(user.nick, proof, this.#options.now()));
      });
    }
    const problem = accountPasswordProblem(password);
    if (problem !== null) return reply(user, "bad_command", problem, ref);
    if (!accounts.passwords) {
      return reply(user, "bad_command", "This server does not keep password accounts.", ref);
    }
    // Checked before hashing too, so a refused registration costs no scrypt.
    if (!this.#withinLimits(user, undefined, ref)) return;
    const hashing = accounts.hash(password, user.address);
    switch (hashing.kind) {
      case "busy":
        return reply(user, "rate_limited", PASSWORDS_BUSY, ref);
      case "address_busy":
        return reply(
          user,
          "rate_limited",
          "A password from your address is being registered already; try again when it is done.",
          ref,
        );
      case "hashing":
        break;
      default:
        return assertNever(hashing);
    }
    const nick = user.key;
    return hashing.hash.then((hash) =>
      after(user, undefined, () => {
        // Renamed while it hashed: the password was meant for the nick they had then.
        if (user.key !== nick || !this.#mayRegister(user, ref)) return;
        if (!this.#withinLimits(user, undefined, ref)) return;
        this.#save(
          user,
          ref,
          () => accounts.registerPassword(user.nick, hash, this.#options.now()),
        );
      })
    );
  }

  /** False (and tells them) if a cap on registering stops `user` now. */
  #withinLimits(user: User, key: KeyProof | undefined, ref?: string): boolean {
    const limit = this.#options.accounts.registrationLimit(key, user.address, this.#options.now());
    if (limit === null) return true;
    switch (limit.kind) {
      case "per_key":
        reply(
          user,
          "bad_command",
          `Your key owns ${limit.max} nicks already, the most one key may register: ` +
            "/unregister one of them first.",
          ref,
        );
        break;
      case "per_address":
        reply(
          user,
          "rate_limited",
          `Your address has registered ${limit.max} nicks this hour, the most allowed; try ` +
            `again in ${limit.wait} s.`,
          ref,
        );
        break;
      case "full":
        reply(
          user,
          "server_full",
          `This server holds ${limit.max} registered nicks, all it keeps: no more can be ` +
            "registered until some are released.",
          ref,
        );
        break;
      default:
        assertNever(limit);
    }
    return false;
  }

  /** /identify [NICK] PASSWORD: proves a password account and takes its nick. */
  identify(user: User, nick: string, password: string, ref?: string): Awaitable<void> {
    const { accounts, after, logins, now } = this.#options;
    const account = accounts.get(nick);
    if (account === undefined || account.kind !== "password") {
      const why = account === undefined
        ? `${shown(nick)} is not registered.`
        : `${account.nick} is registered to ${describeAccount(account)}, not a password: ` +
          "log in with that key.";
      reply(user, "not_registered", why, ref);
      return;
    }
    return then(
      accounts.checkPassword(nick, password, user.address, now),
      (check) =>
        after(user, undefined, () => {
          if (accounts.passwordProves(nick, check)) {
            // In a cluster the nick is claimed first: a round trip.
            return then(logins.takeNick(user, nick, ref), (took) => {
              if (!took) return;
              this.#options.audit("identify", { nick: user.nick, address: user.address });
              send(user, { type: "info", text: `* You are identified as ${user.nick}.`, ref });
              this.#options.admitted(user);
            });
          }
          switch (check.kind) {
            case "busy":
              return reply(user, "rate_limited", PASSWORDS_BUSY, ref);
            case "locked":
              return reply(
                user,
                "bad_account_password",
                `Too many wrong account passwords from your address; try again in ${check.wait} s.`,
                ref,
              );
            default:
              return reply(
                user,
                "bad_account_password",
                `Wrong password for ${account.nick}.`,
                ref,
              );
          }
        }),
    );
  }

  /** /unregister (your own nick) or /unregister NICK (an operator: anyone's). */
  unregister(user: User, nick: string, ref?: string): void {
    const { accounts, registry } = this.#options;
    const own = nick === "" || nickKey(nick) === user.key;
    const target = own ? user.nick : nick;
    const account = accounts.get(target);
    if (own && account !== undefined && !user.verified) {
      reply(user, "nick_registered", `${account.nick} is not yours to release.`, ref);
      return;
    }
    if (!own && !user.operator) {
      const why = "Only operators can release someone else's nick; /unregister releases yours.";
      reply(user, "not_operator", why, ref);
      return;
    }
    if (account === undefined) {
      reply(user, "not_registered", `${shown(target)} is not registered.`, ref);
      return;
    }
    try {
      accounts.remove(target);
    } catch (error) {
      reply(user, "store_failed", `Releasing failed: ${(error as Error).message}`, ref);
      return;
    }
    const holder = registry.user(target);
    if (holder !== undefined) holder.verified = false;
    this.#options.audit("unregister", { by: user.nick, nick: account.nick, kind: account.kind });
    const text = own
      ? `* ${account.nick} is no longer registered: anyone may use it now.`
      : `* ${account.nick} is no longer registered (it was registered to ` +
        `${describeAccount(account)}): anyone may use it now.`;
    send(user, { type: "info", text, ref });
    if (holder !== undefined && holder !== user) {
      send(holder, { type: "info", text: `* ${user.nick} released your nick ${holder.nick}.` });
    }
  }

  /** False (and tells them) if `user`'s nick is registered already. */
  #mayRegister(user: User, ref?: string): boolean {
    const account = this.#options.accounts.get(user.nick);
    if (account === undefined) return true;
    if (user.verified) {
      send(user, { type: "info", text: `* ${account.nick} is registered to you already.`, ref });
    } else {
      const error = registeredError(account, user.proof !== null);
      error.ref = ref;
      send(user, error);
    }
    return false;
  }

  /** Saves a registration and tells the user what now proves their nick. */
  #save(
    user: User,
    ref: string | undefined,
    save: () => ReturnType<Accounts["registerKey"]>,
  ): void {
    let account;
    try {
      account = save();
    } catch (error) {
      reply(user, "store_failed", `Registering failed: ${(error as Error).message}`, ref);
      return;
    }
    user.verified = true;
    this.#options.accounts.registered(user.address, this.#options.now());
    const how = account.kind === "key"
      ? `${describeAccount(account)} (${shortFingerprint(account.fingerprint)})`
      : "your password (/identify it when you log in without it)";
    this.#options.audit("register", {
      nick: account.nick,
      address: user.address,
      kind: account.kind,
    });
    send(user, { type: "info", text: `* ${account.nick} is now registered to ${how}.`, ref });
    this.#options.admitted(user);
  }
}
