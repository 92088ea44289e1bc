/**
 * What a line the user entered means: a message, a slash command for the server, or `/quit`.
 *
 * @module
 */

import { expandShortcodes } from "./emoji.ts";

/** The meaning of one entered message (possibly several lines long). */
export type Input =
  | { kind: "quit"; reason?: string }
  | { kind: "empty" }
  | { kind: "say"; text: string }
  | { kind: "command"; line: string };

/** How {@linkcode parseInput} reads a line. */
export interface ParseOptions {
  /**
   * Replace known `:shortcode:` emoji (`:tada:` is 🎉) in what people will read: a message, and
   * the text of `/me`, `/topic`, `/msg NICK`, `/reply` (`/r`), `/away`, `/kick NICK` and `/quit`;
   * never in names, secrets (`/oper`) or other arguments. The terminal client turns this on; piped
   * input (bots) is sent exactly as written. @default false
   */
  shortcodes?: boolean;
}

/** Commands whose whole argument is text for people, where shortcodes are expanded. */
const TEXT_COMMANDS = new Set(["me", "topic", "away", "reply", "r"]);
/** Commands whose text for people follows a first word (a nick), left as typed. */
const TEXT_AFTER_NICK_COMMANDS = new Set(["msg", "kick"]);

/** Expands shortcodes in the parts of a command line that people read, and nowhere else. */
function expandCommand(line: string): string {
  const match = /^(\/(\S*))(\s+)([\s\S]*)$/.exec(line);
  if (match === null) return line;
  const [, head, name, space, args] = match;
  const command = name.toLowerCase();
  if (TEXT_COMMANDS.has(command)) return head + space + expandShortcodes(args);
  if (TEXT_AFTER_NICK_COMMANDS.has(command)) {
    const [, nick, rest] = /^(\S+)([\s\S]*)$/.exec(args) ?? ["", args, ""];
    return head + space + nick + expandShortcodes(rest);
  }
  return line;
}

/**
 * Classifies user input: `/quit` (even with spaces around it) is handled by the client, other
 * input starting with `/` is a command for the server, `//...` sends a message starting with
 * one `/`, and blank input sends nothing. With `shortcodes`, known `:shortcode:` emoji in the
 * text people read are replaced (see {@linkcode ParseOptions}).
 *
 * @example
 * ```ts
 * parseInput("/join #rust"); // { kind: "command", line: "/join #rust" }
 * parseInput("//etc/hosts is here"); // { kind: "say", text: "/etc/hosts is here" }
 * parseInput("ship it :tada:", { shortcodes: true }); // { kind: "say", text: "ship it 🎉" }
 * ```
 */
export function parseInput(text: string, options: ParseOptions = {}): Input {
  const expand = options.shortcodes === true ? expandShortcodes : (s: string) => s;
  const trimmed = text.trim();
  if (trimmed === "") return { kind: "empty" };
  const quit = /^\/quit(?:\s+(.*))?$/is.exec(trimmed);
  if (quit !== null) {
    const reason = quit[1]?.trim();
    return reason ? { kind: "quit", reason: expand(reason) } : { kind: "quit" };
  }
  if (text.startsWith("//")) return { kind: "say", text: expand(text.slice(1)) };
  if (text.startsWith("/")) {
    return { kind: "command", line: options.shortcodes === true ? expandCommand(text) : text };
  }
  return { kind: "say", text: expand(text) };
}

/** Commands that always act on the current room (the server's table takes it from the frame). */
const CURRENT_ROOM_COMMANDS = new Set(["me", "topic", "history"]);
/** Commands that act on the current room only when no room is named. */
const DEFAULT_ROOM_COMMANDS = new Set(["who", "leave"]);

/**
 * True when the command `line` acts on the current room, so that it means nothing while the
 * user is in no room.
 *
 * @example
 * ```ts
 * usesCurrentRoom("/me waves"); // true
 * usesCurrentRoom("/who #rust"); // false: it names its room
 * usesCurrentRoom("/join #rust"); // false
 * ```
 */
export function usesCurrentRoom(line: string): boolean {
  const [, name = "", args = ""] = /^\/(\S*)\s*([\s\S]*)$/.exec(line) ?? [];
  const command = name.toLowerCase();
  return CURRENT_ROOM_COMMANDS.has(command) ||
    (DEFAULT_ROOM_COMMANDS.has(command) && args.trim() === "");
}
