/**
 * Markers around a JOIN's history replay, for IRC readers (those without draft/chathistory, who
 * are the ones replayed to): irssi and WeeChat show the replayed lines as if said just now, so
 * a NOTICE in the room says where the replay starts and one where it ends, with how many lines
 * it held. Only a replay that sends something is marked; the replayed lines keep their own
 * `time` tags for readers with server-time.
 *
 * The start is said before the first replayed frame of a room (a cut replay's gap notice or its
 * first message); the end once the client line that caused the replay (JOIN, or the login) has
 * been handled, which is after the core delivered the whole replay.
 *
 * @module
 */

import type { ServerFrame } from "../frames.ts";
import { noticeLines } from "./errors.ts";
import type { IrcLine } from "./line.ts";

/**
 * The open replays of one reader, by room, in the order they started.
 *
 * @example
 * ```ts
 * const marks = new ReplayMarks("irc.test");
 * const msg = { type: "msg", id: 1, room: "#r", from: "a", text: "hi", ts: 0, history: true } as const;
 * marks.before(msg)[0].params; // ["#r", "* Replaying recent messages of #r"]
 * marks.before(msg); // [] (already open)
 * marks.end()[0].params; // ["#r", "* End of replay of #r (2 messages)"]
 * ```
 */
export class ReplayMarks {
  readonly #serverName: string;
  /** Replayed messages so far, by room name. */
  readonly #open = new Map<string, number>();

  /** Markers from `serverName`. */
  constructor(serverName: string) {
    this.#serverName = serverName;
  }

  /** The start marker to send before `frame`'s lines, when it opens a room's replay. */
  before(frame: ServerFrame): IrcLine[] {
    const replayed = frame.type === "msg" && frame.history === true;
    // A live gap (messages missed as they were said) opens no replay.
    if (!replayed && (frame.type !== "gap" || frame.live === true)) return [];
    const room = frame.room;
    const count = this.#open.get(room);
    this.#open.set(room, (count ?? 0) + (replayed ? 1 : 0));
    if (count !== undefined) return [];
    return noticeLines(this.#serverName, room, `* Replaying recent messages of ${room}`);
  }

  /** The end markers of every open replay (the line that caused them is done); then none. */
  end(): IrcLine[] {
    if (this.#open.size === 0) return [];
    const lines: IrcLine[] = [];
    for (const [room, count] of this.#open) {
      const what = count === 1 ? "1 message" : `${count} messages`;
      lines.push(...noticeLines(this.#serverName, room, `* End of replay of ${room} (${what})`));
    }
    this.#open.clear();
    return lines;
  }
}
