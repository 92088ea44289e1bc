/**
 * A sockchat message as one IRC reader's lines (contract §4.3, §5.8): a reader with
 * `draft/multiline` and `batch` gets a message of several lines as one `draft/multiline` batch
 * (the sender's own line composition kept, from the message's `breaks`); any other reader gets
 * the lines one by one, blank ones dropped, the first carrying `msgid`. The cutting itself is
 * `split.ts`'s; this module decides, per reader, which form a message takes.
 *
 * @module
 */

import { IRC_MESSAGE_MAX_LINES } from "../../config/irc_limits.ts";
import type { IrcCap } from "./caps.ts";
import type { IrcLine } from "./line.ts";
import { messageLines } from "./split.ts";

/** What an echo (echo-message) needs of a sent message besides its text and target. */
export interface EchoExtras {
  /** A CTCP query (or, by NOTICE, an answer to one): `text` is its verb and arguments. */
  readonly ctcp?: boolean;
  /** Concat joins of a multiline batch, UTF-16 offsets into the cleaned text. */
  readonly breaks?: readonly number[];
}

/** A message to render for one reader. */
export interface ReaderMessage extends EchoExtras {
  /** The sockchat id: `msgid`, and the batch id `m<id>`. */
  readonly id: number;
  /** `nick!~ident@cloak` of the sender. */
  readonly source: string;
  /** `PRIVMSG` or `NOTICE`. */
  readonly command: "PRIVMSG" | "NOTICE";
  /** `#room`, or the reader's nick for a direct message (the echo: the nick it went to). */
  readonly target: string;
  /** The text; may hold `\n`. */
  readonly text: string;
  /** A `/me`. */
  readonly action?: boolean;
  /** Tags every plain line (or the opening `BATCH`) carries: `time`, `account`. */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * The lines `message` makes for a reader with `caps`. `within`: the id of an enclosing batch (a
 * `chathistory` replay), put on every line that is not inside the message's own multiline batch,
 * so a nested `BATCH +m<id>` carries `batch=<within>` as the batch spec asks.
 *
 * Past {@linkcode IRC_MESSAGE_MAX_LINES} lines, the remaining line breaks are sent as spaces.
 *
 * This is also the function for history replays: give it the stored message's id, text, kind
 * and `time`/`account` tags (no `breaks`: they are not stored, so replays are cut afresh).
 *
 * @example
 * ```ts
 * import { readerLines } from "./multiline_out.ts";
 * import { encodeLine } from "./line.ts";
 * const caps = new Set(["batch", "draft/multiline", "message-tags"] as const);
 * const message = {
 *   id: 7, source: "a!~a@h.sc", command: "PRIVMSG", target: "#r", text: "one\ntwo",
 * } as const;
 * readerLines(caps, message).map(encodeLine).join("");
 * // "@msgid=7 :a!~a@h.sc BATCH +m7 draft/multiline #r\r\n" +
 * // "@batch=m7 :a!~a@h.sc PRIVMSG #r :one\r\n" +
 * // "@batch=m7 :a!~a@h.sc PRIVMSG #r :two\r\n" +
 * // ":a!~a@h.sc BATCH -m7\r\n"
 * readerLines(new Set(), message).map(encodeLine).join("");
 * // ":a!~a@h.sc PRIVMSG #r :one\r\n:a!~a@h.sc PRIVMSG #r :two\r\n"
 * ```
 */
export function readerLines(
  caps: ReadonlySet<IrcCap>,
  message: ReaderMessage,
  within?: string,
): IrcLine[] {
  const msgid = caps.has("message-tags") ? String(message.id) : undefined;
  const lines = message.ctcp === true ? [ctcpLine(message, msgid)] : messageLines({
    source: message.source,
    command: message.command,
    target: message.target,
    text: folded(message.text),
    breaks: message.breaks,
    action: message.action,
    msgid,
    tags: message.tags,
    batchId: caps.has("draft/multiline") && caps.has("batch") ? `m${message.id}` : undefined,
  });
  if (within === undefined) return lines;
  return lines.map((line) =>
    line.tags?.batch !== undefined ? line : { ...line, tags: { ...line.tags, batch: within } }
  );
}

/**
 * `text` with the line breaks after the first {@linkcode IRC_MESSAGE_MAX_LINES} lines turned
 * into spaces (the same length, so `breaks` offsets stay valid); `text` itself when it has no
 * more lines than that.
 */
function folded(text: string): string {
  let at = -1;
  for (let lines = 1; lines < IRC_MESSAGE_MAX_LINES; lines++) {
    at = text.indexOf("\n", at + 1);
    if (at < 0) return text;
  }
  const rest = text.indexOf("\n", at + 1);
  if (rest < 0) return text;
  return text.slice(0, rest) + text.slice(rest).replaceAll("\n", " ");
}

/** `\x01VERB args\x01` on one line: a query is short, and a client reads it whole or not at all. */
function ctcpLine(message: ReaderMessage, msgid: string | undefined): IrcLine {
  return {
    tags: { ...(msgid === undefined ? {} : { msgid }), ...message.tags },
    source: message.source,
    command: message.command,
    params: [message.target, `\x01${message.text.replaceAll("\n", " ")}\x01`],
    trailing: true,
  };
}
