/**
 * Limits of the IRC front end (issue 15). Kept apart from `limits.ts` so the IRC numbers can
 * change on their own; each constant says why it has its value. Limits the IRC front end shares
 * with every other front end (nick and room lengths, rooms per user, the frame cap) stay in
 * `limits.ts` and are imported from there.
 *
 * @module
 */

/**
 * Longest IRC line the server sends or accepts without tags, in bytes, CRLF included. The number
 * every IRC client and server is built around (RFC 1459 §2.3); a longer line is cut or refused
 * by someone on the way.
 */
export const IRC_LINE_MAX_BYTES = 512;

/**
 * Longest server name (`--server-name`), in bytes: a DNS label's 63. The name is the source of
 * every reply and the `NETWORK` token, so with the longest nick (32 four-byte characters) every
 * fixed reply and `005` line still fits {@linkcode IRC_LINE_MAX_BYTES}.
 */
export const IRC_SERVER_NAME_MAX_BYTES = 63;

/**
 * Longest inbound line after its tag section, in bytes, without CR/LF: {@linkcode
 * IRC_LINE_MAX_BYTES} less the CRLF. irctest's `testLineAtLimit` sends exactly this much and
 * expects it to be processed; one byte more is answered with 417 (`testLineBeyondLimit`).
 */
export const IRC_BODY_MAX_BYTES = IRC_LINE_MAX_BYTES - 2;

/**
 * Longest tag data (between `@` and the space), in bytes, that a client may send and that the
 * server adds to a line. The message-tags spec sets 4094 both ways; irctest's
 * `testLengthLimits` sends exactly 4094 and expects acceptance, 4095 → 417.
 */
export const IRC_TAG_DATA_MAX_BYTES = 4094;

/** Most parameters one IRC line carries (RFC 1459 / modern-irc): a 15th swallows the rest. */
export const IRC_MAX_PARAMS = 15;

/**
 * Longest `label` tag value honoured, in bytes. Longer labels are ignored (the reply goes out
 * unlabeled), so a client cannot make every reply carry kilobytes of its own data.
 */
export const IRC_LABEL_MAX_BYTES = 64;

/**
 * Bytes of labeled responses (labeled-response) one IRC connection may hold back while their
 * commands finish, all of them together: the default replay budget (half the default outbound
 * queue), so a labeled JOIN's names and replayed history fit. Held lines are outside the
 * outbound queue, where the slow-reader check cannot see them; past this, a response's lines
 * go out at once, in a labeled `labeled-response` batch opened then and closed when the command
 * is done (so the client still matches its label), or unlabeled for a reader without `batch`.
 */
export const IRC_LABEL_BUFFER_BYTES = 256 * 1024;

/**
 * Longest client batch reference id, in bytes. The server keeps the open batch's id and the
 * last dropped one; capping them keeps that memory per connection small.
 */
export const IRC_BATCH_ID_MAX_BYTES = 64;

/**
 * Largest `CHATHISTORY` page (ISUPPORT `CHATHISTORY`), in messages. A bigger or invalid limit is
 * clamped to it, as Ergo does; it matches the native `/history` page so both cost the same.
 */
export const IRC_CHATHISTORY_MAX = 100;

/**
 * Core calls one IRC connection may have waiting for their ack or error (refs `i<n>`). The
 * oldest is forgotten past it: its answer then goes out unlabeled. Bounds the ref map while a
 * client pipelines commands faster than the core answers.
 */
export const IRC_PENDING_REFS = 256;

/**
 * Distinct cap profiles with a shared codec (`protocol/irc/profile.ts`): readers whose caps that
 * can change a broadcast line are the same share one encoding of it. Each profile in use is one
 * more encoding of every broadcast and one more slot in every frame's cache, so clients trying
 * cap combinations (9 profile caps: 512) cannot make each frame hold hundreds; readers of a
 * profile past it are rendered one by one (the same lines, only slower). Real clients come in a
 * handful of cap sets.
 */
export const IRC_MAX_PROFILES = 32;

/**
 * How far behind the flood guard may push an IRC client, in milliseconds, before it is closed
 * with `Excess Flood`. IRC clients expect to be slowed, not dropped (irssi pastes, channel
 * sync), but a client that keeps sending faster than the rate would otherwise queue for ever.
 */
export const IRC_FLOOD_MAX_LAG_MS = 30_000;

/**
 * Most `352`/`354` lines one `WHO` answers with before `315`. `WHO *` on a big server would
 * otherwise fill the asker's queue with every user.
 */
