/**
 * Wrapping printed lines at the terminal's width with a hanging indent, so a long message
 * continues under its own text instead of at column 0. Widths are terminal columns: CJK and
 * emoji take two, combining marks none, and SGR sequences (our own colours) none.
 *
 * @module
 */

/** Our own SGR sequences: the only escapes that reach the wrapper (network text is cleaned). */
// deno-lint-ignore no-control-regex -- matching our own escape sequences is the point
const SGR = /\x1b\[[0-9;]*m/y;
// deno-lint-ignore no-control-regex -- as above
const SGR_ALL = /\x1b\[[0-9;]*m/g;
const RESET = "\x1b[0m";

/**
 * Fewest columns the text of a continuation row keeps: when a prefix is wider than the rest
 * would allow, the indent shrinks instead.
 */
export const MIN_WRAP_COLUMNS = 12;

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** East Asian Wide and Fullwidth code points (the ranges terminals' wcwidth gives 2). */
function isWide(code: number): boolean {
  return code >= 0x1100 && (
    code <= 0x115f ||
    code === 0x2329 || code === 0x232a ||
    (code >= 0x2e80 && code <= 0x3247 && code !== 0x303f) ||
    (code >= 0x3250 && code <= 0x4dbf) ||
    (code >= 0x4e00 && code <= 0xa4c6) ||
    (code >= 0xa960 && code <= 0xa97c) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe10 && code <= 0xfe19) ||
    (code >= 0xfe30 && code <= 0xfe6b) ||
    (code >= 0xff01 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1b000 && code <= 0x1b001) ||
    (code >= 0x1f200 && code <= 0x1f251) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

const EMOJI_PRESENTATION = /\p{Emoji_Presentation}/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\u200b\ufe00-\ufe0f]$/u;

/** Columns one grapheme takes: 2 for wide characters and emoji, 0 for marks alone, else 1. */
function graphemeWidth(grapheme: string): number {
  const first = grapheme.codePointAt(0) ?? 0;
  if (isWide(first) || EMOJI_PRESENTATION.test(grapheme)) return 2;
  // A pictograph made an emoji by VS16 (❤️) is drawn two columns wide.
  if (grapheme.includes("\ufe0f") && PICTOGRAPHIC.test(grapheme)) return 2;
  if (ZERO_WIDTH.test(String.fromCodePoint(first))) return 0;
  return 1;
}

/**
 * Columns `text` takes on a terminal, not counting SGR sequences.
 *
 * @example
 * ```ts
 * displayWidth("漢字 😀"); // 5
 * displayWidth("\x1b[31mred\x1b[0m"); // 3
 * ```
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of segmenter.segment(text.replace(SGR_ALL, ""))) {
    width += graphemeWidth(segment);
  }
  return width;
}

/** A piece of a line: a style change, a run of spaces, or a word (split into graphemes). */
type Token =
  | { kind: "sgr"; text: string }
  | { kind: "space"; text: string; width: number }
  | { kind: "word"; graphemes: { text: string; width: number }[]; width: number };

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let plain = "";
  const flush = () => {
    for (const { segment } of segmenter.segment(plain)) {
      const isSpace = segment === " ";
      const last = tokens.at(-1);
      if (isSpace) {
        if (last?.kind === "space") {
          last.text += " ";
          last.width++;
        } else tokens.push({ kind: "space", text: " ", width: 1 });
        continue;
      }
      const width = graphemeWidth(segment);
      if (last?.kind === "word") {
        last.graphemes.push({ text: segment, width });
        last.width += width;
      } else tokens.push({ kind: "word", graphemes: [{ text: segment, width }], width });
    }
    plain = "";
  };
  while (i < line.length) {
    SGR.lastIndex = i;
    const match = SGR.exec(line);
    if (match !== null) {
      flush();
      tokens.push({ kind: "sgr", text: match[0] });
      i += match[0].length;
    } else {
      plain += line[i];
      i++;
    }
  }
  flush();
  return tokens;
}

/** How to wrap. */
export interface WrapOptions {
  /** The terminal's width; rows never run past it. Infinity: only indent after newlines. */
  columns: number;
  /**
   * Spaces every row after the first starts with (after a newline in the text or a wrap),
   * so it lines up under the text. Shrunk to leave at least {@linkcode MIN_WRAP_COLUMNS}.
   */
  indent: number;
}

/**
 * Wraps `text` (one event: its prefix, such as `14:07 <bob> `, and its text, possibly styled
 * and several lines long) into rows of at most `columns`, breaking at spaces, and inside a
 * word only when it is longer than a whole row. Continuation rows start with `indent` spaces.
 * Styles open at a break are closed before it and reopened after the indent, so the indent
 * itself is never styled. Rows are joined by `\n`.
 *
 * @example
 * ```ts
 * wrap("<bob> one two three four", { columns: 20, indent: 6 });
 * // "<bob> one two three\n      four"
 * ```
 */
export function wrap(text: string, options: WrapOptions): string {
  const { columns } = options;
  const indent = Math.max(0, Math.min(options.indent, columns - MIN_WRAP_COLUMNS));
  const pad = " ".repeat(indent);
  let out = "";
  let col = 0;
  /** Styles set since the last reset, to reopen on the next row. */
  let open: string[] = [];
  /** Whether anything but the indent is on the current row: only then is a break useful. */
  let used = false;
  const newRow = () => {
    out += (open.length > 0 ? RESET : "") + "\n" + pad + open.join("");
    col = indent;
    used = false;
  };
  text.split("\n").forEach((line, index) => {
    if (index > 0) newRow();
    let space: { text: string; width: number } | null = null;
    for (const token of tokenize(line)) {
      if (token.kind === "sgr") {
        // A space before a style change stays before it (it may end the row: then it goes).
        if (space !== null && col + space.width <= columns) {
          out += space.text;
          col += space.width;
        }
        space = null;
        out += token.text;
        if (token.text === RESET || token.text === "\x1b[m") open = [];
        else open.push(token.text);
        continue;
      }
      if (token.kind === "space") {
        space = token;
        continue;
      }
      const before = space?.width ?? 0;
      const fitsFreshRow = token.width <= columns - indent;
      if (
        used && col + before + token.width > columns && (fitsFreshRow || col + before >= columns)
      ) {
        // Break at the space: the word fits a fresh row, or nothing of it fits here.
        newRow();
        space = null;
      }
      if (space !== null) {
        out += space.text;
        col += space.width;
        space = null;
      }
      // Only a word longer than a whole row is broken inside, between graphemes.
      for (const g of token.graphemes) {
        if (used && col + g.width > columns) newRow();
        out += g.text;
        col += g.width;
        used = true;
      }
    }
    if (space !== null && col + space.width <= columns) {
      // Trailing spaces are kept when they fit, dropped where they would wrap.
      out += space.text;
      col += space.width;
    }
  });
  return out;
}
