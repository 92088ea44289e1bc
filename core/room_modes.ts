/**
 * Room modes, pure: what a room's modes are ({@linkcode RoomModes}), how `/mode` arguments parse
 * into changes ({@linkcode parseModeChanges}), how modes are shown ({@linkcode modeString}), and
 * how a ban mask is written down ({@linkcode banMask}) and matched ({@linkcode banMatches}).
 * Each mode has the IRC letter the IRC front end maps it to; `n` (no messages from outside) is
 * always on, since only members can speak in a sockchat room anyway.
 *
 * @module
 */

import { MAX_ROOM_LIMIT, NICK_MAX_LENGTH, ROOM_KEY_MAX_LENGTH } from "../config/limits.ts";
import { type AddressPrefix, parseAddress, prefixKey, prefixOf } from "./address_prefix.ts";
import { nickKey } from "./nick.ts";

/** One room ban: a mask (see {@linkcode banMask}), who set it and when. */
export interface RoomBan {
  /**
   * `nick!user@host` (globs; the nick part folded as nicks are), or `$a:ACCOUNT`: what the ban
   * is matched and found (for `-b`) by.
   */
  mask: string;
  /**
   * The mask as the operator wrote it ({@linkcode banShown}): what mode lines and ban lists
   * show, since the folded form reads mangled (`evil` folds to `evll`). Absent on bans kept
   * before it existed; those show `mask` (see {@linkcode shownMask}).
   */
  shown?: string;
  /** The nick that set it. */
  by: string;
  /** When it was set, milliseconds since the epoch. */
  at: number;
}

/** A room's modes (`n` is implicit: always on). */
export interface RoomModes {
  /** +t: only room operators set the topic. */
  t: boolean;
  /** +m: only voiced users and room operators speak. */
  m: boolean;
  /** +i: only the invited join. */
  i: boolean;
  /** +k: the key a joiner must give, or null. */
  key: string | null;
  /** +l: most members at once, or null. */
  limit: number | null;
  /** +b: who may not join (nor speak, unless voiced or op). */
  bans: RoomBan[];
}

/** The modes of a new room: `+n` only, so anyone may set the topic, as before modes existed. */
export function newModes(): RoomModes {
  return { t: false, m: false, i: false, key: null, limit: null, bans: [] };
}

/** The letters `/mode` takes. */
export type ModeLetter = "o" | "v" | "t" | "m" | "i" | "k" | "l" | "b" | "n";

/** One change asked for: `+m`, `-o bob`, `+b *!*@203.0.113.0/24`. */
export interface ModeChange {
  /** True for `+`, false for `-`. */
  add: boolean;
  /** The mode letter. */
  letter: ModeLetter;
  /** Its argument (a nick for o/v, a mask for b, the key, the limit), if it takes one. */
  arg?: string;
}

/** What {@linkcode parseModeChanges} gives: the changes, or why they are refused. */
export type ParsedModes =
  | { ok: true; changes: ModeChange[] }
  | { ok: false; code: "unknown_mode" | "bad_command"; problem: string };

const LETTERS = new Set<string>(["o", "v", "t", "m", "i", "k", "l", "b", "n"]);

/**
 * Parses `+mt-k`, `+o bob`, `+kl secret 10` (IRC order: each letter that takes an argument
 * takes the next one). `+b` with no mask lists the bans; `-k` needs no key back; `+n` and `-n`
 * change nothing (always on).
 *
 * @example
 * ```ts
 * parseModeChanges(["+ov", "bob", "carol"]);
 * // { ok: true, changes: [{ add: true, letter: "o", arg: "bob" }, { add: true, letter: "v", arg: "carol" }] }
 * ```
 */
export function parseModeChanges(words: readonly string[]): ParsedModes {
  const [spec, ...args] = words;
  if (spec === undefined || !/^[+-]/.test(spec)) {
    return { ok: false, code: "bad_command", problem: "Modes start with + or -, as in +m." };
  }
  const changes: ModeChange[] = [];
  let add = true;
  for (const char of spec) {
    if (char === "+" || char === "-") {
      add = char === "+";
      continue;
    }
    if (!LETTERS.has(char)) {
      return {
        ok: false,
        code: "unknown_mode",
        problem: `There is no room mode ${char}: the modes are t, m, i, k, l, b (and o, v for ` +
          "people; n is always on).",
      };
    }
    const letter = char as ModeLetter;
    const takes = letter === "o" || letter === "v" || letter === "b" ||
      (add && (letter === "k" || letter === "l"));
    if (!takes) {
      // `-k key` is how IRC clients remove a key: the key is not checked, only skipped.
      if (letter === "k" && args[0] !== undefined) args.shift();
      changes.push({ add, letter });
      continue;
    }
    const arg = args.shift();
    if (arg === undefined) {
      if (letter === "b") {
        changes.push({ add, letter });
        continue;
      }
      const what = letter === "k" ? "a key" : letter === "l" ? "a number" : "a nick";
      return {
        ok: false,
        code: "bad_command",
        problem: `${add ? "+" : "-"}${letter} needs ${what}.`,
      };
    }
    changes.push({ add, letter, arg });
  }
  if (args.length > 0) {
    return { ok: false, code: "bad_command", problem: `Nothing takes ${args.join(" ")}.` };
  }
  return { ok: true, changes };
}

