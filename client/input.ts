/**
 * What a line the user entered means: a message, a slash command for the server, or `/quit`.
 *
 * @module
 */

/** The meaning of one entered message (possibly several lines long). */
export type Input =
  | { kind: "quit" }
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
  if (/^\/quit(\s.*)?$/is.test(trimmed)) return { kind: "quit" };
  if (text.startsWith("//")) return { kind: "say", text: text.slice(1) };
  if (text.startsWith("/")) return { kind: "command", line: text };
  return { kind: "say", text };
}
