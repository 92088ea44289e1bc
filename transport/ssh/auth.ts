/**
 * SSH authentication, decided per request: the SSH user name is the nick. Public-key
 * authentication is the normal path: the signature is checked here, and if the nick is
 * registered to a key only that key passes (others are refused, so OpenSSH offers its next one);
 * an unregistered nick takes any proven key, which the session then carries as its
 * {@linkcode KeyProof}. Keyboard-interactive lets in clients without a key as guests (unless the
 * server requires accounts), asking the server password when there is one and the account
 * password for a nick registered to a password. Both passwords go into the chat login, where the
 * hub checks them with the same lockout as on TCP. Refused requests are limited per connection
 * and per address; public-key queries without a signature and "none" requests, which are no
 * attempt, per connection.
 *
 * @module
 */

import type { AccountView, KeyProof } from "../../core/identity.ts";
import type { Lockout } from "../../core/lockout.ts";
import { SSH_MAX_AUTH_ATTEMPTS, SSH_MAX_KEY_QUERIES } from "../../config/ssh_limits.ts";
import { fingerprintOfBlob, weakSshKey } from "../../security/ssh_keys.ts";
import { assertNever } from "../../protocol/frames.ts";
import {
  type AuthContext,
  type KeyboardAuth,
  type KeyboardPrompt,
  parseKey,
  type PublicKeyAuth,
} from "./ssh2.ts";

/** What authentication established about a client, for its chat login. */
export interface SshIdentity {
  /** The SSH user name: the nick asked for. */
  nick: string;
  /** The key the client proved, if it used one. */
  key?: KeyProof;
  /** The server password, asked at keyboard-interactive. */
  password?: string;
  /** The account password of a nick registered to one. */
  accountPassword?: string;
}

/** What an {@linkcode SshAuthenticator} needs from the server. */
export interface SshAuthOptions {
  /** The client's address (for the per-address count). */
  address: string;
  /** The account a nick is registered to, if any. */
  account(nick: string): AccountView | undefined;
  /** True when logins need the server password. */
  needsPassword: boolean;
  /** Only registered identities may log in without a key (`--require-account`). */
  requireAccount: boolean;
  /** Refused requests per address, shared by every SSH connection. */
  lockout: Lockout;
  /** The clock for the lockout. @default Date.now */
  now?: () => number;
}

/** The methods a refused client is told it may try next. */
const METHODS = ["publickey", "keyboard-interactive"];

/**
 * After a keyboard-interactive refusal that can only be said again (no account to prove): OpenSSH
 * would retry keyboard-interactive (three times by default) and show the same text each time.
 */
const KEY_ONLY = ["publickey"];

/** Where authentication stands after a request. */
export type AuthProgress = "pending" | "done" | "exhausted";

/**
 * One connection's authentication.
 *
 * @example
 * ```ts
 * import { Lockout } from "../../core/lockout.ts";
 * import type { AuthContext } from "./ssh2.ts";
 *
 * declare const context: AuthContext;
 * const auth = new SshAuthenticator({
 *   address: "203.0.113.7",
 *   account: () => undefined,
 *   needsPassword: false,
 *   requireAccount: false,
 *   lockout: new Lockout({ maxFailures: 30, lockoutMs: 60_000, maxTracked: 10_000 }),
 * });
 * auth.handle(context, (progress) => console.log(progress, auth.identity));
 * ```
 */
export class SshAuthenticator {
  readonly #options: SshAuthOptions;
  #refused = 0;
  /** Requests that are no attempt: publickey queries without a signature, and "none". */
  #freeRequests = 0;
  /** The --require-account refusal was shown: keyboard-interactive is not offered again. */
  #toldWhy = false;
  #identity: SshIdentity | null = null;

  /** Starts with no request refused. */
  constructor(options: SshAuthOptions) {
    this.#options = options;
  }

  /** The identity once authentication succeeded, else null. */
  get identity(): SshIdentity | null {
    return this.#identity;
  }

  /** Requests refused so far on this connection. */
  get refused(): number {
    return this.#refused;
  }

