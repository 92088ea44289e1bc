/**
 * History replay: turns a slice of stored messages into history frames for one user, within a
 * byte budget so that a replay can never overflow the user's outbound queue. When the budget
 * (or the store's limit) cuts the slice, a `gap` frame says how many were left out.
 *
 * @module
 */

import type { ServerFrame } from "../protocol/frames.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import type { HistorySlice } from "./ports.ts";
import type { Room } from "./room.ts";
import type { User } from "./user.ts";

/** How many bytes a frame takes on the wire (the transport knows; see `HubOptions.frameBytes`). */
export type FrameBytes = (out: Outgoing) => number;

/**
 * Sends a history slice to `user`, newest messages first in priority, within `budget` bytes as
 * `frameBytes` counts them; returns the bytes it used, so that one login resuming many rooms
 * shares one budget. It needs nothing of the hub: only the user's sink.
 */
export function replay(
  user: User,
  room: Room,
  slice: HistorySlice,
  budget: number,
  frameBytes: FrameBytes,
): number {
  const outs: Outgoing[] = [];
  let bytes = 0;
  let cut = 0;
  for (let i = slice.messages.length - 1; i >= 0; i--) {
    const m = slice.messages[i];
    const frame: ServerFrame = {
      type: "msg",
      id: m.id,
      room: room.name,
      from: m.from,
      text: m.text,
      ts: m.ts,
      history: true,
    };
    if (m.action) frame.action = true;
    const out = new Outgoing(frame);
    const size = frameBytes(out);
    if (bytes + size > budget) {
      cut = i + 1;
      break;
    }
    bytes += size;
    outs.push(out);
  }
  const missed = slice.missed + cut;
  if (missed > 0) user.sink.deliver(new Outgoing({ type: "gap", room: room.name, missed }));
  for (let i = outs.length - 1; i >= 0; i--) user.sink.deliver(outs[i]);
  return bytes;
}
