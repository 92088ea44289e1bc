/**
 * One IRC line in and out: {@linkcode parseLine} turns the bytes of an inbound line (without its
 * LF) into a command with tags and parameters, or says why it cannot; {@linkcode encodeLine}
 * writes a line that always fits the 512-byte body limit. No sockets, no state.
 *
 * @module
 */

import {
  IRC_BODY_MAX_BYTES,
  IRC_LINE_MAX_BYTES,
  IRC_MAX_PARAMS,
  IRC_TAG_DATA_MAX_BYTES,
} from "../../config/irc_limits.ts";

/** Tags of a line: key → unescaped value; a tag sent without a value maps to `""`. */
export type IrcTags = ReadonlyMap<string, string>;

/** A parsed inbound line. The source (`:prefix`) a client sends is dropped: it means nothing. */
export interface IrcMessage {
  /** Tags, unescaped. */
  readonly tags: IrcTags;
  /** Command, ASCII upper case (`privmsg` → `PRIVMSG`); numerics stay digits. */
  readonly command: string;
  /** Up to 15 parameters; the trailing one (after ` :`) is the last and may be empty. */
  readonly params: readonly string[];
}

/** What {@linkcode parseLine} made of a line. */
export type ParseResult =
  /** A well-formed line. */
  | { readonly kind: "message"; readonly message: IrcMessage }
  /** Nothing to do: empty, only spaces, or only tags/source without a command. Ignore it. */
  | { readonly kind: "empty" }
  /**
   * Over a length limit (tag data > 4094 bytes, or the rest > 510): answer `417`, drop the
   * line, keep the connection. `tags` are parsed when the tag section itself was within its
   * limit (so a `label` can still be honoured), else empty.
   */
  | {
    readonly kind: "too_long";
    readonly part: "tags" | "body";
    readonly tags: IrcTags;
  }
  /**
   * Not valid UTF-8. `message` is the line decoded with U+FFFD for the bad bytes, so the
   * session can name the command in `FAIL <CMD> INVALID_UTF8` and keep the label.
   */
  | { readonly kind: "invalid_utf8"; readonly message: IrcMessage };

const SPACE = 0x20;
const COLON = 0x3a;
const AT = 0x40;
const CR = 0x0d;

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lossyDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const EMPTY_TAGS: IrcTags = new Map();

/**
 * Parses one inbound line: the bytes up to (not including) LF. A trailing CR is stripped, so
 * both CRLF and bare LF framing work.
 *
 * @example
 * ```ts
 * import { parseLine } from "./line.ts";
 * const r = parseLine(new TextEncoder().encode("@label=a\\sb privmsg #room :hi there\r"));
 * if (r.kind === "message") {
 *   r.message.command; // "PRIVMSG"
 *   r.message.params; // ["#room", "hi there"]
 *   r.message.tags.get("label"); // "a b"
 * }
 * ```
 */
export function parseLine(bytes: Uint8Array): ParseResult {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === CR) end--;
  let pos = 0;
  let tagEnd = -1;
  if (end > 0 && bytes[0] === AT) {
    const space = bytes.indexOf(SPACE, 1);
    if (space === -1 || space >= end) {
      return end - 1 > IRC_TAG_DATA_MAX_BYTES
        ? { kind: "too_long", part: "tags", tags: EMPTY_TAGS }
        : { kind: "empty" };
    }
    tagEnd = space;
    pos = space + 1;
    if (tagEnd - 1 > IRC_TAG_DATA_MAX_BYTES) {
      return { kind: "too_long", part: "tags", tags: EMPTY_TAGS };
    }
  }
  let invalid = false;
  let text: string;
  const slice = bytes.subarray(0, end);
  try {
    text = strictDecoder.decode(slice);
  } catch {
    invalid = true;
    text = lossyDecoder.decode(slice);
  }
  // Byte offsets become string offsets only through the ASCII prefix: `@...` and the space are
  // ASCII, but tag values may not be, so the tag section is located again in the string.
  let tagText = "";
  let restText = text;
  if (tagEnd !== -1) {
    const sp = text.indexOf(" ");
    tagText = text.slice(1, sp);
    restText = text.slice(sp + 1);
  }
  const tags = tagEnd === -1 ? EMPTY_TAGS : parseTags(tagText);
  if (end - pos > IRC_BODY_MAX_BYTES) return { kind: "too_long", part: "body", tags };
  const message = parseBody(restText, tags);
  if (message === null) return { kind: "empty" };
  return invalid ? { kind: "invalid_utf8", message } : { kind: "message", message };
}