  /**
   * Answers one request. `progress` is told when the answer is settled (keyboard-interactive
   * waits for the client): "done" once the client is in, "exhausted" when it has used up its
   * attempts and must be disconnected.
   */
  handle(context: AuthContext, progress: (state: AuthProgress) => void): void {
    const { lockout, address } = this.#options;
    if (context.method !== "none" && lockout.lockedFor(address, this.#now()) > 0) {
      // Locked out (the connection's banner said so): nothing is even checked.
      context.reject([]);
      progress("exhausted");
      return;
    }
    switch (context.method) {
      case "none":
        // What a client asks first to learn the methods: not an attempt, but counted with the
        // other free requests, so that asking it forever is not free.
        if (++this.#freeRequests > SSH_MAX_KEY_QUERIES) {
          context.reject([]);
          progress("exhausted");
          return;
        }
        context.reject(METHODS);
        progress("pending");
        return;
      case "password":
      case "hostbased":
        progress(this.#refuse(context));
        return;
      case "publickey":
        progress(this.#publicKey(context));
        return;
      case "keyboard-interactive":
        this.#keyboard(context, progress);
        return;
      default:
        return assertNever(context);
    }
  }

  #publicKey(context: PublicKeyAuth): AuthProgress {
    const nick = context.username;
    if (context.signature === undefined && ++this.#freeRequests > SSH_MAX_KEY_QUERIES) {
      // Queries cost no guess, but a client asking forever is not logging in.
      context.reject([]);
      return "exhausted";
    }
    const parsed = parseKey(context.key.data);
    if (parsed instanceof Error) return this.#refuse(context);
    // A small-order or non-canonical ed25519 key (or a malleated signature) proves nothing:
    // node:crypto's verify would let some through.
    if (weakSshKey(context.key.data, context.signature) !== null) return this.#refuse(context);
    const fingerprint = fingerprintOfBlob(context.key.data);
    const account = this.#options.account(nick);
    // A registered nick takes only its own key; a password account is proven at
    // keyboard-interactive, which the refusal sends the client on to.
    if (account !== undefined && (account.kind !== "key" || account.fingerprint !== fingerprint)) {
      return this.#refuse(context);
    }
    if (context.signature === undefined || context.blob === undefined) {
      context.accept(); // "this key would do": the client signs next
      return "pending";
    }
    const valid = parsed.verify(context.blob, context.signature, context.hashAlgo);
    if (valid !== true) return this.#refuse(context);
    this.#identity = { nick, key: { source: "ssh", fingerprint } };
    context.accept();
    return "done";
  }

  #keyboard(context: KeyboardAuth, progress: (state: AuthProgress) => void): void {
    const nick = context.username;
    const account = this.#options.account(nick);
    if (this.#options.requireAccount && account?.kind !== "password") {
      if (this.#toldWhy) {
        // Said once already: no second copy, and not offered again.
        progress(this.#refuse(context, KEY_ONLY));
        return;
      }
      this.#toldWhy = true;
      const why = account?.kind === "key" && account.source === "sockchat"
        ? `${nick} is registered to a sockchat key: it logs in with sockchat join, not ssh.`
        : account?.kind === "key"
        ? `${nick} is registered to an SSH key: connect with that key (ssh -i KEYFILE).`
        : "This server requires an account. Connect with an SSH key (ssh-keygen -t ed25519 " +
          "makes one), or with a nick registered to a password.";
      this.#tell(context, why, progress);
      return;
    }
    const prompts: KeyboardPrompt[] = [];
    if (this.#options.needsPassword) prompts.push({ prompt: "Server password: ", echo: false });
    if (account?.kind === "password") {
      prompts.push({ prompt: `Password for ${nick}: `, echo: false });
    }
    if (prompts.length === 0) {
      this.#identity = { nick };
      context.accept();
      progress("done");
      return;
    }
    context.prompt(prompts, "sockchat", "", (answers) => {
      if (answers instanceof Error) return; // the client went on to another request
      const given = answers.slice(0, prompts.length);
      if (given.length < prompts.length || given.some((answer) => answer === "")) {
        progress(this.#refuse(context));
        return;
      }
      const identity: SshIdentity = { nick };
      let next = 0;
      if (this.#options.needsPassword) identity.password = given[next++];
      if (account?.kind === "password") identity.accountPassword = given[next++];
      this.#identity = identity;
      context.accept();
      progress("done");
    });
  }

  /** Shows `message` (keyboard-interactive instructions, no question), then refuses. */
  #tell(context: KeyboardAuth, message: string, progress: (state: AuthProgress) => void): void {
    context.prompt([], "sockchat", message, (answers) => {
      if (answers instanceof Error) return;
      progress(this.#refuse(context, KEY_ONLY));
    });
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** Refuses a request and counts it, here and for the address; `methods` may be tried next. */
  #refuse(context: AuthContext, methods: string[] = METHODS): AuthProgress {
    this.#refused++;
    const now = this.#now();
    this.#options.lockout.failed(this.#options.address, now);
    const exhausted = this.#refused >= SSH_MAX_AUTH_ATTEMPTS ||
      this.#options.lockout.lockedFor(this.#options.address, now) > 0;
    // The last refusal offers nothing more, so the client stops asking.
    context.reject(exhausted ? [] : methods);
    return exhausted ? "exhausted" : "pending";
  }
}
