/**
 * A small confusables table: Cyrillic, Greek, Armenian and odd Latin letters that look like a
 * basic Latin letter, and the letter they look like. It is a hand-picked subset of Unicode's
 * confusables.txt (UTS #39) covering the letters used to impersonate Latin nicks; it is not a
 * general skeleton algorithm.
 *
 * Basic Latin letters and digits that pass for each other (I, l, 1; O, 0) are not in this table:
 * nick skeletons fold them last, after case folding (see `ASCII_LOOKALIKES` in unicode.ts), and
 * room names, which are matched by this table alone, keep them apart.
 *
 * @module
 */

/**
 * Each basic Latin letter and the characters that imitate it. Upper and lower case are listed
 * apart because they do not always look alike: Greek Η looks like H but η looks like n.
 * Escapes keep the table honest in editors that would show Latin; comments show the glyphs.
 */
export const LATIN_LOOKALIKES: Readonly<Record<string, string>> = {
  a: "\u0410\u0430\u0391\u03b1\u0251\u1d00", // Cyrillic А а, Greek Α α, Latin ɑ ᴀ
  b: "\u0412\u0432\u042c\u044c\u0392\u0299", // Cyrillic В в Ь ь, Greek Β, Latin ʙ
  c: "\u0421\u0441\u03f9\u03f2\u1d04", // Cyrillic С с, Greek Ϲ ϲ, Latin ᴄ
  d: "\u0500\u0501\u1d05", // Cyrillic Ԁ ԁ, Latin ᴅ
  e: "\u0415\u0435\u0395\u1d07", // Cyrillic Е е, Greek Ε, Latin ᴇ
  g: "\u0261\u0262\u0581", // Latin ɡ ɢ, Armenian ց
  h: "\u041d\u043d\u04ba\u04bb\u0397\u029c\u0570", // Cyrillic Н н Һ һ, Greek Η, Latin ʜ, Armenian հ
  i: "\u0406\u0456\u0399\u03b9\u0131\u0269\u026a", // Cyrillic І і, Greek Ι ι, Latin ı ɩ ɪ
  j: "\u0408\u0458\u037f\u03f3\u0237\u1d0a", // Cyrillic Ј ј, Greek Ϳ ϳ, Latin ȷ ᴊ
  k: "\u041a\u043a\u039a\u03ba\u1d0b", // Cyrillic К к, Greek Κ κ, Latin ᴋ
  l: "\u04c0\u04cf\u01c0\u029f", // Cyrillic Ӏ ӏ, Latin ǀ ʟ
  m: "\u041c\u043c\u039c\u1d0d", // Cyrillic М м, Greek Μ, Latin ᴍ
  n: "\u043f\u039d\u03b7\u0274\u0578", // Cyrillic п, Greek Ν η, Latin ɴ, Armenian ո
  o: "\u041e\u043e\u039f\u03bf\u1d0f\u0555\u0585", // Cyrillic О о, Greek Ο ο, Latin ᴏ, Armenian Օ օ
  p: "\u0420\u0440\u03a1\u03c1\u1d18", // Cyrillic Р р, Greek Ρ ρ, Latin ᴘ
  q: "\u051a\u051b\u0566", // Cyrillic Ԛ ԛ, Armenian զ
  r: "\u0433\u0280", // Cyrillic г, Latin ʀ
  s: "\u0405\u0455\ua731\u054f", // Cyrillic Ѕ ѕ, Latin ꜱ, Armenian Տ
  t: "\u0422\u0442\u03a4\u03c4\u1d1b", // Cyrillic Т т, Greek Τ τ, Latin ᴛ
  u: "\u03c5\u1d1c\u054d\u057d", // Greek υ, Latin ᴜ, Armenian Ս ս
  v: "\u0474\u0475\u03bd\u1d20", // Cyrillic Ѵ ѵ, Greek ν, Latin ᴠ
  w: "\u051c\u051d\u03c9\u1d21", // Cyrillic Ԝ ԝ, Greek ω, Latin ᴡ
  x: "\u0425\u0445\u03a7\u03c7", // Cyrillic Х х, Greek Χ χ
  y: "\u0423\u0443\u04ae\u04af\u03a5\u028f", // Cyrillic У у Ү ү, Greek Υ, Latin ʏ
  z: "\u0396\u1d22", // Greek Ζ, Latin ᴢ
};

/**
 * Tables of lookalikes (each Latin letter or digit and the characters that imitate it) turned
 * into one replacement pass: a table is written by the letter, but text is read by the
 * character. Where tables disagree about a character, the later table wins.
 *
 * @example
 * ```ts
 * const map = new LookalikeMap([{ a: "\u0430" }]);
 * map.replace("\u0430lice"); // "alice"
 * map.has("\u0430"); // true
 * ```
 */
export class LookalikeMap {
  readonly #toLatin: ReadonlyMap<string, string>;
  readonly #any: RegExp;

  /** Builds the reverse map and one character class matching every lookalike in `tables`. */
  constructor(tables: readonly Readonly<Record<string, string>>[]) {
    this.#toLatin = new Map(
      tables.flatMap((table) =>
        Object.entries(table).flatMap(([latin, alikes]) =>
          [...alikes].map((alike) => [alike, latin] as const)
        )
      ),
    );
    this.#any = new RegExp(`[${[...this.#toLatin.keys()].join("")}]`, "gu");
  }

  /** `text` with every lookalike replaced by the letter it imitates; the rest left alone. */
  replace(text: string): string {
    return text.replace(this.#any, (char) => this.#toLatin.get(char) ?? char);
  }

  /** True if `char` (one code point) is a lookalike in one of the tables. */
  has(char: string): boolean {
    return this.#toLatin.has(char);
  }
}

const LOOKALIKES = new LookalikeMap([LATIN_LOOKALIKES]);

/**
 * Replaces every lookalike in `text` with the basic Latin letter it imitates (in lower case);
 * everything else is left alone.
 *
 * @example
 * ```ts
 * toLatinLookalikes("\u0430lice"); // "alice" (the first letter was Cyrillic)
 * ```
 */
export function toLatinLookalikes(text: string): string {
  return LOOKALIKES.replace(text);
}

/** True if `char` (one code point) is in the table. */
export function isLatinLookalike(char: string): boolean {
  return LOOKALIKES.has(char);
}
