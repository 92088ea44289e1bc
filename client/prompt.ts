/**
 * The prompt: the current room (or `no room`), the connection state when not connected, the nick, and the
 * lines of a message still being composed (continued with `\` or pasted), kept short so the
 * input area always fits on screen.
 *
 * @module
 */

import type { Palette } from "./colors.ts";
import { cleanLine } from "./render.ts";
import { describeConnection, type Status } from "./ui.ts";

/** Most lines of a message being composed that the prompt shows; the middle is summarised. */
export const MAX_HELD_SHOWN = 6;

/** What the prompt shows in place of a room when the user has left them all. */
export const NO_ROOM = "no room";

/** `text` cut to `max` characters, with an ellipsis when cut. */
function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, Math.max(1, max - 1)).join("") + "…";
}

/**
 * The prompt for `status`, with `held` lines above the line being edited. Lines are joined by
 * `\r\n`, which readline measures as row breaks.
 *
 * @example
 * ```ts
 * import { Palette } from "./colors.ts";
 *
 * const status = { room: "#lobby", nick: "alice", connection: { kind: "connected" } } as const;
 * promptText(status, [], new Palette(false), 80); // "[#lobby] alice> "
 * ```
 */
export function promptText(
  status: Status,
  held: readonly string[],
  paint: Palette,
  columns: number,
): string {
  const { room, nick, connection } = status;
  const state = connection.kind === "connected"
    ? ""
    : ` ${
      paint.paint(describeConnection(connection), connection.kind === "offline" ? "error" : "warn")
    }`;
  const where = room === null ? paint.paint(NO_ROOM, "dim") : paint.paint(cleanLine(room), "room");
  const main = `[${where}${state}] ${cleanLine(nick)}> `;
  if (held.length === 0) return main;
  const more = paint.paint("... ", "dim");
  // Wide characters can still wrap a cut line once; the area stays a few rows tall.
  const width = Math.max(10, columns - 20);
  let shown: string[] = held.map((line) => cut(line, width));
  if (shown.length > MAX_HELD_SHOWN) {
    const hidden = shown.length - (MAX_HELD_SHOWN - 1);
    shown = [
      ...shown.slice(0, 2),
      paint.paint(`(${hidden} more lines)`, "dim"),
      ...shown.slice(shown.length - (MAX_HELD_SHOWN - 3)),
    ];
  }
  return [main + shown[0], ...shown.slice(1).map((line) => more + line), more].join("\r\n");
}
