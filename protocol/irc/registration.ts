/**
 * An IRC connection before its login: CAP negotiation, PASS, NICK and USER, gathered until the
 * login can be tried (contract §2). No sockets and no hub: the session asks
 * {@linkcode Registration.ready} after each line and logs in with {@linkcode Registration.attempt}.
 *
 * @module
 */

import { IRC_REALNAME_MAX } from "../../config/irc_limits.ts";
import { sanitizeMessageText } from "../../security/unicode.ts";
import { PROTOCOL_VERSION } from "../frames.ts";
import type { LoginAttempt } from "../session.ts";
import { foldIdent } from "./hostmask.ts";
import { Sasl } from "./sasl.ts";

/** What PASS, NICK and USER gave, and whether CAP negotiation holds the login back. */
export class Registration {
  /** The nick asked for last (NICK), or null before one. */
  nick: string | null = null;
  /** USER's name, folded to an ident, or null before USER. */
  ident: string | null = null;
  /** USER's realname, sanitised and cut (see {@linkcode cleanRealname}). */
  realname = "";
  /** PASS, as given. */
  pass: string | undefined;
  /** `CAP LS` or `CAP REQ` opened a negotiation that `CAP END` has not closed. */
  negotiating = false;
  /** A login is with the hub now: no second one until it answers. */
  pending = false;
  /** The SASL exchange, and the account it proved. */
  readonly sasl: Sasl = new Sasl();
  /**
   * The account nick the last attempt logged in to (SASL or `PASS account:password`), or null:
   * when that login was refused (433: another live session of the account holds the nick, see
   * `TAKEOVER_COOLDOWN_MS`) and the client sends its alternative NICK, that nick is tried as a
   * guest instead of the account's again, so the client gets in rather than looping on 433.
   */
  #accountTried: string | null = null;

  /**
   * NICK and USER are in and no CAP negotiation, SASL password check or login holds the login
   * back. A SASL payload still being sent does not: the session abandons it (906).
   */
  get ready(): boolean {
    return this.nick !== null && this.ident !== null && !this.negotiating && !this.pending &&
      !this.sasl.checking;
  }

  /** Takes USER's parameters; false when they are too few or empty (461). */
  user(params: readonly string[]): boolean {
    if (params.length < 4 || params[0] === "" || params[3] === "") return false;
    this.ident = foldIdent(params[0]);
    this.realname = cleanRealname(params[3]);
    return true;
  }

  /**
   * The login to try. `needsPassword`: the server has a password, which PASS must give. An
   * account SASL proved is logged in to. Without a server password, `PASS account:password`
   * logs in to the account `account` (the nick becomes it); any other PASS is ignored.
   */
  attempt(needsPassword: boolean): LoginAttempt {
    const nick = this.nick ?? "";
    const irc = { lobby: false, motd: false } as const;
    const account = this.sasl.account;
    const accountNick = account?.nick ?? this.#passAccount();
    if (accountNick !== null && this.#accountTried === accountNick && nick !== accountNick) {
      return needsPassword
        ? { version: PROTOCOL_VERSION, nick, password: this.pass, irc }
        : { version: PROTOCOL_VERSION, nick, irc };
    }
    this.#accountTried = needsPassword && account === null ? null : accountNick;
    if (account !== null) {
      // SASL proved the account: the connection gets its nick (001 carries it).
      const password = needsPassword ? this.pass : undefined;
      return {
        version: PROTOCOL_VERSION,
        nick: account.nick,
        accountProof: account.proof,
        password,
        irc,
      };
    }
    if (needsPassword) return { version: PROTOCOL_VERSION, nick, password: this.pass, irc };
    if (this.pass === undefined || accountNick === null) {
      return { version: PROTOCOL_VERSION, nick, irc };
    }
    return {
      version: PROTOCOL_VERSION,
      nick: accountNick,
      accountPassword: this.pass.slice(accountNick.length + 1),
      irc,
    };
  }

  /** The account a `PASS account:password` names, or null when PASS names none. */
  #passAccount(): string | null {
    const colon = this.pass?.indexOf(":") ?? -1;
    return this.pass === undefined || colon <= 0 ? null : this.pass.slice(0, colon);
  }
}

/**
 * A realname made safe to show to other clients (WHOIS, WHO, extended-join): escape sequences,
 * control and bidi characters removed as in messages, line breaks turned into spaces (the
 * realname is one trailing parameter), and cut to {@linkcode IRC_REALNAME_MAX} code points.
 *
 * @example
 * ```ts
 * import { cleanRealname } from "./registration.ts";
 * cleanRealname("\x1b]0;x\x07Al\u202Eice"); // "Alice"
 * ```
 */
export function cleanRealname(text: string): string {
  const clean = sanitizeMessageText(text).replace(/\s+/g, " ").trim();
  return Array.from(clean).slice(0, IRC_REALNAME_MAX).join("");
}
