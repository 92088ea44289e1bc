/**
 * What `/ban` and `/unban` aim at, said explicitly (`nick:NAME`, `addr:ADDRESS[/BITS]`) or
 * guessed from a bare word: a nick that is online (or banned, for /unban) stays a nick even if
 * it looks like an address, so that "10.0.0.1" the user can be banned by nick.
 *
 * @module
 */

import { MIN_BAN_PREFIX_V4, MIN_BAN_PREFIX_V6 } from "../config/limits.ts";
import { formatPrefix } from "./address_prefix.ts";
import { shown } from "./text.ts";
import { addressBlock, type BanTarget } from "./moderation.ts";
import { nickProblem } from "./nick.ts";

/**
 * The target `word` names: `nick:NAME`, `addr:ADDRESS[/BITS]`, or a bare word, which is a nick
 * if `isNick(word)`, else an address if it parses as one, else a nick. `problem` says why it is
 * neither.
 *
 * @example
 * ```ts
 * parseBanTarget("10.0.0.1", () => true); // { kind: "nick", nick: "10.0.0.1" }
 * parseBanTarget("addr:10.0.0.0/8", () => true); // { kind: "address", prefix: ... }
 * ```
 */
export function parseBanTarget(
  word: string,
  isNick: (word: string) => boolean,
): BanTarget | { problem: string } {
  const explicit = /^(nick|addr):(.*)$/s.exec(word);
  const asNick = explicit === null
    ? isNick(word) || addressBlock(word) === null
    : explicit[1] === "nick";
  if (asNick) {
    const nick = explicit?.[2] ?? word;
    const problem = nickProblem(nick);
    return problem === null ? { kind: "nick", nick } : { problem: `${shown(nick)}: ${problem}` };
  }
  const text = explicit?.[2] ?? word;
  const prefix = addressBlock(text);
  if (prefix === null) {
    return {
      problem: `${shown(text)} is not an address or block (such as 203.0.113.9, ` +
        "203.0.113.0/24 or 2001:db8::/48).",
    };
  }
  const shortest = prefix.family === 4 ? MIN_BAN_PREFIX_V4 : MIN_BAN_PREFIX_V6;
  if (prefix.length < shortest) {
    return {
      problem: `A /${prefix.length} block would ban too many people: use at least ` +
        `/${MIN_BAN_PREFIX_V4} for IPv4 and /${MIN_BAN_PREFIX_V6} for IPv6.`,
    };
  }
  return { kind: "address", prefix };
}

/** A nick or block as a reply shows it. */
export function describeTarget(target: BanTarget): string {
  return target.kind === "nick" ? shown(target.nick) : formatPrefix(target.prefix);
}

/** For a bare word that could be either kind, how to ask for the other one (or ""). */
export function otherKind(word: string, target: BanTarget): string {
  if (/^(nick|addr):/.test(word)) return "";
  if (target.kind === "nick" && addressBlock(word) !== null) {
    return ` (For the address instead: /ban addr:${shown(word)}.)`;
  }
  if (target.kind === "address" && nickProblem(word) === null) {
    return ` (For a nick of that name instead: /ban nick:${shown(word)}.)`;
  }
  return "";
}
