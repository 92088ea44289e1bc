/**
 * Account proofs (contract §4.6, §7.6): IRC's SASL PLAIN checks an account password before the
 * login, which then needs no second scrypt. The check mints an {@linkcode AccountProof}; the
 * login takes it instead of the password. Only this module mints proofs (a WeakMap knows each
 * one), and a proof is good for one login, of that account, from that address, within
 * {@linkcode ACCOUNT_PROOF_TTL_MS}. The lockout is untouched: the proof is minted only by a
 * check that went through it, and a wrong password charged it then.
 *
 * @module
 */

import { ACCOUNT_PROOF_TTL_MS } from "../config/limits.ts";
import type { PasswordCheck } from "./accounts.ts";
import { nickKey } from "./nick.ts";

/** What an account password checked before a login came to; right, with its proof. */
export type AccountCheck =
  | { kind: "ok"; proof: AccountProof }
  | Exclude<PasswordCheck, { kind: "ok" }>;

/**
 * An opaque token: an account password proved just now (see the module notes). Anyone may
 * construct one, but only those {@linkcode accountCheck} minted are ever redeemed.
 */
export class AccountProof {
  // Makes the type nominal: a look-alike object is not an AccountProof to the compiler.
  readonly #proof = true;
}

/** What a minted proof stands for. */
interface Minted {
  /** The account's nick, folded. */
  readonly nick: string;
  readonly address: string;
  /** The check that minted it (its hash: a password changed since voids the proof). */
  readonly check: Extract<PasswordCheck, { kind: "ok" }>;
  readonly until: number;
}

const minted = new WeakMap<AccountProof, Minted>();

/**
 * The {@linkcode AccountCheck} for `check`, the check of `nick`'s password from `address`:
 * when right, with a proof minted for it.
 *
 * @example
 * ```ts
 * const result = accountCheck("kai", "192.0.2.1", { kind: "ok", hash: "h" }, Date.now());
 * result.kind; // "ok", with result.proof for the login
 * ```
 */
export function accountCheck(
  nick: string,
  address: string,
  check: PasswordCheck,
  now: number,
): AccountCheck {
  if (check.kind !== "ok") return check;
  const proof = new AccountProof();
  minted.set(proof, { nick: nickKey(nick), address, check, until: now + ACCOUNT_PROOF_TTL_MS });
  return { kind: "ok", proof };
}

/**
 * The password check `proof` stands for, if it was minted here for `nick` from `address` and
 * is still good; else `none` (the login then wants the password). A proof is used up here.
 */
export function redeemAccountProof(
  proof: AccountProof,
  nick: string,
  address: string,
  now: number,
): PasswordCheck {
  const found = minted.get(proof);
  minted.delete(proof);
  if (found === undefined || found.until <= now) return { kind: "none" };
  if (found.nick !== nickKey(nick) || found.address !== address) return { kind: "none" };
  return found.check;
}
