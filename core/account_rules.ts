/**
 * The refusals about registered nicks, in words: a nick that is someone else's
 * (`nick_registered`, saying what would prove it), a wrong or locked-out account password, and
 * what a guest is told on a server that requires accounts.
 *
 * @module
 */

import { type ErrorFrame, errorFrame } from "../protocol/frames.ts";
import { type Accounts, describeAccount, type PasswordCheck } from "./accounts.ts";
import type { LoginRequest } from "./login.ts";
import type { AccountRecord } from "./ports.ts";

/** What a guest is told after the welcome on a server that requires accounts. */
export function guestNotice(inRooms: boolean): string {
  const what = inRooms ? "you can read, but only registered users can talk" : "you are in no room";
  return `* This server requires an account: ${what}. /register PASSWORD makes one for this ` +
    "nick (or /register binds it to your key); /identify NICK PASSWORD proves one you have.";
}

/** Why a hello may not have the registered nick of `account`; null when it proved it. */
export function accountRefusal(
  accounts: Accounts,
  account: AccountRecord,
  request: Pick<LoginRequest, "nick" | "key">,
  check: PasswordCheck,
  address: string,
  now: number,
): ErrorFrame | null {
  if (account.kind === "key") {
    return accounts.keyProves(account, request.key)
      ? null
      : registeredError(account, request.key !== undefined);
  }
  if (accounts.passwordProves(request.nick, check)) return null;
  switch (check.kind) {
    case "wrong": {
      const wait = accounts.lockedFor(address, now);
      if (wait > 0) return accountLockedError(wait);
      return errorFrame("bad_account_password", `Wrong password for ${account.nick}.`, {
        need: "password",
      });
    }
    case "locked":
      return accountLockedError(check.wait);
    case "busy":
      return errorFrame("rate_limited", "The server is busy checking passwords; try again.");
    case "ok":
    case "none":
      return registeredError(account, request.key !== undefined);
  }
}

/**
 * The `nick_registered` refusal: whose the nick is and what would prove it. Not fatal: the
 * client may pick another nick (or give the password).
 */
export function registeredError(account: AccountRecord, hasKey: boolean): ErrorFrame {
  const nick = account.nick;
  const message = account.kind === "password"
    ? `The nickname "${nick}" is registered to a password account: give its password ` +
      `(/identify ${nick} PASSWORD once logged in), or pick another nick.`
    : `The nickname "${nick}" is registered to ${describeAccount(account)}` +
      `${hasKey ? " other than yours" : ""}: only its owner can use it. Pick another nick.`;
  return errorFrame("nick_registered", message, { need: account.kind });
}

/** Too many wrong account passwords from this address: fatal, with the wait. */
function accountLockedError(wait: number): ErrorFrame {
  return errorFrame(
    "bad_account_password",
    `Too many wrong account passwords from your address; try again in ${wait} s.`,
    { fatal: true },
  );
}
