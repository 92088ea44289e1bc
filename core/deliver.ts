/**
 * Handing frames to users' sinks: one user, one error, or a room encoded once. Sinks never
 * block, so none of these waits on a recipient.
 *
 * @module
 */

import { type ErrorCode, errorFrame, type ServerFrame } from "../protocol/frames.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import type { Room } from "./room.ts";
import type { User } from "./user.ts";

/** Sends one frame to one user. */
export function send(user: User, frame: ServerFrame): void {
  user.sink.deliver(new Outgoing(frame));
}

/** Sends an error frame to one user. */
export function reply(user: User, code: ErrorCode, message: string, ref?: string): void {
  send(user, errorFrame(code, message, { ref }));
}

/**
 * Encodes once and hands the same bytes to every member but `except` (and, for a frame from
 * `from`, but those ignoring them). Never awaits.
 */
export function broadcast(room: Room, frame: ServerFrame, except?: User, from?: User): void {
  const out = new Outgoing(frame);
  for (const member of room.members) {
    if (member === except) continue;
    if (from !== undefined && !member.ignores.isEmpty && member.ignores.has(from)) continue;
    member.sink.deliver(out);
  }
}
