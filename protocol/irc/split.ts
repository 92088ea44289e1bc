/**
 * A sockchat message as IRC lines (contract §4.3). The text is cut at `\n` (and at the `breaks`
 * of a message that came in as an IRC multiline batch), then any piece too long for one line is
 * cut to the byte budget: after the last space that fits, else between graphemes, else between
 * code points — never inside a UTF-8 sequence, never between a base and its combining marks.
 * Readers with `draft/multiline` get one batch; others get plain lines without the blank ones.
 *
 * Grapheme boundaries come from `Intl.Segmenter`, used only where a cut cannot be placed without
 * it: most messages are one short line, and a long one is usually cut after a space followed by
 * a character below U+0300, which nothing can attach to. Text without spaces and with
 * characters from U+0300 up (CJK, emoji, combining marks) is segmented, one window per cut.
 *
 * @module
 */

import { IRC_LINE_MAX_BYTES } from "../../config/irc_limits.ts";
import { type IrcLine, truncateUtf8, utf8Length } from "./line.ts";
import { serverReply } from "./numerics.ts";

/** One line of a split message. */
export interface TextPiece {
  /** The line's text, without `\n`. */
  readonly text: string;
  /** Joined to the previous piece with nothing (`draft/multiline-concat`) rather than `\n`. */
  readonly concat: boolean;
}

/** The tag that marks a line joined to the previous one without a line feed. */
export const MULTILINE_CONCAT_TAG = "draft/multiline-concat";

/** The batch type of a multiline message. */
export const MULTILINE_BATCH_TYPE = "draft/multiline";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * Bytes left for the text of `:<source> <command> <target> :<text>\r\n` within 512.
 *
 * @example
 * ```ts
 * import { messageBudget } from "./split.ts";
 * messageBudget("alice!~alice@1a2b.sc", "PRIVMSG", "#rust"); // 512 - 39 = 473
 * ```
 */
export function messageBudget(source: string, command: string, target: string): number {
  return IRC_LINE_MAX_BYTES - utf8Length(`:${source} ${command} ${target} :\r\n`);
}

/**
 * Splits a message into lines of at most `budget` bytes. `\n` separates lines (a blank line is
 * kept as an empty piece); `breaks` are UTF-16 offsets into `text` where a multiline sender
 * joined two lines without `\n` (the next piece gets `concat`). A piece over budget is cut after
 * its last space that fits (the space ends the earlier piece), else at the last grapheme
 * boundary, else (one grapheme alone over budget) at a code point; every continuation gets
 * `concat`, so joining the pieces back gives `text` exactly.
 *
 * @example
 * ```ts
 * import { splitMessageText } from "./split.ts";
 * splitMessageText("hello world\n\nbye", 8);
 * // [{ text: "hello ", concat: false }, { text: "world", concat: true },
 * //  { text: "", concat: false }, { text: "bye", concat: false }]
 * ```
 */
export function splitMessageText(
  text: string,
  budget: number,
  breaks: readonly number[] = [],
): TextPiece[] {
  const pieces: TextPiece[] = [];
  for (const { text: piece, concat } of cutAtBreaks(text, breaks)) {
    if (utf8Length(piece) <= budget) {
      pieces.push({ text: piece, concat });
      continue;
    }
    cutToBudget(piece, budget).forEach((part, i) =>
      pieces.push({ text: part, concat: i === 0 ? concat : true })
    );
  }
  return pieces;
}

/** Pieces at `\n` (concat false) and at valid break offsets (concat true, never blank). */
function cutAtBreaks(text: string, breaks: readonly number[]): TextPiece[] {
  const cuts = new Set<number>();
  for (const b of breaks) {
    if (!Number.isInteger(b) || b <= 0 || b >= text.length) continue;
    // A break inside a surrogate pair would split a character: ignore it.
    const c = text.charCodeAt(b);
    if (c >= 0xdc00 && c <= 0xdfff) continue;
    cuts.add(b);
  }
  const pieces: TextPiece[] = [];
  let start = 0;
  let concat = false;
  for (let i = 0; i <= text.length; i++) {
    const newline = i < text.length && text.charCodeAt(i) === 0x0a;
    const atBreak = cuts.has(i);
    if (!newline && !atBreak && i < text.length) continue;
    // A break right after a newline or another break would cut out nothing.
    if (!newline && i === start && i < text.length) continue;
    const piece = text.slice(start, i);
    // A concat piece that is empty adds nothing, and the spec forbids a blank concat line.
    if (!(concat && piece === "")) pieces.push({ text: piece, concat });
    if (newline) {
      start = i + 1;
      concat = false;
    } else {
      start = i;
      concat = true;
    }
    if (i === text.length) break;
  }
  return pieces;
}

/**
 * Code units looked at past a cut candidate, so the segmenter sees what follows it (a combining
 * mark, a ZWJ) and does not report a boundary the full text would not have.
 */
const LOOKAHEAD = 32;

/** U+0300, the first combining mark: nothing below it joins the character before it. */
const COMBINING_FROM = 0x300;

/** A character from U+0300 up (surrogates included): text that needs the segmenter. */
const NEEDS_SEGMENTER = /[\u0300-\uffff]/;

/**
 * Cuts one piece (no `\n`) into parts of at most `budget` bytes; see {@linkcode splitMessageText}.
 * Each cut segments only the window that can fit (plus {@linkcode LOOKAHEAD}), from a known
 * boundary, so the cost is linear in the piece, not in the piece times the number of cuts.
 */
