/**
 * The styles the terminal client paints with (SGR escape sequences), or none at all: with
 * colour off, every method returns its text unchanged, so output stays free of escapes.
 *
 * Three themes: `dark` and `light` for the terminal's background, `mono` for no colour but
 * bold, dim and underline. In every theme the nick colours are disjoint from the colours that
 * carry meaning (errors, mentions, direct messages, rooms), so a nick never reads as an error.
 *
 * - `dark`: the colours that carry meaning stay the 8 basic ANSI colours (red errors, bold
 *   yellow mentions, magenta DMs, cyan rooms), which follow the terminal's own scheme. Nicks
 *   get fixed 256-colour mid-tones from the hues left free (greens, blues, violets): each at
 *   least 4.5:1 against a dark background (#1e1e1e) and 2.5:1 against white, so they stay
 *   legible if the guess of a dark background is wrong.
 * - `light`: every colour is a fixed 256-colour dark tone, at least 4.5:1 against white (the
 *   basic yellow and cyan are unreadable there): errors dark red, mentions bold dark orange,
 *   DMs dark magenta, rooms dark teal; nicks dark greens, blues and violets.
 *
 * @module
 */

/** The themes, in the order `/theme` lists them. */
export const THEME_NAMES = ["dark", "light", "mono"] as const;

/** A theme's name. */
export type ThemeName = typeof THEME_NAMES[number];

/** A role a piece of output can play: the theme, not the caller, picks its style. */
export type Role = "dim" | "own" | "mention" | "error" | "warn" | "room" | "direct";

/** The roles whose colour means something, which no nick may share. */
export const SEMANTIC_ROLES: readonly Role[] = ["error", "warn", "mention", "direct", "room"];

/** One theme: SGR parameters (such as `"31"` or `"38;5;71"`) for nicks and for each role. */
export interface Theme {
  /** Foreground colours nicks are drawn in, one SGR parameter string each (may be empty). */
  readonly nicks: readonly string[];
  /** SGR parameters for each role; several combine. */
  readonly roles: Readonly<Record<Role, readonly string[]>>;
}

/** A 256-colour foreground. */
const fg = (n: number): string => `38;5;${n}`;
const BOLD = "1";
const DIM = "2";
const UNDERLINE = "4";

/** Every theme. */
export const THEMES: Readonly<Record<ThemeName, Theme>> = {
  dark: {
    // green, spring green, lime, azure, cornflower, periwinkle, lavender, violet
    nicks: [fg(71), fg(35), fg(70), fg(33), fg(68), fg(105), fg(141), fg(135)],
    roles: {
      dim: [DIM],
      own: [BOLD],
      mention: [BOLD, "33"],
      error: ["31"],
      warn: ["33"],
      room: ["36"],
      direct: ["35"],
    },
  },
  light: {
    // green, olive, blue, bright blue, slate, purple, violet
    nicks: [fg(28), fg(58), fg(25), fg(27), fg(61), fg(55), fg(93)],
    roles: {
      dim: [DIM],
      own: [BOLD],
      mention: [BOLD, fg(130)],
      error: [fg(124)],
      warn: [fg(130)],
      room: [fg(23)],
      direct: [fg(90)],
    },
  },
  mono: {
    nicks: [],
    roles: {
      dim: [DIM],
      own: [BOLD],
      mention: [BOLD],
      error: [BOLD],
      warn: [],
      room: [],
      direct: [UNDERLINE],
    },
  },
};

/** True if `name` is a theme's name. */
export function isThemeName(name: string): name is ThemeName {
  return (THEME_NAMES as readonly string[]).includes(name);
}

/** The theme names as a sentence's list: "dark, light or mono". */
export function themeChoices(): string {
  return `${THEME_NAMES.slice(0, -1).join(", ")} or ${THEME_NAMES.at(-1)}`;
}

/**
 * The theme to start with when none is asked for: `light` when `$COLORFGBG` (set by rxvt,
 * Konsole and others, and read by vim the same way) names a light background colour (7 or
 * 9 to 15), else `dark`.
 */
export function defaultTheme(env: (name: string) => string | undefined): ThemeName {
  const background = Number(env("COLORFGBG")?.split(";").at(-1));
  return background === 7 || (background >= 9 && background <= 15) ? "light" : "dark";
}

/**
 * FNV-1a over the lower-cased nick, into the theme's nick colours: the same nick gets the same
 * colour in every session. Null when the theme has no nick colours (`mono`).
 */
export function nickColor(nick: string, theme: ThemeName = "dark"): string | null {
  const colors = THEMES[theme].nicks;
  if (colors.length === 0) return null;
  let hash = 0x811c9dc5;
  for (const char of nick.normalize("NFKC").toLowerCase()) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return colors[hash % colors.length];
}

/**
 * Paints text in the current theme, or leaves it alone when colour is off. The theme can be
 * switched while the client runs (`/theme`); what is painted after that uses the new one.
 *
 * @example
 * ```ts
 * new Palette(true).paint("hi", "dim"); // "\x1b[2mhi\x1b[0m"
 * new Palette(false).paint("hi", "dim"); // "hi"
 * new Palette(true, "mono").paint("oops", "error"); // "\x1b[1moops\x1b[0m"
 * ```
 */
export class Palette {
  /** Whether escape sequences are written at all. */
  readonly enabled: boolean;
  #theme: ThemeName;

  /**
   * With `enabled` false every paint returns the text unchanged (pipes, NO_COLOR).
   * @param theme the theme to start with. @default "dark"
   */
  constructor(enabled: boolean, theme: ThemeName = "dark") {
    this.enabled = enabled;
    this.#theme = theme;
  }

  /** The current theme's name. */
  get theme(): ThemeName {
    return this.#theme;
  }

  /** Switches theme: later paints use it. */
  set theme(name: ThemeName) {
    this.#theme = name;
  }

  /** `text` in the given roles (combined), then a reset. */
  paint(text: string, ...roles: Role[]): string {
    return this.#sgr(text, roles.flatMap((role) => THEMES[this.#theme].roles[role]));
  }

  /** `text` (such as `<bob> `) in the stable colour of `nick`, plus any roles. */
  nick(text: string, nick: string, ...roles: Role[]): string {
    const color = nickColor(nick, this.#theme);
    return this.#sgr(text, [
      ...roles.flatMap((role) => THEMES[this.#theme].roles[role]),
      ...(color === null ? [] : [color]),
    ]);
  }

  #sgr(text: string, codes: string[]): string {
    if (!this.enabled || codes.length === 0 || text === "") return text;
    return `\x1b[${codes.join(";")}m${text}\x1b[0m`;
  }
}