/** One change made, as a `mode` frame tells it: `+o alice`, `-k *`, `+m`. */
export interface ModeDone {
  /** True for `+`. */
  add: boolean;
  /** The letter. */
  letter: string;
  /** Its argument as shown, if it has one. */
  arg?: string;
}

/**
 * The `changes` and `args` of a `mode` frame for changes made, as IRC writes them: `+mo-k`
 * with `alice *`.
 *
 * @example
 * ```ts
 * modeLine([{ add: true, letter: "m" }, { add: true, letter: "o", arg: "bob" }]);
 * // { changes: "+mo", args: ["bob"] }
 * ```
 */
export function modeLine(done: readonly ModeDone[]): { changes: string; args: string[] } {
  let changes = "";
  let sign = "";
  for (const d of done) {
    const s = d.add ? "+" : "-";
    if (s !== sign) changes += sign = s;
    changes += d.letter;
  }
  return { changes, args: done.flatMap((d) => (d.arg === undefined ? [] : [d.arg])) };
}

/** Why `key` cannot be a room key, or null. */
export function keyProblem(key: string): string | null {
  if ([...key].length > ROOM_KEY_MAX_LENGTH || !/^[\x21-\x7e]+$/.test(key) || key.includes(",")) {
    return `A room key is 1 to ${ROOM_KEY_MAX_LENGTH} printable ASCII characters, without ` +
      "spaces or commas.";
  }
  return null;
}

/** The user limit `text` asks for, or a sentence saying why it cannot be one. */
export function parseLimit(text: string): number | string {
  const limit = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(limit >= 1 && limit <= MAX_ROOM_LIMIT)) {
    return `A user limit is a whole number from 1 to ${MAX_ROOM_LIMIT}.`;
  }
  return limit;
}

/**
 * The modes as IRC writes them: `+ntk` for short (the letters, as `who` and `joined` carry
 * them), or with the key and limit after when `withArgs` (`+ntkl secret 10`, for members only).
 */
export function modeString(modes: RoomModes, withArgs = false): string {
  let letters = "+n";
  const args: string[] = [];
  if (modes.t) letters += "t";
  if (modes.m) letters += "m";
  if (modes.i) letters += "i";
  if (modes.key !== null) {
    letters += "k";
    args.push(modes.key);
  }
  if (modes.limit !== null) {
    letters += "l";
    args.push(String(modes.limit));
  }
  letters = sortLetters(letters);
  return withArgs && args.length > 0 ? `${letters} ${args.join(" ")}` : letters;
}

/** `+nt` and `+tn` are the same modes: show them in one order (n, t, m, i, k, l). */
function sortLetters(letters: string): string {
  const order = "ntmikl";
  return "+" + [...letters.slice(1)].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join("");
}

/**
 * A ban mask as it is kept: `$a:ACCOUNT` (the account folded as nicks are), or `nick!user@host`
 * with each part filled in (`*` when missing) and the nick part folded, so "Al1ce" bans
 * "alice" and her lookalikes. A bare address or CIDR block bans that host
 * (`*!*@203.0.113.0/24`); any other bare word is a nick glob. Null when it cannot be a mask.
 *
 * @example
 * ```ts
 * banMask("Bob*"); // "bob*!*@*"
 * banMask("10.0.0.0/8"); // "*!*@10.0.0.0/8"
 * ```
 */
export function banMask(text: string): string | null {
  return maskOf(text, true);
}

/**
 * A ban mask as it is shown: the same parts as {@linkcode banMask} fills in, but the nick part
 * (or account) as the operator wrote it, not folded. Null when it cannot be a mask.
 *
 * @example
 * ```ts
 * banShown("Evil"); // "Evil!*@*"
 * banMask("Evil"); // "evll!*@*"
 * ```
 */
export function banShown(text: string): string | null {
  return maskOf(text, false);
}

/** What a ban shows: the mask as written, or the folded one for a ban kept before that was. */
export function shownMask(ban: RoomBan): string {
  return ban.shown ?? ban.mask;
}

