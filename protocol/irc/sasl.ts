/**
 * SASL PLAIN over `AUTHENTICATE` (IRCv3 SASL 3.1/3.2, contract §5.10), before registration: the
 * payload arrives base64 in chunks of at most 400 bytes (exactly 400 means more follows, `+`
 * ends an exact multiple), is at most {@linkcode SASL_MAX_BYTES} decoded, and is
 * `authzid\0authcid\0password`. The password is checked by the core (with the address's
 * lockout); on success the login that ends registration is the account's, carrying the core's
 * proof instead of the password, so it is not hashed twice (core/account_proof.ts).
 *
 * @module
 */

import { type Awaitable, then } from "../../core/awaitable.ts";
import { SASL_CHUNK_BYTES, SASL_MAX_BYTES } from "../../config/irc_limits.ts";
import type { IrcLine } from "./line.ts";
import { numeric } from "./numerics.ts";
import type { SessionPort } from "../session.ts";
import type { AccountProof } from "../../core/account_proof.ts";

/** An account proven over SASL: what the login will give the core. */
export interface SaslAccount {
  /** The account's nick, as registered. */
  readonly nick: string;
  /** The core's proof that its password was right: the login takes it and hashes nothing. */
  readonly proof: AccountProof;
}

/** What the SASL exchange needs of its session. */
export interface SaslHost {
  /** The peer. */
  readonly port: SessionPort;
  /** The client's nick in numerics. */
  readonly client: string;
  /** `nick!~ident@cloak` for 900, with the NICK given so far (or `*`). */
  readonly mask: string;
  /** Sends lines from the server. */
  replies(lines: readonly IrcLine[]): void;
  /** Sends a line without a source (`AUTHENTICATE +`). */
  bare(line: IrcLine): void;
}

/** One connection's SASL state. */
export class Sasl {
  /** The account proven, once it is. */
  account: SaslAccount | null = null;
  /** `AUTHENTICATE PLAIN` was accepted and the payload is being collected. */
  #collecting = false;
  /** A password check is with the core. */
  #checking = false;
  #payload = "";

  /** True while the core checks a password: registration waits for its answer (contract §2). */
  get checking(): boolean {
    return this.#checking;
  }

  /**
   * Registration is complete while the client is still sending its payload: the exchange is
   * dropped with 906 and the client registers without an account (SASL 3.1: "the server SHOULD
   * abort it and send a 906 numeric"), rather than waiting for a payload that may never come.
   */
  abandon(host: SaslHost): void {
    if (!this.#collecting) return;
    this.#reset();
    host.replies([numeric.saslAborted(host.client)]);
  }

  /**
   * One `AUTHENTICATE <param>`. Re-authentication is not supported: after a success, 907; after
   * registering without SASL (`registered`), 462, which tells clients that SASL after
   * registration is not offered (907 would claim an account the connection does not have).
   */
  step(host: SaslHost, param: string, registered: boolean): Awaitable<void> {
    const c = host.client;
    if (this.account !== null) {
      host.replies([numeric.saslAlready(c)]);
      return;
    }
    if (registered) {
      host.replies([numeric.alreadyRegistered(c)]);
      return;
    }
    if (this.#checking) return;
    if (param === "*") {
      this.#reset();
      host.replies([numeric.saslAborted(c)]);
      return;
    }
    if (!this.#collecting) {
      if (param.toUpperCase() !== "PLAIN") {
        host.replies([numeric.saslMechs(c, "PLAIN"), numeric.saslFail(c)]);
        return;
      }
      this.#collecting = true;
      this.#payload = "";
      host.bare({ command: "AUTHENTICATE", params: ["+"] });
      return;
    }
    if (param.length > SASL_CHUNK_BYTES) {
      this.#reset();
      host.replies([numeric.saslTooLong(c)]);
      return;
    }
    if (param !== "+") this.#payload += param;
    // Base64 grows 4/3: past this, the decoded payload is over the cap.
    if (this.#payload.length > Math.ceil(SASL_MAX_BYTES / 3) * 4) {
      this.#reset();
      host.replies([numeric.saslFail(c)]);
      return;
    }
    if (param.length === SASL_CHUNK_BYTES) return; // more follows
    const payload = this.#payload;
    this.#reset();
    return this.#check(host, payload);
  }

  /** Decodes the PLAIN payload and asks the core whether the password is right. */
  #check(host: SaslHost, payload: string): Awaitable<void> {
    const c = host.client;
    const parts = decodePlain(payload);
    if (parts === null) {
      host.replies([numeric.saslFail(c)]);
      return;
    }
    const [authzid, authcid, password] = parts;
    const account = host.port.account(authcid);
    if ((authzid !== "" && authzid !== authcid) || account?.kind !== "password") {
      host.replies([numeric.saslFail(c)]);
      return;
    }
    this.#checking = true;
    return then(host.port.checkAccountPassword(authcid, password), (check) => {
      this.#checking = false;
      if (check.kind !== "ok") {
        const lines = [numeric.saslFail(c)];
        if (check.kind === "locked") {
          lines.unshift({
            command: "NOTICE",
            params: [
              c,
              `Too many wrong passwords from your address; try again in ${check.wait} s.`,
            ],
            trailing: true,
          });
        }
        host.replies(lines);
        return;
      }
      this.account = { nick: account.nick, proof: check.proof };
      host.replies([numeric.loggedIn(c, host.mask, account.nick), numeric.saslSuccess(c)]);
    });
  }

  #reset(): void {
    this.#collecting = false;
    this.#payload = "";
  }
}

/**
 * `authzid\0authcid\0password` from base64, or null when it is not that.
 *
 * @example
 * ```ts
 * decodePlain(btoa("\0alice\0pw")); // ["", "alice", "pw"]
 * ```
 */
export function decodePlain(payload: string): [string, string, string] | null {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(payload), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  const parts = text.split("\0");
  if (parts.length !== 3 || parts[1] === "" || parts[2] === "") return null;
  return [parts[0], parts[1], parts[2]];
}
