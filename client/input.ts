/**
 * What a line the user entered means: a message, a slash command for the server, or `/quit`.
 *
 * @module
 */

/** The meaning of one entered message (possibly several lines long). */
export type Input =
  | { kind: "quit"; reason?: string }
  | { kind: "empty" }
  | { kind: "say"; text: string }
  | { kind: "command"; line: string };

/**
 * Classifies user input: `/quit` (even with spaces around it) is handled by the client, other
 * input starting with `/` is a command for the server, `//...` sends a message starting with
 * one `/`, and blank input sends nothing.
 *
 * @example
 * ```ts
 * parseInput("/join #rust"); // { kind: "command", line: "/join #rust" }
 * parseInput("//etc/hosts is here"); // { kind: "say", text: "/etc/hosts is here" }
 * ```
 */
export function parseInput(text: string): Input {
  const trimmed = text.trim();
  if (trimmed === "") return { kind: "empty" };
  const quit = /^\/quit(?:\s+(.*))?$/is.exec(trimmed);
  if (quit !== null) {
    const reason = quit[1]?.trim();
    return reason ? { kind: "quit", reason } : { kind: "quit" };
  }
  if (text.startsWith("//")) return { kind: "say", text: text.slice(1) };
  if (text.startsWith("/")) return { kind: "command", line: text };
  return { kind: "say", text };
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