/** {@linkcode banMask} (`fold`) or {@linkcode banShown}. */
function maskOf(text: string, fold: boolean): string | null {
  if (text === "" || text.length > 2 * NICK_MAX_LENGTH + 64 || /[\s,]/.test(text)) return null;
  // Masks are shown to every member (mode lines, ban lists): no control, format or bidi
  // character may ride in one to a terminal.
  if (/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/u.test(text)) return null;
  if (text.startsWith("$a:")) {
    const account = text.slice(3);
    if (account === "" || /[*?]/.test(account)) return null;
    return fold ? `$a:${nickKey(account)}` : text;
  }
  if (text.startsWith("$")) return null;
  let nick = text;
  let user = "*";
  let host = "*";
  const at = text.lastIndexOf("@");
  if (at !== -1) {
    host = text.slice(at + 1) || "*";
    nick = text.slice(0, at);
  } else if (!text.includes("!") && parseAddress(text) !== null) {
    return `*!*@${text.toLowerCase()}`;
  }
  const bang = nick.indexOf("!");
  if (bang !== -1) {
    user = nick.slice(bang + 1) || "*";
    nick = nick.slice(0, bang);
  }
  // The user and host parts are matched case-blind, so lowercasing them mangles nothing.
  const nickPart = fold ? foldGlob(nick || "*") : nick || "*";
  return `${nickPart}!${user.toLowerCase()}@${host.toLowerCase()}`;
}

/** A nick glob folded as nicks are, literal runs between the wildcards one at a time. */
function foldGlob(glob: string): string {
  return glob.split(/([*?]+)/).map((part, i) => (i % 2 === 1 ? part : part && nickKey(part)))
    .join("");
}

/** Who a ban is checked against. */
export interface BanSubject {
  /** The folded nick (`User.key`). */
  nickKey: string;
  /** The verified account's key, or null for a guest. */
  account: string | null;
  /** The real address (for IP and CIDR host parts). */
  address: string;
  /** The IRC ident (`~alice`), when the front end has one. */
  ident?: string;
  /** The cloaked host shown to others, when the front end has one. */
  cloak?: string;
}

/**
 * True if `mask` (as {@linkcode banMask} keeps it) bans `who`. A host part that is an address
 * or a CIDR block is matched against the real address; any other host part is a glob on the
 * cloak (or the address as text).
 */
export function banMatches(mask: string, who: BanSubject): boolean {
  if (mask.startsWith("$a:")) return who.account !== null && mask.slice(3) === who.account;
  const bang = mask.indexOf("!");
  const at = mask.lastIndexOf("@");
  if (bang === -1 || at < bang) return false;
  if (!glob(mask.slice(0, bang), who.nickKey)) return false;
  // IRC clients write the ident with its `~` (`*!~alice@*`) or without (`*!alice@*`): both match.
  const ident = (who.ident ?? "").toLowerCase();
  const userPart = mask.slice(bang + 1, at);
  if (!glob(userPart, ident) && !(ident.startsWith("~") && glob(userPart, ident.slice(1)))) {
    return false;
  }
  const host = mask.slice(at + 1);
  const parsed = parseAddress(host);
  if (parsed !== null) return inBlock(parsed.family, parsed.bytes, parsed.length, who.address);
  return glob(host, (who.cloak ?? "").toLowerCase()) || glob(host, who.address.toLowerCase());
}

function inBlock(
  family: 4 | 6,
  bytes: Uint8Array,
  length: number | null,
  address: string,
): boolean {
  const mine = parseAddress(address);
  if (mine === null || mine.family !== family) return false;
  const bits = length ?? (family === 4 ? 32 : 128);
  const block: AddressPrefix = prefixOf(family, bytes, bits);
  return prefixKey(block) === prefixKey(prefixOf(family, mine.bytes, bits));
}

/**
 * `*` any run, `?` any one character; everything else literal. A linear walk, never a RegExp: a
 * mask such as `*a*a*a*a*b` made V8's backtracking take seconds to minutes against a long nick,
 * with the whole server stopped, and any room's operator can set a mask. This takes at most
 * pattern × text steps (each `*` remembers one place to resume from, and a later `*` replaces it).
 */
export function glob(pattern: string, text: string): boolean {
  if (pattern === "*") return true;
  const p = [...pattern];
  const t = [...text];
  let i = 0;
  let j = 0;
  let star = -1;
  let resume = 0;
  while (j < t.length) {
    if (i < p.length && (p[i] === "?" || (p[i] !== "*" && p[i] === t[j]))) {
      i++;
      j++;
    } else if (i < p.length && p[i] === "*") {
      star = i++;
      resume = j;
    } else if (star !== -1) {
      i = star + 1;
      j = ++resume;
    } else return false;
  }
  while (i < p.length && p[i] === "*") i++;
  return i === p.length;
}