function cutToBudget(piece: string, budget: number): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < piece.length) {
    const rest = piece.slice(start);
    const fit = truncateUtf8(rest, budget).length; // code units that fit, at a code point
    if (fit === rest.length) {
      parts.push(rest);
      break;
    }
    const window = rest.slice(0, fit + LOOKAHEAD);
    const space = window.lastIndexOf(" ", fit - 1);
    let end = 0;
    let afterSpace = 0;
    if (fit > 0 && space >= 0 && window.charCodeAt(space + 1) < COMBINING_FROM) {
      // Nothing below U+0300 attaches to a space, so the position after it is a boundary.
      afterSpace = space + 1;
    } else if (!NEEDS_SEGMENTER.test(window.slice(0, fit + 1))) {
      // Below U+0300 nothing combines (no marks, joiners or prepends): every position is a
      // grapheme boundary.
      end = fit;
    } else {
      for (const { segment, index } of graphemes.segment(window)) {
        const segmentEnd = index + segment.length;
        if (segmentEnd > fit) break;
        end = segmentEnd;
        if (segment === " ") afterSpace = segmentEnd;
      }
    }
    // After the last space that fits; else the last grapheme that fits; else (one grapheme,
    // a base with very many marks, is over budget) the last code point that fits; else (a
    // budget under 4 bytes) one code point, so the loop always advances.
    let cut = afterSpace > 0 ? afterSpace : end > 0 ? end : fit;
    if (cut === 0) cut = (rest.codePointAt(0) ?? 0) > 0xffff ? 2 : 1;
    parts.push(rest.slice(0, cut));
    start += cut;
  }
  return parts;
}

/** A message to render as IRC lines. */
export interface MessageLinesOptions {
  /** `nick!~ident@cloak` of the sender. */
  readonly source: string;
  /** `PRIVMSG` or `NOTICE`. */
  readonly command: "PRIVMSG" | "NOTICE";
  /** `#room` or the reader's nick. */
  readonly target: string;
  /** The sockchat text (may hold `\n`). */
  readonly text: string;
  /** Concat offsets of a message that came in as a multiline batch (live relay only). */
  readonly breaks?: readonly number[];
  /** A `/me`: each line is sent as `\x01ACTION …\x01`, always as plain lines. */
  readonly action?: boolean;
  /** `msgid` value, put on the first line (or the opening `BATCH`) only. */
  readonly msgid?: string;
  /** Tags for every plain line, or the opening `BATCH` (`time`, `account`). */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Batch id when the reader has `draft/multiline` (and `batch`); absent → plain lines. Used
   * only when the message is more than one line.
   */
  readonly batchId?: string;
}

/**
 * The lines a reader gets for one message:
 * - one line when it fits: `[@msgid=…;time=…] :src PRIVMSG target :text`;
 * - with `batchId` (a multiline reader): `BATCH +id draft/multiline target` carrying msgid and
 *   tags, each line with `batch=id` (and `draft/multiline-concat` on continuations), blank lines
 *   kept, `BATCH -id`;
 * - otherwise plain lines, blank ones dropped, msgid on the first, tags on all, no concat tag.
 *
 * @example
 * ```ts
 * import { messageLines } from "./split.ts";
 * import { encodeLine } from "./line.ts";
 * const lines = messageLines({
 *   source: "a!~a@h.sc", command: "PRIVMSG", target: "#r", text: "one\ntwo",
 *   msgid: "7", batchId: "m7",
 * });
 * lines.map(encodeLine).join("");
 * // "@msgid=7 :a!~a@h.sc BATCH +m7 draft/multiline #r\r\n" +
 * // "@batch=m7 :a!~a@h.sc PRIVMSG #r :one\r\n" +
 * // "@batch=m7 :a!~a@h.sc PRIVMSG #r :two\r\n" +
 * // ":a!~a@h.sc BATCH -m7\r\n"
 * ```
 */
export function messageLines(options: MessageLinesOptions): IrcLine[] {
  const { source, command, target, action = false } = options;
  const wrap = action ? 9 : 0; // "\x01ACTION " and the closing "\x01"
  const budget = Math.max(1, messageBudget(source, command, target) - wrap);
  const pieces = splitMessageText(options.text, budget, options.breaks);
  const first: Record<string, string> = options.msgid === undefined ? {} : { msgid: options.msgid };
  const all = options.tags ?? {};
  const body = (text: string) => (action ? `\x01ACTION ${text}\x01` : text);
  if (pieces.length > 1 && options.batchId !== undefined && !action) {
    const id = options.batchId;
    return [
      {
        tags: { ...first, ...all },
        source,
        ...serverReply.batchStart(id, MULTILINE_BATCH_TYPE, [target]),
      },
      ...pieces.map((p): IrcLine => ({
        tags: p.concat ? { batch: id, [MULTILINE_CONCAT_TAG]: "" } : { batch: id },
        source,
        command,
        params: [target, p.text],
        trailing: true,
      })),
      { source, ...serverReply.batchEnd(id) },
    ];
  }
  const lines: IrcLine[] = [];
  for (const p of pieces) {
    if (p.text === "" && pieces.length > 1) continue;
    const tags = lines.length === 0 ? { ...first, ...all } : all;
    lines.push({ tags, source, command, params: [target, body(p.text)], trailing: true });
  }
  return lines;
}
