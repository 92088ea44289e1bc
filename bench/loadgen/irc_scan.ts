/**
 * Byte-level reading of IRC lines for the load generator when it drives an IRC server (ngircd
 * as a peer, or sockchat's IRC port): what a line is, and the stamp in a PRIVMSG's text, without decoding strings. The
 * stamp is the same `<sender>.<seq>.<sentAtMicros>.` as in sockchat's `msg` frames.
 *
 * @module
 */

import type { FrameKind, StampedText } from "./frame_scan.ts";
import { readStampAt } from "./frame_scan.ts";

const SPACE = 0x20;
const COLON = 0x3a;
const AT = 0x40;
const ascii = (text: string) => new TextEncoder().encode(text);

/** What an IRC line is, as far as the load generator cares. */
export type IrcKind = FrameKind | "registered" | "joined";

const COMMANDS: [Uint8Array, IrcKind][] = [
  [ascii("PRIVMSG "), "msg"],
  [ascii("JOIN "), "join"],
  [ascii("PART "), "leave"],
  [ascii("QUIT "), "leave"],
  [ascii("PING "), "ping"],
  // RPL_WELCOME: registration is complete.
  [ascii("001 "), "registered"],
  // RPL_ENDOFNAMES: the JOIN is complete and the member list has been sent.
  [ascii("366 "), "joined"],
];

/**
 * Index of the command in the line `buf[start, end)`: after the `@tags ` (IRCv3 message tags,
 * which sockchat's IRC port sends to clients that asked for them) and the `:prefix `, if any.
 */
function commandAt(buf: Uint8Array, start: number, end: number): number {
  let at = start;
  if (buf[at] === AT) {
    const space = buf.indexOf(SPACE, at);
    if (space === -1 || space >= end) return end;
    at = space + 1;
  }
  if (buf[at] !== COLON) return at;
  const space = buf.indexOf(SPACE, at);
  return space === -1 || space >= end ? end : space + 1;
}

/**
 * The kind of the IRC line in `buf[start, end)` (CR, if any, included in the range).
 *
 * @example
 * ```ts
 * const line = new TextEncoder().encode(":c1!~c1@127.0.0.1 PRIVMSG #lobby :0.1.2.x\r");
 * ircKind(line, 0, line.length); // "msg"
 * ```
 */
export function ircKind(buf: Uint8Array, start: number, end: number): IrcKind {
  const at = commandAt(buf, start, end);
  for (const [command, kind] of COMMANDS) {
    if (at + command.length > end) continue;
    let i = 0;
    while (i < command.length && buf[at + i] === command[i]) i++;
    if (i === command.length) return kind;
  }
  return "other";
}

/**
 * Reads the stamp from the text of a PRIVMSG in `buf[start, end)` (tags and prefix allowed) into
 * `out`. Returns false if the text carries none.
 */
export function readIrcStamp(
  buf: Uint8Array,
  start: number,
  end: number,
  out: StampedText,
): boolean {
  // The text is the parameter after the target: `PRIVMSG <target> <text>`, written as a
  // trailing `:text` by ngircd, and bare by sockchat when it holds no space (both are IRC).
  let i = commandAt(buf, start, end);
  for (let word = 0; word < 2; word++) {
    const space = buf.indexOf(SPACE, i);
    if (space === -1 || space >= end - 1) return false;
    i = space + 1;
  }
  if (buf[i] === COLON) i++;
  return readStampAt(buf, i, end, out);
}

/**
 * The token of a `PING` line, to be sent back in a `PONG`: the rest of the line after `PING `,
 * without the CR.
 */
export function pingToken(line: string): string {
  return line.replace(/^(:\S+ )?PING /, "").replace(/\r$/, "");
}