/** Parses the part after the tags: optional `:source`, command, parameters. */
function parseBody(rest: string, tags: IrcTags): IrcMessage | null {
  let i = skipSpaces(rest, 0);
  if (rest.charCodeAt(i) === COLON) {
    const sp = rest.indexOf(" ", i);
    if (sp === -1) return null;
    i = skipSpaces(rest, sp);
  }
  if (i >= rest.length) return null;
  let sp = rest.indexOf(" ", i);
  if (sp === -1) sp = rest.length;
  const command = asciiUpper(rest.slice(i, sp));
  const params: string[] = [];
  i = skipSpaces(rest, sp);
  while (i < rest.length) {
    if (rest.charCodeAt(i) === COLON || params.length === IRC_MAX_PARAMS - 1) {
      // The 15th parameter takes the rest of the line, as if it were trailing.
      params.push(rest.slice(rest.charCodeAt(i) === COLON ? i + 1 : i));
      break;
    }
    let next = rest.indexOf(" ", i);
    if (next === -1) next = rest.length;
    params.push(rest.slice(i, next));
    i = skipSpaces(rest, next);
  }
  return { tags, command, params };
}

function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === SPACE) i++;
  return i;
}

/** ASCII-only upper case: `toUpperCase` would turn `ß` into `SS` and change lengths. */
function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/**
 * Parses a tag section (without `@`): `key[=value]` split on `;`, values unescaped. Empty keys
 * are skipped; a repeated key keeps its last value.
 *
 * @example
 * ```ts
 * import { parseTags } from "./line.ts";
 * parseTags("a=1;b;c=x\\:y").get("c"); // "x;y"
 * ```
 */
export function parseTags(section: string): IrcTags {
  const tags = new Map<string, string>();
  for (const item of section.split(";")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    const key = eq === -1 ? item : item.slice(0, eq);
    if (key === "") continue;
    tags.set(key, eq === -1 ? "" : unescapeTagValue(item.slice(eq + 1)));
  }
  return tags;
}

const UNESCAPES: Readonly<Record<string, string>> = {
  ":": ";",
  s: " ",
  "\\": "\\",
  r: "\r",
  n: "\n",
};

/**
 * Undoes the message-tags value escaping: `\:` `\s` `\\` `\r` `\n`; any other `\x` is `x`, and a
 * lone trailing `\` is dropped (message-tags spec).
 *
 * @example
 * ```ts
 * import { unescapeTagValue } from "./line.ts";
 * unescapeTagValue("a\\sb\\:c\\"); // "a b;c"
 * ```
 */
export function unescapeTagValue(value: string): string {
  if (!value.includes("\\")) return value;
  return value.replace(/\\(.?)/gs, (_m, c: string) => UNESCAPES[c] ?? c);
}

/**
 * Escapes a tag value for the wire: `;` space `\` CR LF become `\:` `\s` `\\` `\r` `\n`; NUL,
 * which no IRC line may carry, is removed.
 *
 * @example
 * ```ts
 * import { escapeTagValue } from "./line.ts";
 * escapeTagValue("a b;c\\"); // "a\\sb\\:c\\\\"
 * ```
 */
export function escapeTagValue(value: string): string {
  // deno-lint-ignore no-control-regex -- NUL, CR and LF are exactly what must be escaped
  return value.replace(/[\\; \r\n\x00]/g, (c) => ESCAPES[c]);
}

const ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  ";": "\\:",
  " ": "\\s",
  "\r": "\\r",
  "\n": "\\n",
  "\x00": "",
};

/** An outbound line before encoding. */
export interface IrcLine {
  /** Tags in the order given; a value of `""` is written as the bare key. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Source without the `:` (`irc.example`, `nick!~user@host`); none when absent. */
  readonly source?: string;
  /** Command or three-digit numeric. */
  readonly command: string;
  /** Parameters; only the last may be empty, contain spaces or start with `:`. */
  readonly params: readonly string[];
  /**
   * Write the last parameter with `:` even when it would not need it. Numerics set it for
   * their human text, as servers traditionally do.
   * @default {false}
   */
  readonly trailing?: boolean;
}

