/**
 * Parses a subcommand's flags against its table, and words every mistake for the person who typed
 * it: the flag as they wrote it, and what is wrong with it.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "./usage.ts";

/** A flag that takes a value; `wants` says what value, for the error when it is missing. */
export interface ValueFlag {
  /** Takes a value: `--name NICK` or `--name=NICK`. */
  readonly type: "string";
  /** What the value is, as a noun phrase: "a nickname", "short, long or none". */
  readonly wants: string;
  /** A one-letter alias, such as `n` for `-n`. */
  readonly short?: string;
}

/** A flag that takes no value: present or absent. */
export interface SwitchFlag {
  /** Takes no value. */
  readonly type: "boolean";
  /** A one-letter alias, such as `h` for `-h`. */
  readonly short?: string;
}

/** A subcommand's flags by long name (without the leading `--`). */
export type FlagTable = Readonly<Record<string, ValueFlag | SwitchFlag>>;

/** The flags and positionals {@linkcode parseFlags} found for the table `T`. */
export interface ParsedFlags<T extends FlagTable> {
  /** Each flag given, by long name: its value, or `true` for a switch; the last one wins. */
  values: { [K in keyof T]?: T[K] extends ValueFlag ? string : boolean };
  /** The arguments that are not flags (and everything after `--`). */
  positionals: string[];
}

/**
 * Parses a subcommand's `args` against its flag table the one way every subcommand does:
 * strictly, with positionals allowed (each subcommand words its own complaint about them).
 * A mistake throws a {@linkcode UsageError} naming the flag as typed (`-n` or `--name`) and
 * what is wrong with it; `hint` is the help command it suggests.
 *
 * A word that starts with `-` and a digit is a value, never a flag (there are no digit flags),
 * so `--max-users -1` reaches the range check rather than being taken for a missing value.
 *
 * @example
 * ```ts
 * const { values } = parseFlags(
 *   ["--port", "7342", "--fsync"],
 *   { port: { type: "string", wants: "a TCP port" }, fsync: { type: "boolean" } },
 *   "sockchat serve --help",
 * );
 * values.port; // "7342"
 * values.fsync; // true
 * ```
 */
export function parseFlags<const T extends FlagTable>(
  args: string[],
  flags: T,
  hint: string,
): ParsedFlags<T> {
  const options: ParseArgsOptionsConfig = {};
  for (const [name, flag] of Object.entries(flags)) {
    options[name] = flag.short === undefined
      ? { type: flag.type }
      : { type: flag.type, short: flag.short };
  }
  // Not strict: parseArgs' own errors are worded for programmers ("Option '-n, --name <value>'
  // argument missing") and take "-1" for a flag. Its tokens say exactly what was typed, and
  // each is checked against the table below.
  const { tokens } = parseArgs({
    args,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    switch (token.kind) {
      case "positional":
        positionals.push(token.value);
        break;
      case "option-terminator":
        break;
      case "option": {
        const flag = Object.hasOwn(flags, token.name) ? flags[token.name] : undefined;
        if (flag === undefined) {
          throw new UsageError(unknownFlag(token.rawName, args[token.index], flags), hint);
        }
        values[token.name] = flagValue(token, flag, hint);
        break;
      }
      default: {
        const unexpected: never = token;
        throw new Error(`unexpected parseArgs token ${JSON.stringify(unexpected)}`);
      }
    }
  }
  // Every option token was checked against `flags`: a switch holds true, a valued flag a string.
  return { values: values as ParsedFlags<T>["values"], positionals };
}

/**
 * A table entry `{ type: "string", wants }` for each flag of `wants`: a long table of valued
 * flags reads as their names and what each one takes.
 *
 * @example
 * ```ts
 * valueFlags({ host: "an address", port: "a TCP port" });
 * // { host: { type: "string", wants: "an address" }, port: { type: "string", wants: "a TCP port" } }
 * ```
 */
export function valueFlags<const K extends string>(
  wants: Record<K, string>,
): { [P in K]: ValueFlag } {
  const table = {} as { [P in K]: ValueFlag };
  for (const name of Object.keys(wants) as K[]) {
    table[name] = { type: "string", wants: wants[name] };
  }
  return table;
}

/** One option token from parseArgs. */
type OptionToken = {
  name: string;
  rawName: string;
  index: number;
  value?: string;
  inlineValue?: boolean;
};

/** The value `token` gives its known `flag`, or a {@linkcode UsageError} saying what is wrong. */
function flagValue(token: OptionToken, flag: ValueFlag | SwitchFlag, hint: string): string | true {
  const typed = token.rawName;
  if (flag.type === "boolean") {
    if (token.value === undefined) return true;
    throw new UsageError(`${typed} takes no value (write ${typed}, or leave it out).`, hint);
  }
  const value = token.value;
  const needs = `${typed} needs a value (${flag.wants})`;
  if (value === undefined || value === "--") throw new UsageError(`${needs}.`, hint);
  if (value === "") throw new UsageError(`${needs}, not an empty one.`, hint);
  // A separate word that looks like a flag was most likely meant as one: the value was left
  // out. "-" alone (stdin, by convention) and negative numbers are values.
  if (!token.inlineValue && /^-[^\d]/.test(value)) {
    throw new UsageError(
      `${needs}, not ${value} (write --${token.name}=${value} if that is the value).`,
      hint,
    );
  }
  return value;
}

/** A word that names more flags than this is too vague to suggest any of them. */
const MAX_PART_SUGGESTIONS = 3;

/**
 * "unknown option --max-user (did you mean --max-users?)."; "unknown option --password (did you
 * mean --password-file?)."
 */
function unknownFlag(typed: string, word: string | undefined, flags: FlagTable): string {
  // In a group of short flags (-h=1) say which word held the unknown one.
  const where = word !== undefined && word !== typed && !word.startsWith("--") ? ` in ${word}` : "";
  const bare = typed.replace(/^-+/, "");
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of Object.keys(flags)) {
    const distance = editDistance(bare, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  // Suggest only a near miss: a typo or two, not any flag at all.
  const near = best !== undefined && typed.startsWith("--") &&
    bestDistance <= Math.min(2, Math.max(1, Math.floor(best.length / 3)));
  const suggested = near ? [best] : typed.startsWith("--") ? flagsWithPart(bare, flags) : [];
  const hint = suggested.length === 0
    ? ""
    : ` (did you mean ${orList(suggested.map((name) => `--${name}`))}?)`;
  return `unknown option ${typed}${where}${hint}.`;
}

/**
 * The flags of which `bare` is a whole part (`password` in `password-file`, `key` in `tls-key`):
 * a flag named by its short form, as people guess it. None when too many share the part.
 */
function flagsWithPart(bare: string, flags: FlagTable): string[] {
  if (bare === "") return [];
  const found = Object.keys(flags)
    .filter((name) => `-${name}-`.includes(`-${bare}-`) && name !== bare)
    .sort((a, b) => a.length - b.length);
  return found.length <= MAX_PART_SUGGESTIONS ? found : [];
}

/** "a", "a or b", "a, b or c". */
function orList(words: readonly string[]): string {
  return words.length <= 1
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/**
 * Edits (insert, delete, replace, or swap two neighbours) that turn `a` into `b`; flag names are
 * short, so the full table is cheap.
 */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
