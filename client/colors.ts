/**
 * The styles the terminal client paints with (SGR escape sequences), or none at all: with
 * colour off, every method returns its text unchanged, so output stays free of escapes.
 *
 * @module
 */

/** Foreground colours nicks are drawn in: the basic and bright ANSI colours, minus grey/white. */
export const NICK_COLORS: readonly number[] = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];

/** FNV-1a over the lower-cased nick: the same nick gets the same colour in every session. */
export function nickColor(nick: string): number {
  let hash = 0x811c9dc5;
  for (const char of nick.normalize("NFKC").toLowerCase()) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return NICK_COLORS[hash % NICK_COLORS.length];
}

/** A role a piece of output can play: the palette, not the caller, picks its colour. */
export type Role = "dim" | "own" | "mention" | "error" | "warn" | "room" | "direct";

/** SGR codes for each role. */
const ROLES: Readonly<Record<Role, readonly number[]>> = {
  /** Timestamps, joins, leaves, topics, replayed history. */
  dim: [2],
  /** The user's own nick. */
  own: [1],
  /** A message that names the user. */
  mention: [1, 33],
  /** Errors and lost connections. */
  error: [31],
  /** Reconnection in progress. */
  warn: [33],
  /** Room names in the prompt. */
  room: [36],
  /** Direct messages. */
  direct: [35],
};

/**
 * Paints text, or leaves it alone when colour is off.
 *
 * @example
 * ```ts
 * new Palette(true).paint("hi", "dim"); // "\x1b[2mhi\x1b[0m"
 * new Palette(false).paint("hi", "dim"); // "hi"
 * ```
 */
export class Palette {
  /** Whether escape sequences are written at all. */
  readonly enabled: boolean;

  /** With `enabled` false every paint returns the text unchanged (pipes, NO_COLOR). */
  constructor(enabled: boolean) {
    this.enabled = enabled;
  }

  /** `text` in the given roles (combined), then a reset. */
  paint(text: string, ...roles: Role[]): string {
    return this.#sgr(text, roles.flatMap((role) => ROLES[role]));
  }

  /** `text` (such as `<bob> `) in the stable colour of `nick`, plus any roles. */
  nick(text: string, nick: string, ...roles: Role[]): string {
    return this.#sgr(text, [...roles.flatMap((role) => ROLES[role]), nickColor(nick)]);
  }

  #sgr(text: string, codes: number[]): string {
    if (!this.enabled || codes.length === 0 || text === "") return text;
    return `\x1b[${codes.join(";")}m${text}\x1b[0m`;
  }
}
