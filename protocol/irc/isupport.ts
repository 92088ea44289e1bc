/**
 * The `005` (RPL_ISUPPORT) tokens: only what sockchat really does, with values taken from the
 * limits the core enforces (contract §2.2), packed into lines of at most 13 tokens that fit 512
 * bytes. Every token is ASCII (irctest checks; non-ASCII is `\xHH`-escaped).
 *
 * @module
 */

import {
  AWAY_MAX_LENGTH,
  MAX_REASON_LENGTH,
  MAX_ROOMS_PER_USER,
  NICK_MAX_LENGTH,
  ROOM_NAME_MAX_LENGTH,
  TOPIC_MAX_LENGTH,
} from "../../config/limits.ts";
import {
  IRC_CHATHISTORY_MAX,
  IRC_ISUPPORT_TOKENS_PER_LINE,
  IRC_LINE_MAX_BYTES,
  IRC_MAX_KICK_TARGETS,
  IRC_MAX_MESSAGE_TARGETS,
  IRC_MAX_USERHOST_TARGETS,
  IRC_MODES_PER_LINE,
  IRC_REALNAME_MAX,
  IRC_USERLEN,
} from "../../config/irc_limits.ts";
import { encodeLine, type IrcLine, utf8Length } from "./line.ts";
import { numeric } from "./numerics.ts";

/** What the `005` tokens need that is not a fixed limit. */
export interface IsupportConfig {
  /** The server name (`--server-name`); `NETWORK` is it with spaces as `-`. */
  readonly serverName: string;
  /**
   * Bans one room keeps (the core's `MAX_ROOM_BANS`, from the rooms/modes package), advertised as
   * `MAXLIST=b:<n>`. A parameter until that constant exists in `config/limits.ts`.
   */
  readonly maxRoomBans: number;
}

/**
 * The `005` tokens, in the order of contract §2.2. Values come from the core's limits (nick and
 * room lengths count code points; byte-counting clients are only stricter).
 *
 * @example
 * ```ts
 * import { isupportTokens } from "./isupport.ts";
 * const tokens = isupportTokens({ serverName: "irc.example", maxRoomBans: 100 });
 * tokens.includes("CASEMAPPING=ascii"); // true
 * tokens.includes("NETWORK=irc.example"); // true
 * ```
 */
export function isupportTokens(config: IsupportConfig): string[] {
  const targmax = [
    "NAMES:",
    "LIST:",
    "WHOIS:1",
    `KICK:${IRC_MAX_KICK_TARGETS}`,
    `USERHOST:${IRC_MAX_USERHOST_TARGETS}`,
    `PRIVMSG:${IRC_MAX_MESSAGE_TARGETS}`,
    `NOTICE:${IRC_MAX_MESSAGE_TARGETS}`,
    `TAGMSG:${IRC_MAX_MESSAGE_TARGETS}`,
  ].join(",");
  return [
    `AWAYLEN=${AWAY_MAX_LENGTH}`,
    "CASEMAPPING=ascii",
    `CHANLIMIT=#:${MAX_ROOMS_PER_USER}`,
    "CHANMODES=b,k,l,imnt",
    `CHANNELLEN=${1 + ROOM_NAME_MAX_LENGTH}`,
    "CHANTYPES=#",
    `CHATHISTORY=${IRC_CHATHISTORY_MAX}`,
    // Kiwi (irc-framework) looks for the draft name; Ergo advertises both.
    `draft/CHATHISTORY=${IRC_CHATHISTORY_MAX}`,
    "CLIENTTAGDENY=*",
    "EXTBAN=$,a",
    `KICKLEN=${MAX_REASON_LENGTH}`,
    `MAXLIST=b:${config.maxRoomBans}`,
    `MODES=${IRC_MODES_PER_LINE}`,
    "MSGREFTYPES=msgid,timestamp",
    // SETNAME's limit: the setname spec asks for NAMELEN once the cap is offered.
    `NAMELEN=${IRC_REALNAME_MAX}`,
    `NETWORK=${isupportValue(config.serverName.replaceAll(" ", "-"))}`,
    `NICKLEN=${NICK_MAX_LENGTH}`,
    "PREFIX=(ov)@+",
    `TARGMAX=${targmax}`,
    `TOPICLEN=${TOPIC_MAX_LENGTH}`,
    `USERLEN=${IRC_USERLEN}`,
    "UTF8ONLY",
    "WHOX",
  ];
}

/**
 * Escapes an ISUPPORT value as modern-irc describes: `\xHH` for each UTF-8 byte of a character
 * that is not printable ASCII, and for `=`, `\` and space, so every token stays ASCII.
 *
 * @example
 * ```ts
 * import { isupportValue } from "./isupport.ts";
 * isupportValue("chat=é"); // "chat\\x3D\\xC3\\xA9"
 * ```
 */
export function isupportValue(value: string): string {
  let out = "";
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp > 0x20 && cp < 0x7f && ch !== "=" && ch !== "\\") {
      out += ch;
      continue;
    }
    for (const b of new TextEncoder().encode(ch)) {
      out += "\\x" + b.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

/**
 * Packs tokens into `005` lines of at most 13 tokens each, starting a new line early when the
 * next token would push the encoded line (with `:server` and CRLF) past 512 bytes.
 *
 * @example
 * ```ts
 * import { isupportLines, isupportTokens } from "./isupport.ts";
 * const tokens = isupportTokens({ serverName: "irc.example", maxRoomBans: 100 });
 * const lines = isupportLines("irc.example", "alice", tokens);
 * lines.length; // 2
 * lines[0].params.length; // 15: alice, 13 tokens, the text
 * ```
 */
export function isupportLines(
  serverName: string,
  client: string,
  tokens: readonly string[],
): IrcLine[] {
  const lines: IrcLine[] = [];
  let chunk: string[] = [];
  // Measured without the encoder's cut, which would shorten the trailing text to make it fit.
  const fixed = utf8Length(
    encodeLine({ source: serverName, ...numeric.isupport(client, []) }),
  );
  const fits = (candidate: string[]) =>
    fixed + candidate.reduce((n, token) => n + 1 + utf8Length(token), 0) <= IRC_LINE_MAX_BYTES;
  for (const token of tokens) {
    const next = [...chunk, token];
    if (chunk.length > 0 && (chunk.length === IRC_ISUPPORT_TOKENS_PER_LINE || !fits(next))) {
      lines.push(numeric.isupport(client, chunk));
      chunk = [token];
    } else {
      chunk = next;
    }
  }
  if (chunk.length > 0) lines.push(numeric.isupport(client, chunk));
  return lines;
}
