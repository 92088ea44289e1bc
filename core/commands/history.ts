/**
 * `/history [N] [before ID]`: the last N messages of the current room, or (scroll-back) the N
 * before message ID, closed by an `info` that says, for programs, whether older messages remain
 * (`more`) and where to page back from (`before`).
 *
 * @module
 */

import { then } from "../awaitable.ts";
import { DEFAULT_HISTORY_REQUEST, MAX_HISTORY_REQUEST } from "../../config/limits.ts";
import type { InfoFrame } from "../../protocol/frames.ts";
import type { HistoryRequest, Replayed } from "../replay.ts";
import type { Room } from "../room.ts";
import { counted } from "../text.ts";
import { roomArg } from "./arguments.ts";
import type { CommandOutcome, CommandSpec } from "./spec.ts";

/**
 * `/history`'s arguments (`[N] [before ID]`), or what is wrong with them, in words that show
 * what to type.
 */
function historyRequest(args: string): HistoryRequest | string {
  const words = args === "" ? [] : args.split(/\s+/);
  const at = words.findIndex((w) => w.toLowerCase() === "before");
  const counts = at === -1 ? words : words.slice(0, at);
  if (counts.length > 1 || (at !== -1 && words.length !== at + 2)) {
    return "Usage: /history [N] [before ID], as in /history 20 or /history 20 before 41.";
  }
  const word = counts[0] ?? "";
  if (word !== "" && !/^-?\d+$/.test(word)) {
    return `N is a number of messages, from 1 to ${MAX_HISTORY_REQUEST}: /history 20.`;
  }
  const count = word === "" ? DEFAULT_HISTORY_REQUEST : Number(word);
  // A number out of range is told the range, not just the usage.
  if (count < 1) return "Ask for at least 1 message, as in /history 20.";
  if (count > MAX_HISTORY_REQUEST) {
    return `/history replays at most ${MAX_HISTORY_REQUEST} messages: /history ${MAX_HISTORY_REQUEST}.`;
  }
  if (at === -1) return { count };
  const id = words[at + 1];
  const before = /^\d+$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(before) || before < 1) {
    return `ID is the id of a message (a whole number from 1), as in /history ${count} before 41.`;
  }
  return { count, before };
}

/**
 * `/history`'s closing `info`: how many were shown (and hidden) and, for programs, whether older
 * messages remain (`more`) and the id to page back from (`before`). A scroll-back page says in
 * words what to type for the next one.
 */
function historyEnd(
  room: Room,
  request: HistoryRequest,
  n: Replayed,
  ref: string | undefined,
): InfoFrame {
  const hidden = n.hidden === 0
    ? ""
    : `; ${counted(n.hidden, "message")} from people you ignore hidden`;
  const next = n.oldest ?? request.before;
  const frame: InfoFrame = { type: "info", room: room.name, text: "", more: n.more, ref };
  if (n.more && next !== undefined) frame.before = next;
  if (request.before === undefined) {
    frame.text = `* End of history for ${room.name} (${counted(n.shown, "message")}${hidden}).`;
  } else {
    const older = frame.before === undefined
      ? "Nothing older is stored."
      : `Older ones: /history ${request.count} before ${frame.before}.`;
    frame.text = `* History of ${room.name} before ${request.before}: ` +
      `${counted(n.shown, "message")}${hidden}. ${older}`;
  }
  return frame;
}

/** The /history command's row of the table. */
export const HISTORY_COMMAND: CommandSpec = {
  name: "history",
  usage: `/history [N] [before ID]`,
  help: `replay the last N messages of the current room, or the N before message ID ` +
    `(default ${DEFAULT_HISTORY_REQUEST}, at most ${MAX_HISTORY_REQUEST})`,
  run(ctx) {
    const request = historyRequest(ctx.args);
    if (typeof request === "string") {
      ctx.hub.reply(ctx.user, "bad_command", request, ctx.ref);
      return {};
    }
    const room = roomArg(ctx, ctx.room);
    if (room === null) return {};
    return then(ctx.hub.history(ctx.user, room, request, ctx.ref), (n): CommandOutcome => {
      if (n === null) return {};
      ctx.hub.send(ctx.user, historyEnd(room, request, n, ctx.ref));
      return {};
    });
  },
};