/**
 * Writes one line, CRLF included. Guarantees:
 * - the part after the tags is at most 512 bytes: the *last* parameter is cut at a code point
 *   boundary to fit (the other parameters are names bounded by the core's limits). PRIVMSG and
 *   NOTICE texts must be split beforehand (`split.ts`), so they never reach the cut;
 * - CR, LF and NUL never reach a parameter (each becomes a space); a middle parameter that is
 *   empty becomes `*`, and spaces in it become `_`, so the line always parses back the same way;
 * - tag values are escaped, and tags that would push the tag data past 4094 bytes are left out.
 *
 * @example
 * ```ts
 * import { encodeLine } from "./line.ts";
 * encodeLine({ tags: { msgid: "7" }, source: "a!~a@h.sc", command: "PRIVMSG", params: ["#r", "hi you"] });
 * // "@msgid=7 :a!~a@h.sc PRIVMSG #r :hi you\r\n"
 * ```
 */
export function encodeLine(line: IrcLine): string {
  let head = line.source === undefined ? line.command : `:${line.source} ${line.command}`;
  const count = line.params.length;
  for (let i = 0; i < count - 1; i++) head += " " + middleParam(line.params[i]);
  let body = head;
  if (count > 0) {
    let last = line.params[count - 1].replace(LINE_BREAKS, " ");
    const needsColon = line.trailing === true || last === "" || last.includes(" ") ||
      last.charCodeAt(0) === COLON;
    const prefix = needsColon ? " :" : " ";
    const budget = IRC_LINE_MAX_BYTES - 2 - utf8Length(head) - prefix.length;
    if (utf8Length(last) > budget) last = truncateUtf8(last, Math.max(0, budget));
    body = head + prefix + last;
  }
  return encodeTags(line.tags) + body + "\r\n";
}

// deno-lint-ignore no-control-regex -- these are the bytes IRC forbids in a parameter
const LINE_BREAKS = /[\r\n\x00]/g;

function middleParam(p: string): string {
  if (p === "") return "*";
  // A middle parameter starting with ':' would swallow the rest of the line.
  const clean = p.replace(LINE_BREAKS, "_").replaceAll(" ", "_");
  return clean.charCodeAt(0) === COLON ? "_" + clean.slice(1) : clean;
}

function encodeTags(tags: Readonly<Record<string, string>> | undefined): string {
  if (tags === undefined) return "";
  let data = "";
  for (const [key, value] of Object.entries(tags)) {
    const item = value === "" ? key : `${key}=${escapeTagValue(value)}`;
    const next = data === "" ? item : `${data};${item}`;
    if (utf8Length(next) > IRC_TAG_DATA_MAX_BYTES) continue;
    data = next;
  }
  return data === "" ? "" : `@${data} `;
}

/**
 * UTF-8 length of a string in bytes, without encoding it. Lone surrogates count as the 3 bytes
 * of the U+FFFD they become on the wire.
 *
 * @example
 * ```ts
 * import { utf8Length } from "./line.ts";
 * utf8Length("aé€😀"); // 1 + 2 + 3 + 4 = 10
 * ```
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * The longest prefix of `s` whose UTF-8 encoding is at most `maxBytes`, cut between code
 * points (never inside a UTF-8 sequence or a surrogate pair).
 *
 * @example
 * ```ts
 * import { truncateUtf8 } from "./line.ts";
 * truncateUtf8("aé€", 3); // "aé"
 * truncateUtf8("aé€", 5); // "aé"
 * ```
 */
export function truncateUtf8(s: string, maxBytes: number): string {
  let n = 0;
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i) ?? 0;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (n + size > maxBytes) break;
    n += size;
    i += cp >= 0x10000 ? 2 : 1;
  }
  return s.slice(0, i);
}

/**
 * The `time` tag value for a sockchat timestamp: `YYYY-MM-DDThh:mm:ss.sssZ` (server-time spec).
 *
 * @example
 * ```ts
 * import { serverTime } from "./line.ts";
 * serverTime(0); // "1970-01-01T00:00:00.000Z"
 * ```
 */
export function serverTime(ms: number): string {
  return new Date(ms).toISOString();
}
