/**
 * The prompt: the current room (or `no room`), the connection state when not connected, the
 * nick, and the lines of a message still being composed (continued with `\` or pasted), kept
 * short so the input area always fits on screen; above it, input kept while offline.
 *
 * @module
 */

import type { Palette } from "./colors.ts";
import { cleanLine } from "./render.ts";
import { describeConnection, type Status } from "./ui.ts";
import { counted } from "../core/text.ts";

/** Most lines of a message being composed that the prompt shows; the middle is summarised. */
export const MAX_HELD_SHOWN = 6;

/**
 * Most lines of input kept while offline that the prompt shows above itself; older ones are
 * counted in one line, so the input area stays a few rows tall however much waits.
 */
export const MAX_PENDING_SHOWN = 3;

/** What marks a line of kept input as not yet acknowledged. */
export const PENDING_MARK = "(unsent)";

/** What the prompt shows in place of a room when the user has left them all. */
export const NO_ROOM = "no room";

/** `text` cut to `max` characters, with an ellipsis when cut. */
function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, Math.max(1, max - 1)).join("") + "…";
}

/**
 * The prompt for `status`, with `held` lines above the line being edited. Lines are joined by
 * `\r\n`, which readline measures as row breaks. Input kept while offline (`pending`) is shown
 * dimmed above the prompt, one line each, until the server acknowledges it.
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
  pending: readonly string[] = [],
): string {
  const above = pendingLines(pending, paint, columns).map((line) => line + "\r\n").join("");
  return above + mainPrompt(status, held, paint, columns);
}

/** Dimmed lines for kept input: the newest few, after a count of the rest. */
function pendingLines(pending: readonly string[], paint: Palette, columns: number): string[] {
  if (pending.length === 0) return [];
  const width = Math.max(10, columns - 2);
  const shown = pending.length > MAX_PENDING_SHOWN
    ? pending.slice(pending.length - (MAX_PENDING_SHOWN - 1))
    : pending;
  const lines = shown.map((text) => {
    const [first, ...rest] = text.split("\n");
    const line = `${PENDING_MARK} ${cleanLine(first)}${rest.length > 0 ? " …" : ""}`;
    return paint.paint(cut(line, width), "dim");
  });
  const hidden = pending.length - shown.length;
  if (hidden > 0) lines.unshift(paint.paint(`${PENDING_MARK} (${hidden} more waiting)`, "dim"));
  return lines;
}

function mainPrompt(
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
      paint.paint(`(${counted(hidden, "more line")})`, "dim"),
      ...shown.slice(shown.length - (MAX_HELD_SHOWN - 3)),
    ];
  }
  return [main + shown[0], ...shown.slice(1).map((line) => more + line), more].join("\r\n");
}