export const WHO_MAX_REPLIES = 500;

/** Logouts remembered for `WHOWAS` (a ring): enough for a busy hour, a few hundred KB at most. */
export const WHOWAS_MAX = 1000;

/**
 * Largest decoded-from-base64 SASL payload collected over `AUTHENTICATE` chunks, in bytes.
 * PLAIN needs a nick, an account name and a password; irctest's `testPlainInfiniteMessages`
 * expects a client that never stops sending to be refused with 904.
 */
export const SASL_MAX_BYTES = 4096;

/** Size of one `AUTHENTICATE` chunk (SASL 3.1): exactly this much means more follows. */
export const SASL_CHUNK_BYTES = 400;

/**
 * Lines one `draft/multiline` batch may hold (`max-lines`). A paste of 100 lines is a page of
 * code; more is a file, and every line costs each reader one IRC line of its own.
 */
export const IRC_MULTILINE_MAX_LINES = 100;

/**
 * Newline-separated lines one message becomes for an IRC reader; past them, the remaining line
 * breaks are sent as spaces. A native client may send a message of tens of thousands of short
 * lines, and every IRC line carries the sender's full `nick!user@host` and tags: unfolded, one
 * such message would reach each IRC reader as megabytes and overflow its queue (dropped as too
 * slow). Equal to {@linkcode IRC_MULTILINE_MAX_LINES}, so a message that came in as an IRC
 * batch is never folded.
 */
export const IRC_MESSAGE_MAX_LINES: number = IRC_MULTILINE_MAX_LINES;

/**
 * Upper bound of `max-bytes` for a `draft/multiline` batch: the combined text as relayed, which
 * fans out to every member of the room. Ergo's default is 4096; 16 KB leaves room for code.
 */
export const IRC_MULTILINE_MAX_BYTES_CAP = 16_384;

/**
 * Lower bound of `max-bytes`: a multiline batch may always carry what one ordinary line can, even
 * with the smallest `--max-frame` (where `maxFrame − 512` would be negative).
 */
export const IRC_MULTILINE_MIN_BYTES = 512;

/**
 * The `max-bytes` advertised for `draft/multiline` under a given `--max-frame`: the assembled
 * message reaches native clients as one frame, which needs room for its JSON envelope (512
 * bytes), and never more than {@linkcode IRC_MULTILINE_MAX_BYTES_CAP}.
 *
 * @example
 * ```ts
 * import { ircMultilineMaxBytes } from "./irc_limits.ts";
 * ircMultilineMaxBytes(64 * 1024); // 16384
 * ircMultilineMaxBytes(4096); // 3584
 * ```
 */
export function ircMultilineMaxBytes(maxFrameBytes: number): number {
  const fit = Math.min(IRC_MULTILINE_MAX_BYTES_CAP, maxFrameBytes - 512);
  return Math.max(IRC_MULTILINE_MIN_BYTES, fit);
}

/**
 * Longest ident (`USER` name, folded), also ISUPPORT `USERLEN`. Matches the 16 most networks
 * use, so a user@host fits in the line budget clients assume.
 */
export const IRC_USERLEN = 16;

/**
 * Longest realname (`USER`, `SETNAME`), in code points; past it `SETNAME` fails with
 * `INVALID_REALNAME`. Long enough for a name and a note, short enough for WHO lines.
 */
export const IRC_REALNAME_MAX = 100;

/**
 * Mode changes with a parameter per `MODE` line (ISUPPORT `MODES`); the changes past it are
 * ignored, as other servers do, so one line cannot ban or op a crowd.
 */
export const IRC_MODES_PER_LINE = 4;

/** Targets per `PRIVMSG`/`NOTICE`/`TAGMSG` (ISUPPORT `TARGMAX`): each costs a core call. */
export const IRC_MAX_MESSAGE_TARGETS = 4;

/** Nicks per `KICK` (ISUPPORT `TARGMAX`). */
export const IRC_MAX_KICK_TARGETS = 4;

/** Nicks per `USERHOST`: five, as RFC 2812 fixes it. */
export const IRC_MAX_USERHOST_TARGETS = 5;

/**
 * ISUPPORT tokens per `005` line. modern-irc: "1-13 tokens"; clients that count parameters
 * (15 at most, less the client and the trailing text) rely on it.
 */
export const IRC_ISUPPORT_TOKENS_PER_LINE = 13;
